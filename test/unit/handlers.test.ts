// The handler map is typed from the contract: these lines must not compile (`@ts-expect-error` fails the
// type-check when they do), and every answer in the suite is checked against its result schema.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AreaHandlers, Handlers } from '../../src/shared/contract.ts';
import { Lightbox } from '../../src/main/app.ts';
import { tempDir } from '../helpers.ts';

type Exportless = Omit<Handlers, 'export.status'>;

/** Compiled, never run. */
export function typeChecks(someHandlers: Exportless, projectArea: AreaHandlers<'project'>): unknown[] {
  // A call without a handler is a compile error.
  // @ts-expect-error 'export.status' is missing
  const missing: Handlers = { ...someHandlers };

  // A handler answering the wrong shape is a compile error.
  const wrongShape: AreaHandlers<'project'> = {
    ...projectArea,
    // @ts-expect-error project.recent must answer an array of recent projects
    'project.recent': () => ({ recent: [] }),
  };

  // A handler reading a field its call does not declare is a compile error.
  const wrongInput: AreaHandlers<'project'> = {
    ...projectArea,
    // @ts-expect-error study ids come with study.get, not project.info
    'project.info': ({ studyId }) => projectArea['project.info']({ studyId }),
  };
  return [missing, wrongShape, wrongInput];
}

describe('result schemas', () => {
  let app: Lightbox;
  beforeAll(() => { app = Lightbox.open(tempDir(), { create: true }); });
  afterAll(async () => { await app.close(); });

  it('are checked for every answer in the test suite', async () => {
    expect(process.env.LIGHTBOX_CHECK_RESULTS).toBe('1');
    const good = await app.call('labels.profile', {});
    expect(good.ok).toBe(true);
    // A service that answers outside the contract is caught at the edge, naming the call and the field.
    const original = app.labels.profile.bind(app.labels);
    app.labels.profile = () => ({ ...original(), annotator: 42 }) as unknown as ReturnType<typeof original>;
    try {
      const bad = await app.call('labels.profile', {});
      expect(bad).toMatchObject({ ok: false, error: { code: 'internal' } });
      if (!bad.ok) expect(bad.error.message).toMatch(/labels\.profile answered outside its result schema: annotator/);
    } finally {
      app.labels.profile = original;
    }
  });
});

describe('folders.list (the browser host folder chooser)', () => {
  let app: Lightbox;
  let root: string;
  beforeAll(() => {
    app = Lightbox.open(tempDir(), { create: true });
    root = tempDir('lightbox-folders-');
    fs.mkdirSync(path.join(root, 'studies 10'));
    fs.mkdirSync(path.join(root, 'studies 9'));
    fs.mkdirSync(path.join(root, '.hidden'));
    fs.writeFileSync(path.join(root, 'scan.dcm'), 'not a folder');
    fs.symlinkSync(path.join(root, 'studies 9'), path.join(root, 'link to 9'));
  });
  afterAll(async () => { await app.close(); });

  it('lists subfolders only, in natural order, with the parent and places', async () => {
    const r = await app.invoke('folders.list', { path: root });
    expect(r.path).toBe(root);
    expect(r.parent).toBe(path.dirname(root));
    expect(r.folders.map((f) => f.name)).toEqual(['link to 9', 'studies 9', 'studies 10']);
    expect(r.folders[1]!.path).toBe(path.join(root, 'studies 9'));
    expect(r.places.map((p) => p.name)).toEqual(expect.arrayContaining(['Home', 'Project']));
    expect((await app.invoke('folders.list', { path: root, hidden: true })).folders.map((f) => f.name)).toContain('.hidden');
    expect((await app.invoke('folders.list', { path: '/' })).parent).toBeNull();
  });

  it('refuses relative paths, files and missing folders with a message naming them', async () => {
    expect(await app.call('folders.list', { path: 'studies' })).toMatchObject({ ok: false, error: { code: 'bad-request', message: expect.stringMatching(/"studies" is not an absolute path/) } });
    expect(await app.call('folders.list', { path: path.join(root, 'scan.dcm') })).toMatchObject({ ok: false, error: { code: 'bad-request', message: expect.stringMatching(/scan\.dcm is not a folder/) } });
    expect(await app.call('folders.list', { path: path.join(root, 'gone') })).toMatchObject({ ok: false, error: { code: 'not-found', message: expect.stringMatching(/gone does not exist/) } });
  });
});
