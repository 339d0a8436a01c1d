// Reader studies through the API: readers and the current reader, a study over the demo's studies, each reader's
// own seeded order with repeats, blinding (no reader sees another's reads before unblinding), reads kept apart
// from the project's labels and append-only, and agreement per level of the hierarchy after unblinding.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lightbox } from '../../src/main/app.ts';
import { cohenKappa, fleissKappa } from '../../src/main/readers/agreement.ts';
import { DEMO_READERS, simulateReads } from '../../src/main/readers/simulate-readers.ts';
import type { CallName, CallResult } from '../../src/shared/contract.ts';
import { DEMO_SCHEMA } from '../../src/shared/label-schema.ts';
import { mulberry32 } from '../../src/shared/random.ts';
import { openDemoProject } from '../helpers.ts';

let app: Lightbox;
let project: string;
const ROOT = path.resolve(import.meta.dirname, '../..');
const cli = (...args: string[]): string =>
  execFileSync(process.execPath, [path.join(ROOT, 'bin/lightbox.mjs'), ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
/** Study UID → the demo's true class. */
const truthOf = new Map<string, string>();
let uids: string[] = [];

async function call<N extends CallName>(name: N, input: unknown): Promise<CallResult<N>> {
  const r = await app.call(name, input);
  if (!r.ok) throw Object.assign(new Error(r.error.message), { code: r.error.code });
  return r.result as CallResult<N>;
}
async function failure(name: CallName, input: unknown): Promise<{ code: string; message: string }> {
  const r = await app.call(name, input);
  if (r.ok) throw new Error(`${name} should have failed`);
  return r.error;
}

beforeAll(async () => {
  const demo = await openDemoProject({ count: 40, ctSeries: 0 });
  app = demo.app;
  project = demo.project;
  const rows = app.store.db.prepare('SELECT st.study_uid, i.sop_uid FROM studies st JOIN series s ON s.study_pk = st.id JOIN instances i ON i.series_pk = s.id').raw().all() as [string, string][];
  for (const [study, sop] of rows) truthOf.set(study, demo.truth.instances[sop]!.class);
  uids = [...truthOf.keys()].sort();
  await call('labels.setSchema', { schema: DEMO_SCHEMA });
}, 120_000);
afterAll(async () => { await app?.close(); });

/** A simulated reader: right with probability `accuracy`, else a random other finding. */
function reads(seed: number, accuracy: number): (uid: string) => string {
  const r = mulberry32(seed);
  const labels = ['normal', 'cardiomegaly', 'effusion', 'nodule'];
  return (uid) => {
    const t = truthOf.get(uid)!;
    return r() < accuracy ? t : labels.filter((l) => l !== t)[Math.floor(r() * 3)]!;
  };
}

describe('reader studies', () => {
  let study: number;
  const readers = { ann: reads(1, 0.95), bob: reads(2, 0.75), cat: reads(3, 0.5) };

  it('keeps named readers and one current reader, switched explicitly', async () => {
    expect(await call('readers.list', {})).toEqual({ readers: [], current: null });
    expect((await failure('reading.next', { study: 1 })).code).toBe('not-found');
    for (const name of Object.keys(readers)) await call('readers.create', { name });
    const list = await call('readers.list', {});
    expect(list.readers.map((r) => r.name)).toEqual(['ann', 'bob', 'cat']);
    expect(list.current).toBe('ann'); // the first reader created
    expect((await call('readers.select', { name: 'bob' })).current).toBe('bob');
    expect((await failure('readers.select', { name: 'dan' })).message).toMatch(/no reader named "dan"/);
    expect((await failure('readers.create', { name: 'bob' })).code).toBe('conflict');
    expect((await failure('readers.create', { name: '  ' })).message).toMatch(/name/);
  });

  it('creates a study and refuses bad ones naming the field', async () => {
    expect((await failure('reading.create', { name: 'x', group: 'quality', items: uids, readers: ['ann'] })).message).toMatch(/group: "quality" is multi-label/);
    expect((await failure('reading.create', { name: 'x', group: 'nope', items: uids, readers: ['ann'] })).message).toMatch(/group: "nope" is not a group/);
    expect((await failure('reading.create', { name: 'x', group: 'finding', items: uids, readers: ['ann', 'dan'] })).message).toMatch(/readers: "dan" not found/);
    expect((await failure('reading.create', { name: 'x', group: 'finding', items: [], readers: ['ann'] })).message).toMatch(/items/);
    expect((await failure('reading.create', { name: 'x', group: 'finding', items: [uids[0], '1.2.3.999'], readers: ['ann'] })).message).toMatch(/items: 1 not study UIDs of this project \("1\.2\.3\.999"\)/);
    const s = await call('reading.create', { name: 'CXR findings', group: 'finding', items: uids, readers: ['ann', 'bob', 'cat'], seed: 7, repeatShare: 0.25 });
    study = s.id;
    expect(s.progress).toEqual(['ann', 'bob', 'cat'].map((reader) => ({ reader, done: 0, total: 50 }))); // 40 + 10 repeats
    expect((await call('reading.list', {})).map((x) => x.id)).toEqual([study]);
  });

  it('gives each reader their own seeded order, repeats last, and resumes where they stopped', async () => {
    const orders: Record<string, string[]> = {};
    for (const name of Object.keys(readers) as (keyof typeof readers)[]) {
      await call('readers.select', { name });
      const seen: string[] = [];
      for (let k = 0; k < 50; k++) {
        const next = (await call('reading.next', { study }))!;
        expect(next.position).toBe(k);
        seen.push(next.itemUid);
        await call('reading.read', { study, position: next.position, label: readers[name](next.itemUid) });
        if (name === 'cat' && k === 20) break; // cat stops part-way
      }
      orders[name] = seen;
    }
    expect(new Set(orders.ann!.slice(0, 40))).toEqual(new Set(uids));
    expect(new Set(orders.ann!.slice(40)).size).toBe(10);
    expect(orders.ann!.slice(40).every((u) => uids.includes(u))).toBe(true);
    expect(orders.ann!.slice(0, 40)).not.toEqual(orders.bob!.slice(0, 40));
    expect(orders.ann!.slice(0, 40)).not.toEqual(uids);
    // cat resumes at position 21; finishing gives the status 50 of 50.
    const next = (await call('reading.next', { study }))!;
    expect(next).toMatchObject({ position: 21, done: 21, total: 50 });
    for (let p = 21; p < 50; p++) {
      const n = (await call('reading.next', { study }))!;
      await call('reading.read', { study, position: n.position, label: readers.cat(n.itemUid) });
    }
    expect(await call('reading.next', { study })).toBeNull();
    expect((await call('reading.status', { study })).progress.map((p) => p.done)).toEqual([50, 50, 50]);
    await call('readers.select', { name: 'ann' });
    expect((await call('reading.next', { study }))).toBeNull();
  });

  it('never shows one reader another reader\'s reads before unblinding', async () => {
    for (const name of ['ann', 'bob', 'cat']) {
      await call('readers.select', { name });
      const mine = await call('reading.reads', { study });
      expect(mine.unblinded).toBe(false);
      expect(mine.reads).toHaveLength(50);
      expect(new Set(mine.reads.map((r) => r.reader))).toEqual(new Set([name]));
    }
    expect((await failure('reading.agreement', { study })).message).toMatch(/still blinded; unblind it first/);
    // Reads are not project labels, and the read log refuses edits.
    const item = await call('labels.item', { level: 'study', itemId: 1 });
    expect(item.groups.find((g) => g.key === 'finding')!.labels).toBeNull();
    expect(() => app.store.db.prepare('UPDATE reading_events SET value = ?').run('normal')).toThrow(/append-only/);
    expect(() => app.store.db.prepare('DELETE FROM reading_events').run()).toThrow(/append-only/);
    expect((await failure('reading.read', { study, position: 0, label: 'rotated' })).message).toMatch(/label: "rotated" is not a label of group "finding"/);
    expect((await failure('reading.read', { study, position: 50, label: 'normal' })).message).toMatch(/position: 50 is past the end/);
  });

  it('a corrected read replaces the earlier one; after unblinding every read shows and reads close', async () => {
    await call('readers.select', { name: 'ann' });
    const before = (await call('reading.reads', { study })).reads.find((r) => r.position === 0)!;
    const other = before.labels[0] === 'normal' ? 'nodule' : 'normal';
    await call('reading.read', { study, position: 0, label: other });
    await call('reading.read', { study, position: 0, label: before.labels[0] });
    expect((await call('reading.reads', { study })).reads.find((r) => r.position === 0)!.labels).toEqual(before.labels);
    expect((await call('reading.unblind', { study })).unblinded).toBe(true);
    const all = await call('reading.reads', { study });
    expect(all.unblinded).toBe(true);
    expect(all.reads).toHaveLength(150);
    expect((await failure('reading.read', { study, position: 0, label: 'normal' })).code).toBe('conflict');
  });

  it('reports agreement per hierarchy level, ordered by reader accuracy, consistent with the reads', async () => {
    const a = await call('reading.agreement', { study, resamples: 200, seed: 3 });
    expect(a.levels.map((l) => l.level)).toEqual(['label', 'top', 'under:abnormal']);
    const label = a.levels[0]!;
    const pair = (x: string, y: string) => label.pairs.find((p) => p.a === x && p.b === y)!;
    // ann (0.95) and bob (0.75) agree more than bob and cat (0.5).
    expect(pair('ann', 'bob').kappa.value!).toBeGreaterThan(pair('bob', 'cat').kappa.value!);
    // The figures are those of the statistics module on the reads themselves (first reads only).
    const { reads: all } = await call('reading.reads', { study });
    const first = (reader: string) => uids.map((u) => all.find((r) => r.reader === reader && !r.repeat && r.itemUid === u)?.labels[0] ?? null);
    const cats = DEMO_SCHEMA.groups[0]!.labels.map((l) => l.key);
    expect(pair('ann', 'bob').kappa.value).toBeCloseTo(cohenKappa(first('ann'), first('bob'), cats).value!, 12);
    expect(label.fleiss.value).toBeCloseTo(fleissKappa(uids.map((_, i) => ['ann', 'bob', 'cat'].map((r) => first(r)[i]!)), cats).value!, 12);
    expect(pair('ann', 'bob').confusion.flat().reduce((s, x) => s + x, 0)).toBe(40);
    for (const s of [pair('ann', 'bob').kappa, label.fleiss, label.alpha]) {
      expect(s.ci.low!).toBeLessThanOrEqual(s.value!);
      expect(s.ci.high!).toBeGreaterThanOrEqual(s.value!);
    }
    // Top level: normal vs abnormal. Under abnormal: only the items every reader called abnormal.
    expect(a.levels[1]!.categories).toEqual(['normal', 'abnormal']);
    const under = a.levels[2]!;
    expect(under.categories).toEqual(['abnormal', 'cardiomegaly', 'effusion', 'nodule']);
    expect(under.fleiss.n).toBe(uids.filter((_, i) => ['ann', 'bob', 'cat'].every((r) => first(r)[i] !== 'normal')).length);
    // Intra-reader: 10 repeats each; the most accurate reader agrees with herself the most.
    const intra = new Map(label.intra.map((x) => [x.reader, x]));
    expect(intra.get('ann')!.percent.n).toBe(10);
    expect(intra.get('ann')!.percent.value!).toBeGreaterThanOrEqual(intra.get('cat')!.percent.value!);
  });

  it('builds the reference standard: unanimous, majority, an adjudication queue, and adjudicated by whom', async () => {
    const { reads: all } = await call('reading.reads', { study });
    const firstReads = (u: string) => all.filter((r) => r.itemUid === u && !r.repeat).map((r) => r.labels[0]!);
    const majority = await call('reading.reference', { study, rule: 'majority' });
    const unanimous = await call('reading.reference', { study, rule: 'unanimous' });
    for (const item of majority.items) {
      const labels = firstReads(item.itemUid);
      const counts = new Map<string, number>();
      for (const l of labels) counts.set(l, (counts.get(l) ?? 0) + 1);
      const best = Math.max(...counts.values());
      const expected = counts.size === 1 ? 'unanimous' : best * 2 > labels.length ? 'majority' : 'pending';
      expect(item.basis).toBe(expected);
      if (expected !== 'pending') expect(counts.get(item.label!)).toBe(best);
      else expect(item.label).toBeNull();
      expect(item.reads).toHaveLength(3);
    }
    expect(majority.queue.length).toBeGreaterThan(0); // three readers of 0.95/0.75/0.5 accuracy do not always agree
    expect(unanimous.queue.length).toBeGreaterThan(majority.queue.length);
    expect(unanimous.items.filter((x) => x.basis === 'majority')).toEqual([]);
    const item = majority.queue[0]!;
    await call('readers.create', { name: 'adjudicator' });
    await call('readers.select', { name: 'adjudicator' });
    await call('reading.adjudicate', { study, itemUid: item, label: truthOf.get(item)! });
    const after = await call('reading.reference', { study, rule: 'majority' });
    expect(after.items.find((x) => x.itemUid === item)).toMatchObject({ label: truthOf.get(item), basis: 'adjudicated', adjudicator: 'adjudicator' });
    expect(after.queue).toEqual(majority.queue.slice(1));
    expect((await failure('reading.adjudicate', { study, itemUid: 'nope', label: 'normal' })).message).toMatch(/itemUid: "nope" is not an item/);
    expect((await failure('reading.adjudicate', { study, itemUid: item, label: 'rotated' })).message).toMatch(/label: "rotated" is not a label/);
    expect(() => app.store.db.prepare('DELETE FROM reading_adjudications').run()).toThrow(/append-only/);
  });

  it('the CLI creates studies, shows progress and prints the same agreement as the API', async () => {
    const viaApi = await call('reading.agreement', { study, resamples: 100, seed: 4 });
    const viaCli = JSON.parse(cli('agreement', '--project', project, '--study', String(study), '--resamples', '100', '--seed', '4', '--json')) as unknown;
    expect(viaCli).toEqual(viaApi);
    expect(cli('agreement', '--project', project, '--study', String(study), '--resamples', '50')).toMatch(/ann vs bob: agreement 0\.\d{3} \[0\.\d{3}, 0\.\d{3}\], kappa/);
    const file = path.join(project, 'items.txt');
    fs.writeFileSync(file, `${uids.slice(0, 5).join('\n')}\n`);
    const made = JSON.parse(cli('study', 'create', '--project', project, '--name', 'second', '--group', 'finding', '--readers', 'ann,dan', '--items-file', file, '--repeat', '0.4', '--json')) as { id: number; items: number; readers: string[] };
    expect(made).toMatchObject({ items: 5, readers: ['ann', 'dan'] });
    expect((await call('readers.list', {})).readers.map((r) => r.name)).toContain('dan');
    expect((await failure('reading.reference', { study: made.id })).message).toMatch(/still blinded/);
    const status = JSON.parse(cli('study', 'status', '--project', project, '--json')) as { id: number; unblinded: boolean; progress: { done: number; total: number }[] }[];
    expect(status.map((s) => [s.id, s.unblinded])).toEqual([[study, true], [made.id, false]]);
    expect(status[1]!.progress).toEqual([{ reader: 'ann', done: 0, total: 7 }, { reader: 'dan', done: 0, total: 7 }]);
    expect(cli('study', 'status', '--project', project)).toMatch(/"second" \(finding, blinded\): ann 0\/7, dan 0\/7/);
    let err = '';
    try { cli('agreement', '--project', project, '--study', String(made.id)); } catch (e) { err = String((e as { stderr: string }).stderr); }
    expect(err).toMatch(/still blinded/);
  });

  it('simulated readers of known accuracy give the kappas theory predicts (demo:readers)', async () => {
    for (const r of DEMO_READERS) await call('readers.create', { name: r.name });
    const s = await call('reading.create', { name: 'simulated', group: 'finding', items: uids, readers: DEMO_READERS.map((r) => r.name) });
    const four = ['normal', 'cardiomegaly', 'effusion', 'nodule'];
    await simulateReads(app.invoke.bind(app), s.id, DEMO_READERS, (u) => truthOf.get(u)!, four);
    expect((await call('reading.status', { study: s.id })).progress.every((p) => p.done === 40)).toBe(true);
    await call('reading.unblind', { study: s.id });
    const label = (await call('reading.agreement', { study: s.id, resamples: 500 })).levels[0]!;
    const share = new Map(four.map((c) => [c, uids.filter((u) => truthOf.get(u) === c).length / uids.length]));
    for (const p of label.pairs) {
      const x = DEMO_READERS.find((r) => r.name === p.a)!.accuracy, y = DEMO_READERS.find((r) => r.name === p.b)!.accuracy;
      // Both right, or both wrong the same way (each wrong read is one of the 3 others at random).
      const agree = x * y + ((1 - x) * (1 - y)) / 3;
      // Chance agreement from the expected marginals: a reader gives class c with p = acc·s_c + (1 − acc)(1 − s_c)/3.
      const m = (acc: number, c: string): number => acc * share.get(c)! + ((1 - acc) * (1 - share.get(c)!)) / 3;
      const chance = four.reduce((sum, c) => sum + m(x, c) * m(y, c), 0);
      const expected = (agree - chance) / (1 - chance);
      expect(p.kappa.ci.low!).toBeLessThan(expected);
      expect(p.kappa.ci.high!).toBeGreaterThan(expected);
    }
  });
});
