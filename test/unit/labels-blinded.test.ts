// A blinded first read through the API alone: the renderer is not trusted to hide anything, so every labels.* answer
// (results and refusals) is walked for what the model says — a suggested label, a probability, a score, an accuracy,
// a model-ordered queue — about any item the reader has not yet decided or revealed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Lightbox } from '../../src/main/app.ts';
import type { CallName } from '../../src/shared/contract.ts';
import { DEMO_SCHEMA } from '../../src/shared/label-schema.ts';
import { embedAll, openDemoProject, tempDir } from '../helpers.ts';
import { leaks } from '../model-leaks.ts';

process.env.LIGHTBOX_HOME = tempDir('lightbox-home-');

let app: Lightbox;
/** Study id → the demo's true finding label. */
const truthOf = new Map<number, string>();
/** A call's answer as the hosts send it: the result, or the refusal `{code, message}`. */
async function answer(name: CallName, input: unknown): Promise<unknown> {
  const r = await app.call(name, input);
  return r.ok ? r.result : r.error;
}
async function result(name: CallName, input: unknown): Promise<unknown> {
  const r = await app.call(name, input);
  if (!r.ok) throw new Error(`${name}: ${r.error.message}`);
  return r.result;
}

beforeAll(async () => {
  let truth;
  ({ app, truth } = await openDemoProject({ count: 60, ctSeries: 0 }));
  await embedAll(app, { provider: 'cpu' });
  const rows = app.store.db.prepare('SELECT st.id, i.sop_uid FROM studies st JOIN series s ON s.study_pk = st.id JOIN instances i ON i.series_pk = s.id').raw().all() as [number, string][];
  for (const [id, sop] of rows) truthOf.set(id, truth.instances[sop]!.class);
  app.labels.setSchema({ schema: DEMO_SCHEMA });
  await app.labels.whenIdle();
  // An unblinded reader labels a dozen studies first, so there are learned suggestions, agreements and a curve.
  const q = app.labels.queues.queue({ group: 'finding', queue: 'unlabelled', offset: 0, limit: 12 });
  for (const it of q.items) {
    const cls = truthOf.get(it.itemId) ?? 'normal';
    app.labels.actions.set({ level: 'study', itemId: it.itemId, group: 'finding', labels: [DEMO_SCHEMA.groups[0]!.labels.some((l) => l.key === cls) ? cls : 'normal'], revealed: true });
  }
  await app.labels.whenFresh();
  await app.labels.whenIdle();
}, 180_000);

afterAll(async () => {
  await app?.close();
});

describe('a blinded first read', () => {
  it('no labels.* answer carries a suggested label, a probability or a model score for an undecided item', async () => {
    // Sanity: unblinded, the same walk finds the model everywhere.
    expect(leaks(await result('labels.queue', { group: 'finding', queue: 'uncertain', limit: 5 })).length).toBeGreaterThan(0);
    expect(leaks(await result('labels.stats', {})).length).toBeGreaterThan(0);

    await result('labels.setProfile', { blinded: true });
    const answers: Record<string, unknown> = {};
    for (const name of ['labels.profile', 'labels.status', 'labels.stats'] as const) answers[name] = await answer(name, {});
    // Likely label errors lists decided items only; what the model says of a decided item is no longer blind.
    for (const queue of ['uncertain', 'confident', 'unlabelled', 'flagged'] as const) {
      for (const group of ['finding', 'quality']) answers[`labels.queue ${group} ${queue}`] = await answer('labels.queue', { group, queue, limit: 50 });
    }
    const open = (await app.call('labels.queue', { group: 'finding', queue: 'unlabelled', limit: 4 }));
    if (!open.ok) throw new Error(open.error.message);
    const [a, b, c, d] = (open.result as { items: { itemId: number }[] }).items.map((i) => i.itemId);
    const study = (itemId: number | undefined, more: object = {}): object => ({ level: 'study', itemId, ...more });
    answers['labels.item'] = await answer('labels.item', study(a));
    answers['labels.flag'] = await answer('labels.flag', study(a, { flagged: true }));
    answers['labels.note'] = await answer('labels.note', study(a, { note: 'left apex' }));
    answers['labels.reject'] = await answer('labels.reject', study(a, { group: 'finding', label: 'normal' }));
    // Accepting what was never shown is refused, and the refusal must not say what the suggestion is.
    for (const guess of ['normal', 'nodule', 'effusion', 'cardiomegaly', 'abnormal']) {
      answers[`labels.accept ${guess}`] = await answer('labels.accept', study(b, { group: 'finding', labels: [guess] }));
      answers[`labels.acceptMany ${guess}`] = await answer('labels.acceptMany', { group: 'finding', items: [study(b, { labels: [guess] })] });
    }
    // Decide c, then undo: c is undecided again, so neither the undo nor c's history may show what was suggested.
    await result('labels.set', study(c, { group: 'finding', labels: ['nodule'], revealed: false }));
    answers['labels.undo'] = await answer('labels.undo', {});
    answers['labels.history'] = await answer('labels.history', { studyId: c });
    answers['labels.item after undo'] = await answer('labels.item', study(c));
    answers['labels.clear'] = await answer('labels.clear', study(d, { group: 'finding' }));

    const found = Object.entries(answers).flatMap(([call, v]) => leaks(v).map((l) => `${call}: ${l}`));
    expect(found).toEqual([]);
    expect(app.labels.repo.state('study', app.labels.repo.uidOf('study', b!)!, 'finding').labels).toBeNull();
  });

  it('uncertain and confident queues say their order is not the model\'s; b reveals one item and only that one', async () => {
    const q = (await result('labels.queue', { group: 'finding', queue: 'uncertain', limit: 3 })) as { items: { itemId: number; reason: string; score: number | null }[] };
    expect(q.items.length).toBe(3);
    for (const it of q.items) expect(it).toMatchObject({ reason: expect.stringMatching(/blinded/i), score: null });
    const [x, y] = q.items;
    const shown = (await result('labels.item', { level: 'study', itemId: x!.itemId, reveal: true })) as { groups: { key: string; suggestion: unknown; hidden: boolean }[] };
    expect(shown.groups.find((g) => g.key === 'finding')).toMatchObject({ hidden: false, suggestion: expect.objectContaining({ source: expect.any(String) }) });
    // Revealed stays revealed for that item (a flag's acknowledgement shows it too); the next item stays blind.
    const again = (await result('labels.flag', { level: 'study', itemId: x!.itemId, flagged: true })) as { item: { groups: { key: string; suggestion: unknown }[] } };
    expect(again.item.groups.find((g) => g.key === 'finding')!.suggestion).not.toBeNull();
    expect(leaks(await result('labels.item', { level: 'study', itemId: y!.itemId }))).toEqual([]);
    await result('labels.setProfile', { blinded: false });
    expect(leaks(await result('labels.item', { level: 'study', itemId: y!.itemId })).length).toBeGreaterThan(0);
  });
});
