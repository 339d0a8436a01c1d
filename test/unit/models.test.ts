// Models through the API: the installed list, adding a package from a folder (the loader's field error for a bad
// one), the active model kept in the project (a second process embeds with it), and the comparison of models on
// the project's labels (adapter k-fold accuracy and zero-shot from the prompts).
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lightbox } from '../../src/main/app.ts';
import type { Manifest } from '../../src/main/inference/model-package.ts';
import { MANIFEST_FILE, writeManifest } from '../../src/main/inference/model-package.ts';
import { DEMO_SCHEMA } from '../../src/shared/label-schema.ts';
import type { CallResult } from '../../src/shared/contract.ts';
import { embedAll, openDemoProject, tempDir } from '../helpers.ts';

const HOME = tempDir('lightbox-home-');
process.env.LIGHTBOX_HOME = HOME;

let app: Lightbox;
let project: string;
let variantDir: string;
let badDir: string;

/** A copy of the built-in package with another name, version and intensity mapping (so another model hash). */
function variantOf(builtinDir: string, out: string, edit: (m: Manifest) => void): string {
  fs.mkdirSync(out, { recursive: true });
  const m = JSON.parse(fs.readFileSync(path.join(builtinDir, MANIFEST_FILE), 'utf8')) as Manifest;
  for (const f of Object.keys(m.files)) fs.copyFileSync(path.join(builtinDir, f), path.join(out, f));
  edit(m);
  const { files, ...rest } = m;
  writeManifest(out, rest, Object.keys(files));
  return out;
}

beforeAll(async () => {
  const demo = await openDemoProject({ count: 60, ctSeries: 0 });
  ({ app, project } = demo);
  await embedAll(app, { provider: 'cpu' });
  app.labels.setSchema({ schema: DEMO_SCHEMA });
  const rows = app.store.db.prepare('SELECT st.id, i.sop_uid FROM studies st JOIN series s ON s.study_pk = st.id JOIN instances i ON i.series_pk = s.id').raw().all() as [number, string][];
  const cls = new Map(rows.map(([id, sop]) => [id, demo.truth.instances[sop]!.class]));
  for (const id of [...cls.keys()].slice(0, 30)) await app.call('labels.set', { level: 'study', itemId: id, group: 'finding', labels: [cls.get(id)!] });
  const builtinDir = (await app.embeddings.resolveModel('builtin')).dir;
  const work = tempDir('lightbox-pkgs-');
  variantDir = variantOf(builtinDir, path.join(work, 'variant'), (m) => { m.name = 'variant'; m.version = '2.0.0'; m.imageEncoder.intensity.mode = 'minmax'; });
  badDir = path.join(work, 'bad');
  fs.cpSync(variantDir, badDir, { recursive: true });
  const bad = JSON.parse(fs.readFileSync(path.join(badDir, MANIFEST_FILE), 'utf8')) as { imageEncoder: { input: { layout: string } } };
  bad.imageEncoder.input.layout = 'CHW';
  fs.writeFileSync(path.join(badDir, MANIFEST_FILE), JSON.stringify(bad));
}, 240_000);

afterAll(async () => {
  await app?.close();
});

describe('models', () => {
  it('lists the built-in package as active, with its dimension, text encoder and provider', async () => {
    const r = await app.invoke('models.list', {});
    expect(r.active).toBe('builtin');
    expect(r.models).toHaveLength(1);
    const b = r.models[0]!;
    expect(b).toMatchObject({ id: 'builtin', name: 'lightbox-builtin-baseline', dim: 256, textEncoder: true, active: true, provider: 'cpu', error: '' });
    expect(b.embedded).toBeGreaterThan(0);
  });

  it('refuses a bad package with the loader\'s field error, and installs a good one once', async () => {
    const bad = await app.call('models.add', { folder: badDir });
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.error.message).toMatch(/manifest\.json field "imageEncoder\.input\.layout"/);
    const added = await app.invoke('models.add', { folder: variantDir });
    expect(added.alreadyInstalled).toBe(false);
    expect(added.model).toMatchObject({ id: 'variant-2.0.0', name: 'variant', version: '2.0.0', active: false, embedded: 0 });
    expect(fs.existsSync(path.join(HOME, 'models', 'variant-2.0.0', MANIFEST_FILE))).toBe(true);
    expect((await app.invoke('models.add', { folder: variantDir })).alreadyInstalled).toBe(true);
    const list = await app.invoke('models.list', {});
    expect(list.models.map((m) => m.id)).toEqual(['builtin', 'variant-2.0.0']);
    const missing = await app.call('models.setActive', { id: 'nope' });
    expect(missing.ok || missing.error.code).toBe('not-found');
  });

  it('the active model is kept in the project: another process embeds with it', async () => {
    const set = await app.invoke('models.setActive', { id: 'variant-2.0.0' });
    expect(set.model.active).toBe(true);
    expect((await app.invoke('embed.status', {})).model?.name).toBe('variant');
    await app.close();
    const other = Lightbox.open(project);
    try {
      expect(other.embeddings.activeModel()).toBe(path.join(HOME, 'models', 'variant-2.0.0'));
      const s = await embedAll(other, { provider: 'cpu' });
      expect(s.model).toBe('variant');
      expect(s.embedded).toBeGreaterThan(0);
    } finally {
      await other.close();
    }
    app = Lightbox.open(project);
    expect((await app.invoke('models.list', {})).active).toBe('variant-2.0.0');
  }, 120_000);

  it('compares every embedded model on the labels: adapter k-fold accuracy and zero-shot from the prompts', async () => {
    const c: CallResult<'models.compare'> = await app.invoke('models.compare', { folds: 5 });
    expect(c.models.map((m) => m.name)).toEqual(['variant', 'lightbox-builtin-baseline']);
    expect(c.models[0]!.active).toBe(true);
    expect(c.groups.find((g) => g.key === 'finding')?.labelled).toBe(30);
    for (const m of c.models) {
      const f = m.groups.find((g) => g.key === 'finding')!;
      expect(f.labelled).toBe(30);
      expect(f.adapter!.n).toBe(30);
      expect(f.adapter!.accuracy).toBeGreaterThan(0.5);
      expect(f.adapter!.low).toBeLessThanOrEqual(f.adapter!.accuracy);
      expect(f.zeroShotSource).toBe('prompts');
      expect(f.zeroShot!.n).toBe(30);
      // The toy text tower is aligned to the built-in preprocessing only: the variant's zero-shot is free to fail.
      if (m.name === 'lightbox-builtin-baseline') expect(f.zeroShot!.accuracy).toBeGreaterThan(0.75);
      // Image quality has no labels: no figures, and the reason.
      const q = m.groups.find((g) => g.key !== 'finding')!;
      expect(q.adapter).toBeNull();
      expect(q.notes.join(' ')).toMatch(/needs at least 10 labelled items/);
    }
  });
});
