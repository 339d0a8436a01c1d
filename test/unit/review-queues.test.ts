// Duplicate and outlier review queues on the demo set with planted cases: a radiograph copied under another patient
// ID (the split-leakage case) must top the duplicates, and a lone CT slice among the radiographs the outliers; the
// HNSW path finds the same neighbours as exact search on this set.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Lightbox } from '../../src/main/app.ts';
import type { CallName, CallResult } from '../../src/shared/contract.ts';
import { openDemoProject, embedAll, tempDir } from '../helpers.ts';

process.env.LIGHTBOX_HOME ??= tempDir('lightbox-home-');
let app: Lightbox;
let copied = '';
let original = '';
let lonely = '';

async function call<N extends CallName>(name: N, input: unknown = {}): Promise<CallResult<N>> {
  const r = await app.call(name, input);
  if (!r.ok) throw new Error(`${name}: ${r.error.message}`);
  return r.result as CallResult<N>;
}
const instanceOf = (file: string): number => app.store.db.prepare('SELECT i.id FROM instances i JOIN files f ON f.id = i.file_pk WHERE f.path = ?').pluck().get(file) as number;

beforeAll(async () => {
  ({ app } = await openDemoProject({ count: 120, ctSeries: 1 }, (dataDir) => {
    // One CT slice stays among the radiographs; the rest of its series goes.
    const ct = fs.readdirSync(path.join(dataDir, 'ct'), { recursive: true, withFileTypes: true }).filter((d) => d.isFile()).map((d) => path.join(d.parentPath, d.name)).sort();
    lonely = ct[12]!;
    for (const f of ct) if (f !== lonely) fs.rmSync(f);
    // A radiograph filed again under another patient, study, series and instance.
    const cxr = fs.readdirSync(path.join(dataDir, 'cxr'), { recursive: true, withFileTypes: true }).filter((d) => d.isFile()).map((d) => path.join(d.parentPath, d.name)).sort();
    original = cxr[7]!;
    fs.mkdirSync(path.join(dataDir, 'copied'));
    copied = path.join(dataDir, 'copied', 'again.dcm');
    fs.copyFileSync(original, copied);
    execFileSync('dcmodify', ['-nb', '-i', '(0010,0020)=OTHER-ID-77', '-i', '(0010,0010)=Other^Name', '-i', '(0008,0018)=2.25.9001', '-i', '(0020,000d)=2.25.9002', '-i', '(0020,000e)=2.25.9003', copied]);
  }));
  await embedAll(app, { provider: 'cpu' });
  await app.map.start({ level: 'image', refit: false, sampleSize: 4000 }).then((s) => s.done);
}, 240_000);
afterAll(async () => { await app?.close(); });

describe('review queues', () => {
  it('puts the copy filed under another patient first among near-duplicates, saying why it matters', async () => {
    const q = await call('review.duplicates', { level: 'image' });
    expect(q.ready).toBe(true);
    expect(q.exact).toBe(true);
    const top = q.items[0]!;
    const pair = [top.itemId, top.other!.itemId].sort();
    expect(pair).toEqual([instanceOf(original), instanceOf(copied)].sort());
    expect(top.score).toBeGreaterThan(0.999);
    expect(top.reason).toMatch(/^Near-duplicate of image \d+ \(cosine 1\.0000 ≥ 0\.998\), filed under another patient ID \(.+ vs .+\): if this is one patient under two IDs, a patient-level split would put them in both train and test$/);
    // Every listed pair is at or above the threshold, most similar first.
    for (let i = 0; i < q.items.length; i++) {
      expect(q.items[i]!.score).toBeGreaterThanOrEqual(0.998);
      if (i) expect(q.items[i]!.score).toBeLessThanOrEqual(q.items[i - 1]!.score);
    }
  });

  it('puts the lone CT slice first among outliers, naming its modality against its neighbours\'', async () => {
    const q = await call('review.outliers', { level: 'image' });
    expect(q.ready).toBe(true);
    expect(q.items[0]!.itemId).toBe(instanceOf(lonely));
    expect(q.items[0]!.reason).toMatch(/^Far from its 10 nearest neighbours: mean cosine distance [\d.]+, [\d.]+ robust σ above the project's typical [\d.]+; it is CT where its nearest neighbours are DX; nearest: image \d+ at cosine [\d.]+ — check for a wrong body part/);
    // Few outliers on a clean set: the rule does not flag the bulk of it.
    expect(q.total).toBeLessThan(12);
  });

  it('says not ready for a level without a map yet', async () => {
    expect((await call('review.outliers', { level: 'study' })).ready).toBe(false);
  });

  it('finds the same neighbours through the HNSW index as by exact search, and exact search in chunks as in one', async () => {
    const exact = await call('review.duplicates', { level: 'image', threshold: 0.5, limit: 5000 });
    await (await app.map.start({ level: 'image', refit: false, sampleSize: 4000 }, { neighbourChunk: 37 })).done;
    expect(await call('review.duplicates', { level: 'image', threshold: 0.5, limit: 5000 })).toEqual(exact);
    await (await app.map.start({ level: 'image', refit: false, sampleSize: 4000 }, { exactBelow: 10, neighbourChunk: 50 })).done;
    const ann = await call('review.duplicates', { level: 'image', threshold: 0.5, limit: 5000 });
    expect(ann.exact).toBe(false);
    const key = (i: { itemId: number; other: { itemId: number } | null }): string => `${i.itemId}:${i.other!.itemId}`;
    const want = new Set(exact.items.map(key));
    const recall = ann.items.filter((i) => want.has(key(i))).length / want.size;
    expect(want.size).toBeGreaterThan(100);
    expect(recall).toBeGreaterThan(0.9);
  }, 60_000);
});
