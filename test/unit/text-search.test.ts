// Free-text search and the prompt workbench through the public surfaces (the API call, the CLI) on the demo
// project, with the built-in package's toy text tower: a finding's words find that finding's studies first, and a
// prompt's ROC AUC against accepted labels says which wording separates them.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Lightbox } from '../../src/main/app.ts';
import { BUILTIN_VERSION } from '../../src/main/inference/builtin-model.ts';
import { writeManifest } from '../../src/main/inference/model-package.ts';
import type { Manifest } from '../../src/main/inference/model-package.ts';
import { rocAuc } from '../../src/main/labels/index.ts';
import { calls } from '../../src/shared/contract.ts';
import type { CallName, CallResult } from '../../src/shared/contract.ts';
import { DEMO_SCHEMA } from '../../src/shared/label-schema.ts';
import { embedAll, openDemoProject, tempDir } from '../helpers.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const HOME = tempDir('lightbox-home-');
process.env.LIGHTBOX_HOME = HOME;

let app: Lightbox;
let project: string;
const studyClass = new Map<number, string>();
const imageClass = new Map<number, string>();

async function call<N extends CallName>(name: N, input: unknown): Promise<CallResult<N>> {
  const r = await app.call(name, input);
  if (!r.ok) throw Object.assign(new Error(r.error.message), { code: r.error.code });
  return r.result as CallResult<N>;
}

beforeAll(async () => {
  const demo = await openDemoProject({ count: 120, ctSeries: 0 });
  ({ app, project } = demo);
  await embedAll(app, { provider: 'cpu' });
  const rows = app.store.db.prepare('SELECT st.id, i.id, i.sop_uid FROM studies st JOIN series s ON s.study_pk = st.id JOIN instances i ON i.series_pk = s.id').raw().all() as [number, number, string][];
  for (const [study, inst, sop] of rows) {
    studyClass.set(study, demo.truth.instances[sop]!.class);
    imageClass.set(inst, demo.truth.instances[sop]!.class);
  }
}, 180_000);
afterAll(async () => app?.close());

const count = (cls: string): number => [...studyClass.values()].filter((c) => c === cls).length;

describe('search.text', () => {
  it('a finding in words finds that finding\'s studies first, with scores highest first', async () => {
    for (const [text, cls] of [['pleural effusion', 'effusion'], ['an enlarged heart', 'cardiomegaly'], ['a lung nodule', 'nodule'], ['a normal chest radiograph', 'normal']] as const) {
      const k = Math.min(20, count(cls));
      const r = await call('search.text', { text, level: 'study', k });
      expect(r.model).toBe('lightbox-builtin-baseline');
      expect(r.items).toHaveLength(k);
      const right = r.items.filter((h) => studyClass.get(h.itemId) === cls).length;
      // A quarter of the studies are of each class: chance is about 0.25.
      expect(right / k, `${text}: ${right}/${k}`).toBeGreaterThanOrEqual(0.85);
      expect(studyClass.get(r.items[0]!.itemId)).toBe(cls);
      for (let i = 1; i < r.items.length; i++) expect(r.items[i]!.score).toBeLessThanOrEqual(r.items[i - 1]!.score);
    }
  });

  it('searches images too, and the hits carry what the result list shows', async () => {
    const r = await call('search.text', { text: 'fluid in the pleural space', k: 5 });
    expect(r.level).toBe('image');
    expect(r.items).toHaveLength(5);
    for (const h of r.items) {
      expect(h.instanceId).toBe(h.itemId);
      expect(imageClass.get(h.instanceId)).toBe('effusion');
      expect(h.patientName).toMatch(/^Demo\^Patient/);
      expect(h.studyDescription).toBe('XR CHEST PA');
    }
  });

  it('refuses a text the model has no words for, and an empty one, saying what to do', async () => {
    const r = await app.call('search.text', { text: 'zebra giraffe' });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.code).toBe('bad-request');
      expect(r.error.message).toMatch(/finds nothing it knows in "zebra giraffe"; try other words/);
    }
    const empty = await app.call('search.text', { text: '  ' });
    expect(empty.ok).toBe(false);
    if (!empty.ok) expect(empty.error.message).toMatch(/text must not be empty/);
  });

  it('lightbox search prints the same hits as JSON', () => {
    const out = execFileSync(process.execPath, [path.join(ROOT, 'bin/lightbox.mjs'), 'search', 'an', 'enlarged', 'heart', '--project', project, '--level', 'study', '--k', '5', '--json'], { encoding: 'utf8', env: { ...process.env, LIGHTBOX_HOME: HOME } });
    const res = JSON.parse(out.trim()) as { level: string; items: { itemId: number; score: number }[] };
    expect(res.level).toBe('study');
    expect(res.items).toHaveLength(5);
    expect(res.items.every((h) => studyClass.get(h.itemId) === 'cardiomegaly')).toBe(true);
  });
});

describe('prompts.auc (the prompt workbench)', () => {
  it('ROC AUC counts ties as half and agrees with scikit-learn', () => {
    expect(rocAuc([0.9, 0.5], [0.5, 0.1])).toBe(0.875);
    expect(rocAuc([1], [])).toBeNull();
    // Scores on a coarse grid, so there are many ties.
    let seed = 7;
    const rand = (): number => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    const pos = Array.from({ length: 37 }, () => Math.round(rand() * 20) / 20 + 0.1);
    const neg = Array.from({ length: 53 }, () => Math.round(rand() * 20) / 20);
    const py = `import json,sys; from sklearn.metrics import roc_auc_score; p,n=json.load(sys.stdin); print(roc_auc_score([1]*len(p)+[0]*len(n), p+n))`;
    const sk = Number(execFileSync('/usr/bin/python3', ['-c', py], { input: JSON.stringify([pos, neg]), encoding: 'utf8' }).trim());
    expect(rocAuc(pos, neg)!).toBeCloseTo(sk, 12);
  });

  it('says there is nothing to score before labels, then ranks a good prompt far above a wrong one', async () => {
    await call('labels.setSchema', { schema: DEMO_SCHEMA });
    const before = await call('prompts.auc', { group: 'finding', label: 'effusion' });
    expect(before.results[0]).toMatchObject({ prompt: 'a chest radiograph showing a pleural effusion', auc: null, note: 'no item is labelled "Pleural effusion" yet' });
    // The clinician labels 40 studies (their true class).
    const ids = [...studyClass.keys()].slice(0, 40);
    for (const id of ids) await call('labels.set', { level: 'study', itemId: id, group: 'finding', labels: [studyClass.get(id)!] });
    const r = await call('prompts.auc', { group: 'finding', label: 'effusion', prompts: ['a chest radiograph showing a pleural effusion', 'a chest radiograph showing an enlarged heart', 'a rotated chest radiograph'] });
    expect(r.labelled).toBe(40);
    const [good, wrong, unknown] = r.results;
    expect(good!.positives).toBe(ids.filter((id) => studyClass.get(id) === 'effusion').length);
    expect(good!.positives + good!.negatives).toBe(40);
    expect(good!.auc!).toBeGreaterThan(0.9);
    expect(wrong!.auc!).toBeLessThan(good!.auc! - 0.25);
    expect(unknown).toMatchObject({ auc: null, note: expect.stringMatching(/finds nothing it knows in this prompt/) });
    // A parent's positives are its children's: "abnormal" is every finding but normal.
    const abnormal = await call('prompts.auc', { group: 'finding', label: 'abnormal' });
    expect(abnormal.results[0]!.positives).toBe(ids.filter((id) => studyClass.get(id) !== 'normal').length);
    const missing = await app.call('prompts.auc', { group: 'finding', label: 'pneumothorax' });
    expect(missing.ok).toBe(false);
    if (!missing.ok) expect(missing.error.message).toMatch(/group "finding" has no label "pneumothorax" \(its labels: normal, abnormal/);
  });
});

describe('other packages', () => {
  /** A copy of the built-in package, edited: the same image encoder, so the project's vectors stay valid for it. */
  function variant(edit: (dir: string, m: Manifest) => Omit<Manifest, 'files'>): string {
    const dir = tempDir('lightbox-model-');
    fs.cpSync(path.join(HOME, 'models', `builtin-${BUILTIN_VERSION}`), dir, { recursive: true });
    const m = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as Manifest;
    const next = edit(dir, m);
    writeManifest(dir, next, fs.readdirSync(dir).filter((f) => f !== 'manifest.json' && (f !== 'tokenizer.json' && f !== 'text_encoder.onnx' || !!next.textEncoder)));
    return dir;
  }
  const use = async (model: string): Promise<void> => {
    await (await app.embeddings.start(calls['embed.start'].input.parse({ model, provider: 'cpu' }))).done;
    app.labels.requestRefresh('model');
    await app.labels.whenIdle();
  };

  it('a broken tokenizer.json is named by search and by the suggestions, which fall back to the precomputed head', async () => {
    const dir = variant((d, m) => {
      fs.writeFileSync(path.join(d, 'tokenizer.json'), '{"model": {"type": "BPE"');
      const { files: _f, ...rest } = m;
      return rest;
    });
    await use(dir);
    const r = await app.call('search.text', { text: 'pleural effusion' });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.code).toBe('bad-request');
      expect(r.error.message).toMatch(new RegExp(`model package ${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: textEncoder\\.tokenizer tokenizer\\.json is not valid JSON`));
    }
    const g = (await call('labels.status', {})).groups.find((x) => x.key === 'finding')!;
    expect(g.warnings[0]).toMatch(/^zero-shot from prompts is unavailable \(.*tokenizer\.json is not valid JSON.*\); using the package's precomputed head/);
    expect(g.source).not.toBeNull();
  });

  it('a package without a text encoder keeps its precomputed head matched by name, and search says what is missing', async () => {
    const dir = variant((_d, m) => {
      const { files: _f, textEncoder: _t, ...rest } = m;
      return rest;
    });
    await use(dir);
    const r = await app.call('search.text', { text: 'pleural effusion' });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.message).toMatch(/has no text encoder: text search and zero-shot from prompts need a package with "textEncoder"/);
    // A fresh group (no labels yet) with prompts: without a text tower they are not used; the head matches by name.
    const schema = structuredClone(DEMO_SCHEMA);
    schema.groups.push({ key: 'finding2', name: 'Finding again', kind: 'single', level: 'study', description: '', labels: ['normal', 'cardiomegaly', 'effusion', 'nodule'].map((key) => ({ key, name: key, prompt: `a chest radiograph showing ${key}` })) });
    await call('labels.setSchema', { schema });
    await app.labels.whenIdle();
    const g = (await call('labels.status', {})).groups.find((x) => x.key === 'finding2')!;
    expect(g.source).toBe('zero-shot');
    expect(g.warnings).toEqual([]);
    expect(g.detail).toMatch(/^zero-shot from the model's label embeddings/);
    const v = await call('labels.item', { level: 'study', itemId: [...studyClass.keys()].at(-1)! });
    const s = v.groups.find((x) => x.key === 'finding2')!.suggestion!;
    expect(s.source).toBe('zero-shot');
    expect(s.prompt).toBeUndefined();
    await use('builtin');
  });
});
