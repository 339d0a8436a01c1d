// The labelling queues on the demo set: a cold start covers every class the suggestions name, and the likely
// label errors queue finds labels planted wrong far better than chance (bench:label-errors reports the figures).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Lightbox } from '../../src/main/app.ts';
import { mulberry32 } from '../../src/main/demo/demo-data.ts';
import type { DemoTruth } from '../../src/main/demo/demo-data.ts';
import type { CallName, CallResult } from '../../src/shared/contract.ts';
import { DEMO_SCHEMA } from '../../src/shared/label-schema.ts';
import { embedAll, openDemoProject, tempDir } from '../helpers.ts';

process.env.LIGHTBOX_HOME ??= tempDir('lightbox-home-');
const CLASSES = ['normal', 'cardiomegaly', 'effusion', 'nodule'];
let app: Lightbox;
let truth: DemoTruth;
let classOf: Map<number, string>;

async function call<N extends CallName>(name: N, input: unknown): Promise<CallResult<N>> {
  const r = await app.call(name, input);
  if (!r.ok) throw new Error(`${name}: ${r.error.message}`);
  return r.result as CallResult<N>;
}
const suggested = async (id: number): Promise<string | null> =>
  (await call('labels.item', { level: 'study', itemId: id })).groups.find((g) => g.key === 'finding')!.suggestion?.labels[0] ?? null;

beforeAll(async () => {
  ({ app, truth } = await openDemoProject({ count: 240, ctSeries: 0 }));
  await embedAll(app, { provider: 'cpu' });
  app.labels.setSchema({ schema: DEMO_SCHEMA });
  await app.labels.whenIdle();
  classOf = new Map((app.store.db.prepare('SELECT st.id, i.sop_uid FROM studies st JOIN series s ON s.study_pk = st.id JOIN instances i ON i.series_pk = s.id').raw().all() as [number, string][])
    .map(([id, sop]) => [id, truth.instances[sop]!.class]));
}, 240_000);
afterAll(async () => { await app.close(); });

describe('queues on the demo set', () => {
  it('a cold start shows every class the suggestions name within its first two rounds', async () => {
    const all = new Set<string>();
    for (const id of classOf.keys()) { const s = await suggested(id); if (s) all.add(s); }
    expect(all.size).toBeGreaterThan(1);
    const head = (await call('labels.queue', { group: 'finding', queue: 'uncertain', limit: 2 * all.size })).items;
    const shown = new Set<string>();
    for (const it of head) { const s = await suggested(it.itemId); if (s) shown.add(s); }
    expect([...shown].sort()).toEqual([...all].sort());
  }, 120_000);

  it('likely label errors lists mostly the labels planted wrong, far above chance', async () => {
    const rand = mulberry32(3);
    const planted = new Set<number>();
    for (const [id, t] of classOf) {
      let label = t;
      if (rand() < 0.1) {
        const others = CLASSES.filter((c) => c !== t);
        label = others[Math.floor(rand() * others.length)]!;
        planted.add(id);
      }
      await call('labels.set', { level: 'study', itemId: id, group: 'finding', labels: [label] });
    }
    await app.labels.whenFresh();
    await app.labels.whenIdle();
    const listed = (await call('labels.queue', { group: 'finding', queue: 'errors', limit: 500 })).items.map((i) => i.itemId);
    const hits = listed.filter((id) => planted.has(id)).length;
    expect(planted.size).toBeGreaterThan(10);
    // Chance is planted.size / 240 ≈ 0.1; bench:label-errors measures 0.83–0.96.
    expect(hits / listed.length).toBeGreaterThan(0.5);
    expect(hits / planted.size).toBeGreaterThan(0.4);
  }, 240_000);
});
