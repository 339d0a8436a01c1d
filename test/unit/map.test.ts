// The embedding map through the API on the demo project: the projection job reports progress, cancels and resumes
// from its saved fit; the points cover every embedded item at each level; neighbours in embedding space stay
// neighbours on the map (far above a random layout); and labelling a selection is one undoable bulk step whose
// events all say source "bulk".
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Lightbox } from '../../src/main/app.ts';
import { knnPreservation, poolItems } from '../../src/main/review/index.ts';
import { EmbeddingStore } from '../../src/main/inference/embedding-store.ts';
import { mulberry32 } from '../../src/shared/random.ts';
import type { CallName, CallResult, JobProgress } from '../../src/shared/contract.ts';
import { DEMO_SCHEMA } from '../../src/shared/label-schema.ts';
import type { Level } from '../../src/shared/label-schema.ts';
import type { DemoTruth } from '../../src/main/demo/demo-data.ts';
import { generateDemoProjectData } from '../../src/main/demo/demo-data.ts';
import { embedAll, importInto, openDemoProject, tempDir } from '../helpers.ts';

process.env.LIGHTBOX_HOME ??= tempDir('lightbox-home-');
let app: Lightbox;
let truth: DemoTruth;

async function call<N extends CallName>(name: N, input: unknown = {}): Promise<CallResult<N>> {
  const r = await app.call(name, input);
  if (!r.ok) throw new Error(`${name}: ${r.error.message}`);
  return r.result as CallResult<N>;
}

/** Progress events of map jobs while `f` runs; `onEvent` may act on each (cancel, say) as it arrives. */
async function watching<T>(f: () => Promise<T>, onEvent: (p: JobProgress) => void = () => {}): Promise<{ value: T; events: JobProgress[] }> {
  const events: JobProgress[] = [];
  const off = app.on((name, p) => {
    if (name !== 'job.progress') return;
    const jp = p as JobProgress;
    if (jp.kind !== 'map') return;
    events.push(jp);
    onEvent(jp);
  });
  try {
    return { value: await f(), events };
  } finally {
    off();
  }
}

/** Unit vectors of a level's items in the order of `ids` (pooled as the map pools them). */
function vectorsOf(level: Level, ids: number[]): { x: Float32Array; dim: number } {
  const row = app.embeddings.repo.models()[0]!;
  const li = app.labels.repo.levelIndex(level, row.id);
  const all = EmbeddingStore.read(row.storeDir, row.dim)!.loadAll();
  const pooled = poolItems(all, row.dim, li.offsets, li.rows);
  const at = new Map(Array.from(li.ids, (id, i) => [id, i]));
  const x = new Float32Array(ids.length * row.dim);
  ids.forEach((id, i) => x.set(pooled.subarray(at.get(id)! * row.dim, (at.get(id)! + 1) * row.dim), i * row.dim));
  return { x, dim: row.dim };
}

beforeAll(async () => {
  ({ app, truth } = await openDemoProject({ count: 240, ctSeries: 2 }));
  await embedAll(app, { provider: 'cpu' });
  app.labels.setSchema({ schema: DEMO_SCHEMA });
  await app.labels.whenIdle();
}, 240_000);
afterAll(async () => { await app?.close(); });

describe('the projection job', () => {
  it('answers not ready before the first run', async () => {
    const pts = await call('map.points', { level: 'image' });
    expect(pts.ready).toBe(false);
    expect(pts.unplaced).toBe(app.embeddings.repo.embeddedImages(app.embeddings.repo.models()[0]!.id));
    expect((await call('map.status')).levels.every((l) => !l.ready)).toBe(true);
  });

  it('cancelled while fitting, it saves nothing and says so', async () => {
    let jobId = 0;
    const { value, events } = await watching(async () => {
      const started = await app.map.start({ level: 'image', refit: false, sampleSize: 4000 }, { epochChunk: 5, progressIntervalMs: 0 });
      jobId = started.jobId;
      return started.done;
    }, (p) => { if (p.phase === 'projecting' && p.done > 0) app.map.cancel(p.jobId); });
    expect(value.cancelled).toBe(true);
    expect(events.at(-1)).toMatchObject({ jobId, phase: 'cancelled' });
    expect(events.at(-1)!.message).toMatch(/cancelled while fitting/);
    expect((await call('map.points', { level: 'image' })).ready).toBe(false);
    expect((await call('map.status')).running).toBeNull();
  });

  it('reports progress while fitting and placing; cancelled while placing, the next start resumes on the saved fit', async () => {
    const first = await watching(async () => (await app.map.start({ level: 'image', refit: false, sampleSize: 4000 }, { placeChunk: 20, progressIntervalMs: 0 })).done,
      (p) => { if (p.phase === 'placing' && p.done >= 100) app.map.cancel(p.jobId); });
    expect(first.value).toMatchObject({ cancelled: true, fitted: true });
    const projecting = first.events.filter((e) => e.phase === 'projecting');
    expect(projecting.length).toBeGreaterThan(5);
    for (let i = 1; i < projecting.length; i++) expect(projecting[i]!.done).toBeGreaterThanOrEqual(projecting[i - 1]!.done);
    expect(projecting.at(-1)!.done).toBe(projecting.at(-1)!.total);
    expect(first.events.some((e) => e.phase === 'placing' && e.total === 240 + 48)).toBe(true);
    expect((await call('map.points', { level: 'image' })).ready).toBe(false);

    const second = await watching(async () => {
      const { jobId } = await call('map.start', { level: 'image' });
      return app.jobs.finished('map', jobId);
    });
    expect(second.value).toMatchObject({ cancelled: false, fitted: false, resumed: true, items: 240 + 48 });
    // Resumed: no epoch was run again.
    expect(second.events.some((e) => e.phase === 'projecting')).toBe(false);
    expect(second.events.at(-1)).toMatchObject({ phase: 'done' });
    expect(second.events.at(-1)!.message).toMatch(/ready \(placed on the saved fit \(resumed\)\)/);
  }, 60_000);

  it('covers every embedded image, and keeps embedding-space neighbours together far above a random layout', async () => {
    const pts = await call('map.points', { level: 'image' });
    expect(pts.ready).toBe(true);
    expect(pts.unplaced).toBe(0);
    const embedded = app.embeddings.repo.rows(app.embeddings.repo.models()[0]!.id, 'image').map((r) => r.itemId).sort((a, b) => a - b);
    expect([...pts.ids].sort((a, b) => a - b)).toEqual(embedded);
    expect(pts.x.every(Number.isFinite) && pts.y.every(Number.isFinite)).toBe(true);
    const { x, dim } = vectorsOf('image', pts.ids);
    const xy = Float32Array.from(pts.ids.flatMap((_, i) => [pts.x[i]!, pts.y[i]!]));
    const score = knnPreservation(x, dim, xy, 10);
    const rand = mulberry32(7);
    const shuffled = Float32Array.from(xy, () => rand());
    const chance = knnPreservation(x, dim, shuffled, 10);
    expect(score).toBeGreaterThan(0.3);
    expect(score).toBeGreaterThan(4 * chance);
    // The classes of the demo set form regions: a point's nearest map neighbour mostly shares its class.
    const sop = new Map(app.store.db.prepare('SELECT id, sop_uid FROM instances').raw().all() as [number, string][]);
    const cls = pts.ids.map((id) => truth.instances[sop.get(id)!]!.class);
    let same = 0;
    for (let i = 0; i < pts.ids.length; i++) {
      let best = -1;
      let bd = Infinity;
      for (let j = 0; j < pts.ids.length; j++) {
        if (j === i) continue;
        const d = (pts.x[i]! - pts.x[j]!) ** 2 + (pts.y[i]! - pts.y[j]!) ** 2;
        if (d < bd) { bd = d; best = j; }
      }
      if (cls[best] === cls[i]) same++;
    }
    expect(same / pts.ids.length).toBeGreaterThan(0.6);
    // Colouring data: the study-level Finding group applies to images, with a suggestion and a confidence per point.
    const finding = pts.groups.find((g) => g.key === 'finding')!;
    expect(finding.level).toBe('study');
    expect(finding.suggestion.index.filter((i) => i >= 0).length).toBe(pts.ids.length);
    expect(finding.confidence.filter((c) => c >= 0).length).toBe(pts.ids.length);
    expect(pts.attributes.modality!.values.sort()).toEqual(['CT', 'DX'].sort());
  });

  it('fits on a sample and places the rest by their nearest fitted neighbours, still far above chance', async () => {
    const { jobId } = await call('map.start', { level: 'image', refit: true, sampleSize: 60 });
    const s = await app.jobs.finished('map', jobId);
    expect(s).toMatchObject({ fitted: true, resumed: false, sample: 60, items: 288 });
    const pts = await call('map.points', { level: 'image' });
    const { x, dim } = vectorsOf('image', pts.ids);
    const xy = Float32Array.from(pts.ids.flatMap((_, i) => [pts.x[i]!, pts.y[i]!]));
    expect(knnPreservation(x, dim, xy, 10)).toBeGreaterThan(0.2);
  }, 60_000);

  it('maps series and studies from pooled vectors', async () => {
    for (const level of ['series', 'study'] as const) {
      const { jobId } = await call('map.start', { level });
      await app.jobs.finished('map', jobId);
      const pts = await call('map.points', { level });
      const want = app.labels.repo.levelIndex(level, app.embeddings.repo.models()[0]!.id).ids;
      expect([...pts.ids].sort((a, b) => a - b)).toEqual([...want].sort((a, b) => a - b));
      expect(pts.ids.length).toBe(level === 'series' ? 242 : 242);
    }
    const st = await call('map.status');
    expect(st.levels.map((l) => l.ready)).toEqual([true, true, true]);
  }, 60_000);
});

describe('new embeddings', () => {
  it('are placed on every existing map without refitting, as soon as the embedding job ends', async () => {
    const before = await call('map.points', { level: 'image' });
    expect((await call('map.status')).levels.find((l) => l.level === 'image')!.ready).toBe(true);
    const { dataDir } = generateDemoProjectData(tempDir(), { count: 12, ctSeries: 0, seed: 99 });
    await importInto(app, dataDir);
    // Waits for the map job the end of the embedding job starts (image, series and study maps in turn).
    const placed: Level[] = [];
    const allPlaced = new Promise<void>((resolve) => {
      const off = app.on((name, p) => {
        const jp = p as JobProgress;
        if (name === 'job.progress' && jp.kind === 'map' && jp.phase === 'done') {
          const word = jp.message.match(/^Map of \d+ (images|series|studies) ready/)![1]!;
          placed.push(word === 'images' ? 'image' : word === 'studies' ? 'study' : 'series');
          if (placed.length === 3) { off(); resolve(); }
        }
      });
    });
    await embedAll(app, { provider: 'cpu' });
    await allPlaced;
    expect(placed.sort()).toEqual(['image', 'series', 'study']);
    expect((await call('map.status')).last).toMatchObject({ fitted: false, resumed: false });
    const after = await call('map.points', { level: 'image' });
    expect(after.unplaced).toBe(0);
    expect(after.ids.length).toBe(before.ids.length + 12);
    // Items already on the map keep their place: the fit was not redone.
    const at = new Map(after.ids.map((id, i) => [id, i]));
    let moved = 0;
    before.ids.forEach((id, i) => { const j = at.get(id)!; if (Math.abs(after.x[j]! - before.x[i]!) + Math.abs(after.y[j]! - before.y[i]!) > 1e-3) moved++; });
    expect(moved).toBe(0);
  }, 120_000);
});

describe('labelling a selection in one step', () => {
  it('previews who disagrees, writes one undoable batch with source "bulk", and undo restores every item', async () => {
    const pts = await call('map.points', { level: 'image' });
    const finding = pts.groups.find((g) => g.key === 'finding')!;
    // A selection of 30 radiographs; two of their studies already carry a label.
    const picked = pts.ids.filter((_, i) => pts.attributes.modality!.values[pts.attributes.modality!.index[i]!] === 'DX').slice(0, 30);
    const studyOf = new Map(pts.ids.map((id, i) => [id, pts.studyIds[i]!]));
    const studies = picked.map((id) => studyOf.get(id)!);
    await call('labels.set', { level: 'study', itemId: studies[0], group: 'finding', labels: ['effusion'] });
    await call('labels.set', { level: 'study', itemId: studies[1], group: 'finding', labels: ['normal'] });
    const preview = await call('labels.bulkPreview', { group: 'finding', labels: ['normal'], level: 'image', itemIds: picked });
    expect(preview.level).toBe('study');
    expect(preview.targets.map((t) => t.itemId).sort()).toEqual([...new Set(studies)].sort());
    expect(preview.unchanged).toBe(1);
    expect(preview.otherLabel).toBe(1);
    expect(preview.targets.find((t) => t.itemId === studies[0])).toMatchObject({ otherLabel: true, labels: ['abnormal', 'effusion'] });
    const suggestedOther = preview.targets.filter((t) => t.suggestion && !(t.suggestion.length === 1 && t.suggestion[0] === 'normal')).length;
    expect(preview.disagree).toBe(suggestedOther);
    expect(finding.suggestion.values.length).toBeGreaterThan(1);
    expect(preview.targets.every((t) => t.instanceId !== null)).toBe(true);

    // The reader leaves out the item that carries another label and writes the rest.
    const write = preview.targets.filter((t) => !t.otherLabel).map((t) => t.itemId);
    const before = app.labels.repo.eventCount();
    const r = await call('labels.bulkSet', { group: 'finding', labels: ['normal'], itemIds: write });
    expect(r.written).toBe(write.length - 1);
    expect(r.unchanged).toBe(1);
    expect(r.batch).not.toBeNull();
    expect(app.labels.repo.eventCount()).toBe(before + r.written);
    for (const id of r.eventIds) expect(app.labels.repo.event(id)).toMatchObject({ action: 'set', source: 'bulk', batch: r.batch, field: 'labels', value: ['normal'] });
    const uid = (id: number): string => app.labels.repo.uidOf('study', id)!;
    for (const id of write) expect(app.labels.repo.state('study', uid(id), 'finding').labels).toEqual(['normal']);
    expect(app.labels.repo.state('study', uid(studies[0]!), 'finding').labels).toEqual(['abnormal', 'effusion']);
    // Each study's history names the bulk event with the suggestion there was.
    const h = await call('labels.history', { studyId: write[1] });
    expect(h.at(-1)).toMatchObject({ source: 'bulk', action: 'set' });

    // One undo takes back the whole step, and nothing else.
    const u = await call('labels.undo');
    expect(u.event?.reverts).toBeTypeOf('number');
    for (const id of write) {
      const want = id === studies[1] ? ['normal'] : null;
      expect(app.labels.repo.state('study', uid(id), 'finding').labels).toEqual(want);
    }
    expect(app.labels.repo.state('study', uid(studies[0]!), 'finding').labels).toEqual(['abnormal', 'effusion']);
    // The derived state still equals a replay of the log.
    expect([...app.labels.repo.derivedState()].sort()).toEqual([...app.labels.repo.replay()].sort());
    // And redo puts it back as one step.
    await call('labels.redo');
    for (const id of write) expect(app.labels.repo.state('study', uid(id), 'finding').labels).toEqual(['normal']);
  });

  it('refuses a selection that cannot name the group\'s items, and an unknown label, writing nothing', async () => {
    const before = app.labels.repo.eventCount();
    const bad = await app.call('labels.bulkSet', { group: 'finding', labels: ['nope'], itemIds: [1] });
    expect(bad.ok).toBe(false);
    const missing = await app.call('labels.bulkSet', { group: 'finding', labels: ['normal'], itemIds: [1, 999999] });
    expect(missing).toMatchObject({ ok: false, error: { code: 'not-found' } });
    expect(!missing.ok && missing.error.message).toMatch(/study 999999 is not in this project; nothing was written/);
    expect(app.labels.repo.eventCount()).toBe(before);
  });
});
