// A reading study blinded to the model, through the API alone: while a reader of the study is the current reader,
// no labels.* answer about the study's items says what the model thinks — not labels.item (even asked to reveal,
// even after the reader labels the item), not the queues' order or scores, not the history, not the status — and
// reading.item never does. A study that is not blinded to the model, or one unblinded, shows the model again.
// Also: reading.next stays cheap as reads accumulate (it follows a cursor, it does not rescan the order).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Lightbox } from '../../src/main/app.ts';
import type { CallName, CallResult } from '../../src/shared/contract.ts';
import { DEMO_SCHEMA } from '../../src/shared/label-schema.ts';
import { embedAll, openDemoProject, tempDir } from '../helpers.ts';
import { leaks } from '../model-leaks.ts';

process.env.LIGHTBOX_HOME = tempDir('lightbox-home-');

let app: Lightbox;
let ids: number[] = [];
const uidOf = new Map<number, string>();

async function call<N extends CallName>(name: N, input: unknown): Promise<CallResult<N>> {
  const r = await app.call(name, input);
  if (!r.ok) throw new Error(`${name}: ${r.error.message}`);
  return r.result as CallResult<N>;
}
async function answer(name: CallName, input: unknown): Promise<unknown> {
  const r = await app.call(name, input);
  return r.ok ? r.result : r.error;
}

beforeAll(async () => {
  let truth;
  ({ app, truth } = await openDemoProject({ count: 40, ctSeries: 0 }));
  await embedAll(app, { provider: 'cpu' });
  app.labels.setSchema({ schema: DEMO_SCHEMA });
  await app.labels.whenIdle();
  const rows = app.store.db.prepare('SELECT st.id, st.study_uid, i.sop_uid FROM studies st JOIN series s ON s.study_pk = st.id JOIN instances i ON i.series_pk = s.id ORDER BY st.id').raw().all() as [number, string, string][];
  for (const [id, uid] of rows) uidOf.set(id, uid);
  ids = [...uidOf.keys()];
  // Ten studies labelled outside any study, so the adapter learns and the errors queue has candidates.
  // Two of them labelled wrongly on purpose: the model is good enough on the demo to agree with every true label,
  // and the errors queue needs a disagreement to list.
  for (const [k, [id, , sop]] of rows.slice(20, 30).entries()) {
    const cls = truth.instances[sop]!.class;
    const right = DEMO_SCHEMA.groups[0]!.labels.some((l) => l.key === cls) ? cls : 'normal';
    app.labels.actions.set({ level: 'study', itemId: id, group: 'finding', labels: [k < 2 ? (right === 'normal' ? 'cardiomegaly' : 'normal') : right], revealed: true });
  }
  await app.labels.whenFresh();
  await app.labels.whenIdle();
  for (const name of ['ann', 'bob']) await call('readers.create', { name });
}, 240_000);
afterAll(async () => { await app?.close(); });

/** Every labels.* answer a reader can get about `itemIds`, and the queues and status. */
async function labelAnswers(itemIds: number[]): Promise<Record<string, unknown>> {
  const answers: Record<string, unknown> = {};
  for (const name of ['labels.status', 'labels.stats'] as const) answers[name] = await answer(name, {});
  for (const queue of ['uncertain', 'confident', 'unlabelled', 'errors', 'flagged'] as const) {
    answers[`labels.queue ${queue}`] = await answer('labels.queue', { group: 'finding', queue, limit: 100 });
  }
  for (const itemId of itemIds) {
    answers[`labels.item ${itemId}`] = await answer('labels.item', { level: 'study', itemId });
    answers[`labels.item ${itemId} reveal`] = await answer('labels.item', { level: 'study', itemId, reveal: true });
  }
  return answers;
}
/** One valid request for each of the model's whole-project views (model-gate.ts). */
const modelViews = (itemId: number): [CallName, unknown][] => [
  ['embed.pixels', { width: 2, height: 2, channels: 1, data: 'AAAAAA==', neighbours: 4 }],
  ['search.text', { text: 'nodule', level: 'study' }],
  ['map.points', { level: 'study' }],
  ['review.duplicates', { level: 'study' }],
  ['review.outliers', { level: 'study' }],
  ['labels.bulkPreview', { group: 'finding', labels: ['normal'], level: 'study', itemIds: [itemId] }],
  ['prompts.auc', { group: 'finding', label: 'nodule' }],
];
/** The codes of those views' refusals, by call ('ok' for an answer). */
async function modelViewCodes(itemId: number): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [name, input] of modelViews(itemId)) {
    const r = await app.call(name, input);
    out[name] = r.ok ? 'ok' : r.error.code === 'conflict' && /blinded to the model.*reading\.unblind.*readers\.select/.test(r.error.message) ? 'blinded' : `${r.error.code}: ${r.error.message}`;
  }
  return out;
}
const found = (answers: Record<string, unknown>): string[] => Object.entries(answers).flatMap(([c, v]) => leaks(v).map((l) => `${c}: ${l}`));

describe('a reading study blinded to the model', () => {
  it('hides the model from its readers on every path that serves one of its items', async () => {
    const items = ids.slice(0, 12);
    // The labelled items are in the study too: the errors queue must not rank them for the reader either.
    const inStudy = [...items, ...ids.slice(20, 30)];
    // Sanity: with no study, the same walk finds the model.
    await call('readers.select', { name: 'ann' });
    expect(found(await labelAnswers(items.slice(0, 2))).length).toBeGreaterThan(0);

    const s = await call('reading.create', { name: 'blind', group: 'finding', items: inStudy.map((i) => uidOf.get(i)!), readers: ['ann'], blindedToModel: true });
    expect(s.blindedToModel).toBe(true);
    const answers = await labelAnswers(inStudy);
    // The reader's own label of a study item (outside the study) is acknowledged without the model.
    answers['labels.set'] = await answer('labels.set', { level: 'study', itemId: items[0], group: 'finding', labels: ['nodule'], revealed: false });
    answers['labels.item after set'] = await answer('labels.item', { level: 'study', itemId: items[0] });
    answers['labels.history'] = await answer('labels.history', { studyId: items[0] });
    for (let n = await call('reading.next', { study: s.id }), k = 0; n && k < 3; n = await call('reading.next', { study: s.id }), k++) {
      answers[`reading.next ${k}`] = n;
      answers[`reading.item ${k}`] = await answer('reading.item', { study: s.id, position: n.position });
      answers[`reading.read ${k}`] = await answer('reading.read', { study: s.id, position: n.position, label: 'normal' });
    }
    expect(found(answers)).toEqual([]);
    expect((answers['labels.queue errors'] as { items: unknown[] }).items).toEqual([]);
    // Nearest images, text search, the map, duplicates, outliers, a bulk label's disagreements, a prompt's AUC:
    // the model's view of the whole project is closed to her, by name.
    const closed = await modelViewCodes(items[1]!);
    expect(Object.values(closed).every((c) => c === 'blinded')).toBe(true);
    expect(Object.keys(closed).length).toBe(7);

    // bob is no reader of the study: he sees the model on the same items, the errors queue included.
    await call('readers.select', { name: 'bob' });
    expect(found(await labelAnswers(items.slice(1, 3))).length).toBeGreaterThan(0);
    expect(((await call('labels.queue', { group: 'finding', queue: 'errors', limit: 100 })).items).length).toBeGreaterThan(0);
    expect(Object.values(await modelViewCodes(items[1]!)).filter((c) => c === 'blinded')).toEqual([]);
    // Unblinded, ann sees it again.
    await call('readers.select', { name: 'ann' });
    await call('reading.unblind', { study: s.id });
    expect(found(await labelAnswers(items.slice(1, 3))).length).toBeGreaterThan(0);
    expect(Object.values(await modelViewCodes(items[1]!)).filter((c) => c === 'blinded')).toEqual([]);
  });

  it('a study not blinded to the model leaves suggestions on; reading.item still shows none', async () => {
    await call('readers.select', { name: 'bob' });
    const items = ids.slice(12, 18);
    const s = await call('reading.create', { name: 'open', group: 'finding', items: items.map((i) => uidOf.get(i)!), readers: ['bob'], blindedToModel: false });
    expect(s.blindedToModel).toBe(false);
    expect(found(await labelAnswers(items.slice(0, 2))).length).toBeGreaterThan(0);
    const n = (await call('reading.next', { study: s.id }))!;
    const item = await call('reading.item', { study: s.id, position: n.position });
    expect(leaks(item)).toEqual([]);
    expect(item).toMatchObject({ position: n.position, itemUid: n.itemUid, level: 'study', label: null, done: 0, total: 6 });
    expect(item.images.length).toBeGreaterThan(0);
    await call('reading.read', { study: s.id, position: n.position, label: 'effusion' });
    expect(await call('reading.item', { study: s.id, position: n.position })).toMatchObject({ label: 'effusion', done: 1 });
  });

  it('reading.item refuses a position past the order and a reader not in the study, naming what to do', async () => {
    await call('readers.select', { name: 'bob' });
    const s = (await call('reading.list', {})).find((x) => x.name === 'open')!;
    const past = await app.call('reading.item', { study: s.id, position: 99 });
    expect(past.ok ? null : past.error.message).toMatch(/position: 99 is past the end of the order \(6 reads\)/);
    await call('readers.select', { name: 'ann' });
    const other = await app.call('reading.item', { study: s.id, position: 0 });
    expect(other.ok ? null : other.error.message).toMatch(/the current reader "ann" is not a reader of study/);
  });
});
