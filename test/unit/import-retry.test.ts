// A file rejected because it could not be read (no permission, its folder gone mid-import) is read again on the
// next re-import even when its size and mtime did not change — fixing permissions or restoring with `cp -a` keeps
// both. A file rejected for what it holds is not re-read until it changes.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lightbox } from '../../src/main/app.ts';
import { FIXTURE_DIR, tempDir } from '../helpers.ts';

let app: Lightbox;
let root: string;

beforeAll(async () => {
  root = tempDir('lightbox-retry-');
  fs.copyFileSync(path.join(FIXTURE_DIR, 'syntax/explicit-le.dcm'), path.join(root, 'a.dcm'));
  fs.copyFileSync(path.join(FIXTURE_DIR, 'syntax/rle.dcm'), path.join(root, 'b.dcm'));
  app = Lightbox.open(tempDir(), { create: true });
  await app.imports.run({ folder: root });
});
afterAll(async () => { await app.close(); });

/** What an earlier import recorded when it could not read the file (as when run without permission). */
function recordRejected(name: string, reason: string): void {
  const file = path.join(root, name);
  const st = fs.statSync(file);
  app.store.writeBatch([{ path: file, root, size: st.size, mtimeMs: Math.trunc(st.mtimeMs), status: 'rejected', reason }]);
}

describe('re-import after a transient failure', () => {
  it('reads again a file that could not be opened, though its size and mtime are unchanged', async () => {
    recordRejected('a.dcm', 'cannot open (EACCES); check permissions');
    expect((await app.call('import.report', {}))).toMatchObject({ ok: true, result: { total: 1 } });
    const s = await app.imports.run({ folder: root });
    expect(s.rejected).toEqual([]);
    expect(s.instances).toBe(2);
    expect((await app.call('import.report', {}))).toMatchObject({ ok: true, result: { total: 0 } });
  });

  it('does not re-read a file rejected for its content until it changes', async () => {
    recordRejected('b.dcm', 'truncated at byte 4096 (pixel data incomplete)');
    const s = await app.imports.run({ folder: root });
    expect(s.unchangedFiles).toBe(2);
    expect(s.rejected.map((r) => r.reason)).toEqual(['truncated at byte 4096 (pixel data incomplete)']);
  });
});
