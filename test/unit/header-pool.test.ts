// Headers are read by worker threads while earlier batches are written. A file whose header ends its worker costs
// only itself; folders imported inside or around an earlier import's folder keep one row per file.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Lightbox } from '../../src/main/app.ts';
import { deflatedFlood } from '../fixtures/hostile.ts';
import { FIXTURE_DIR, tempDir } from '../helpers.ts';

const apps: Lightbox[] = [];
afterAll(async () => { await Promise.all(apps.map((a) => a.close())); });
const open = (): Lightbox => {
  const app = Lightbox.open(tempDir(), { create: true });
  apps.push(app);
  return app;
};
const copy = (from: string, to: string): void => {
  fs.mkdirSync(path.dirname(to), { recursive: true });
  fs.copyFileSync(path.join(FIXTURE_DIR, from), to);
};

describe('header workers', () => {
  const root = tempDir('lightbox-pool-');
  copy('syntax/explicit-le.dcm', path.join(root, 'a.dcm'));
  copy('syntax/rle.dcm', path.join(root, 'b.dcm'));
  // 300,000 elements under the 500,000 limit: dicom-parser keeps ~140 MB of objects for them.
  fs.writeFileSync(path.join(root, 'c-flood.dcm'), deflatedFlood('pool-flood', 300_000));
  copy('syntax/implicit-le.dcm', path.join(root, 'd.dcm'));

  it('a header that exhausts its worker is rejected with the reason; the rest of its batch is indexed', async () => {
    const s = await open().imports.run({ folder: root }, { headerWorkers: 1, headerHeapMb: 24 });
    expect(s.instances).toBe(3);
    expect(s.rejected).toEqual([{ path: path.join(fs.realpathSync(root), 'c-flood.dcm'), reason: 'reading its header needs more than 24 MB; refused: real headers need a few, so the file is damaged or built to exhaust memory' }]);
  });

  it('with the usual heap the same file is indexed', async () => {
    const s = await open().imports.run({ folder: root });
    expect(s.rejected).toEqual([]);
    expect(s.instances).toBe(4);
  });
});

describe('overlapping import folders', () => {
  it('a parent folder imported after its child, and a child after its parent, keep one row per file', async () => {
    const parent = fs.realpathSync(tempDir('lightbox-nest-'));
    copy('syntax/explicit-le.dcm', path.join(parent, 'top.dcm'));
    copy('syntax/rle.dcm', path.join(parent, 'child', 'inner.dcm'));
    const childFirst = open();
    expect((await childFirst.imports.run({ folder: path.join(parent, 'child') })).instances).toBe(1);
    const wider = await childFirst.imports.run({ folder: parent });
    expect(wider.rejected).toEqual([]);
    expect(wider.instances).toBe(2);
    const parentFirst = open();
    expect((await parentFirst.imports.run({ folder: parent })).instances).toBe(2);
    const narrower = await parentFirst.imports.run({ folder: path.join(parent, 'child') });
    expect(narrower.rejected).toEqual([]);
    expect(narrower.instances).toBe(2);
    for (const app of [childFirst, parentFirst]) {
      expect((await app.call('import.report', {}))).toMatchObject({ ok: true, result: { total: 0 } });
    }
  });
});
