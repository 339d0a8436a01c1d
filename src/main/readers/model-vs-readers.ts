// The model against the readers on a study's reference standard, per sub-task of the group's hierarchy (the
// levels of reading.agreement): 'label' (every label), 'top' (e.g. normal vs abnormal), and 'under:<key>' — the
// items whose reference lies under <key>, told apart among its subtypes. A reader's read outside that subtree
// answers none of its categories (wrong, and a negative for each). The model answers with its most probable
// category at the level: its class probabilities summed over each category's subtree (and, under a key,
// renormalised over the subtree). Readers are scored against a reference their own reads helped make: the figures
// say how close each is to the consensus, as reader studies report them.
import { withAncestors } from '../../shared/label-schema.ts';
import type { LabelGroup } from '../../shared/label-schema.ts';
import type { StudyComparison } from '../../shared/reader-compare.ts';
import type { CallParsed } from '../../shared/contract.ts';
import { LightboxError } from '../../shared/contract.ts';
import type { ModelPredictions } from '../labels/index.ts';
import type { ReaderRepository } from '../project/reader-repo.ts';
import { accuracyOf, auc, macroAuc, macroAucInterval, rocCurve, sensSpec } from './classification-metrics.ts';
import { referenceStandard } from './reference.ts';
import type { StudyService } from './study-service.ts';

export type Predict = (g: LabelGroup, items: ReadonlyMap<string, string>, folds: number) => Promise<ModelPredictions>;
type Level = StudyComparison['levels'][number];
type Rater = Level['raters'][number];

export interface LevelDef { level: string; categories: string[]; map: (v: string) => string | null }

/** The sub-tasks of a group: as reading.agreement's levels. */
export function levelsOf(g: LabelGroup): LevelDef[] {
  const defs: LevelDef[] = [{ level: 'label', categories: g.labels.map((l) => l.key), map: (v) => v }];
  if (!g.labels.some((l) => l.parent !== undefined)) return defs;
  defs.push({ level: 'top', categories: g.labels.filter((l) => l.parent === undefined).map((l) => l.key), map: (v) => withAncestors(g, v)[0] ?? null });
  for (const parent of g.labels) {
    const children = g.labels.filter((l) => l.parent === parent.key).map((l) => l.key);
    if (children.length === 0) continue;
    defs.push({
      level: `under:${parent.key}`, categories: [parent.key, ...children],
      map: (v) => {
        const chain = withAncestors(g, v);
        const at = chain.indexOf(parent.key);
        return at < 0 ? null : (chain[at + 1] ?? parent.key);
      },
    });
  }
  return defs;
}

function scoreAnswers(name: string, kind: 'model' | 'reader', categories: string[], ref: number[], pred: number[], probs: Float64Array | null, resamples: number, seed: number): Rater {
  const k = categories.length;
  const classes = categories.map((category, c) => {
    const s = sensSpec(ref, pred, c);
    let a: number | null = null;
    if (probs) a = auc(Array.from({ length: ref.length }, (_, i) => probs[i * k + c]!), ref.map((r) => r === c));
    return { category, positives: s.positives, sensitivity: s.sensitivity, specificity: s.specificity, auc: a };
  });
  let macro: Rater['macroAuc'] = null;
  if (probs) {
    const m = macroAuc(ref, probs, k);
    const ci = m.value === null ? { low: null, high: null, valid: 0 } : macroAucInterval(ref, probs, k, resamples, seed);
    const absent = k - m.classes;
    macro = { value: m.value, low: ci.low, high: ci.high, classes: m.classes, resamples, valid: ci.valid,
      note: m.value === null ? 'AUC is undefined: the reference has a single category here' : absent > 0 ? `${absent} categor${absent === 1 ? 'y' : 'ies'} without positives or negatives left out` : null };
  }
  return { kind, name, n: ref.length, accuracy: accuracyOf(ref, pred), classes, macroAuc: macro };
}

/**
 * The model's answers at a level for `items` (uid, reference label) that have a probability row: its class
 * probabilities summed into the level's categories (renormalised), and the most probable category.
 */
export function foldedAnswers(g: LabelGroup, def: LevelDef, probs: Float32Array, rowOf: ReadonlyMap<string, number>, items: readonly (readonly [string, string])[]): { withRow: (readonly [string, string])[]; p: Float64Array; pred: number[] } {
  const k = g.labels.length;
  const cat = new Map(def.categories.map((c, j) => [c, j]));
  const classCat = g.labels.map((l) => { const m = def.map(l.key); return m === null ? -1 : cat.get(m)!; });
  const withRow = items.filter(([u]) => rowOf.has(u));
  const kk = def.categories.length;
  const p = new Float64Array(withRow.length * kk);
  const pred: number[] = [];
  withRow.forEach(([u], t) => {
    const r = rowOf.get(u)!;
    let total = 0;
    for (let c = 0; c < k; c++) {
      const to = classCat[c]!;
      if (to < 0) continue;
      const v = probs[r * k + c]!;
      p[t * kk + to] = p[t * kk + to]! + v;
      total += v;
    }
    if (total > 0) for (let j = 0; j < kk; j++) p[t * kk + j] = p[t * kk + j]! / total;
    let best = 0;
    for (let j = 1; j < kk; j++) if (p[t * kk + j]! > p[t * kk + best]!) best = j;
    pred.push(best);
  });
  return { withRow, p, pred };
}

export async function compareModelAndReaders(studies: StudyService, repo: ReaderRepository, predict: Predict, i: CallParsed<'reading.compare'>): Promise<StudyComparison> {
  const d = studies.data(i.study, 'reading.compare');
  if (d.row.unblinded_at === null) throw new LightboxError('conflict', `reading.compare: study ${i.study} is still blinded; unblind it first (reading.unblind)`);
  const ref = referenceStandard(studies, repo, { study: i.study, rule: i.rule });
  const reference = new Map(ref.items.flatMap((x) => (x.label === null ? [] : [[x.itemUid, x.label] as const])));
  const { first } = studies.allReads(d);
  const g = d.group;
  const notes: string[] = [];
  if (ref.queue.length > 0) notes.push(`${ref.queue.length} item(s) still waiting for adjudication are left out`);
  const preds = reference.size > 0 ? await predict(g, reference, i.folds) : null;
  if (preds) notes.push(...preds.notes);
  const sources: [string, Float32Array][] = [];
  if (preds?.adapter) sources.push(['adapter (out-of-fold)', preds.adapter]);
  if (preds?.zeroShot) sources.push(['zero-shot', preds.zeroShot]);
  const rowOf = new Map((preds?.uids ?? []).map((u, r) => [u, r]));

  const levels: Level[] = levelsOf(g).map((def) => {
    const cat = new Map(def.categories.map((c, j) => [c, j]));
    const items = [...reference].filter(([, label]) => def.map(label) !== null);
    const refIdx = (label: string): number => cat.get(def.map(label)!)!;
    const raters: Rater[] = [];
    const roc: Level['roc'] = [];
    sources.forEach(([name, probs], s) => {
      const { withRow, p, pred } = foldedAnswers(g, def, probs, rowOf, items);
      const kk = def.categories.length;
      const refs = withRow.map(([, l]) => refIdx(l));
      raters.push(scoreAnswers(name, 'model', def.categories, refs, pred, p, i.resamples, i.seed + s));
      def.categories.forEach((category, j) => {
        const pos = refs.map((r) => r === j);
        const score = Array.from({ length: refs.length }, (_, t) => p[t * kk + j]!);
        roc.push({ rater: name, category, auc: auc(score, pos), ...rocCurve(score, pos) });
      });
    });
    for (const reader of d.readers) {
      const mine = items.filter(([u]) => first.get(reader)?.has(u));
      const pred = mine.map(([u]) => { const m = def.map(first.get(reader)!.get(u)!); return m === null ? -1 : cat.get(m)!; });
      raters.push(scoreAnswers(reader, 'reader', def.categories, mine.map(([, l]) => refIdx(l)), pred, null, i.resamples, i.seed));
    }
    return { level: def.level, categories: def.categories, n: items.length, raters, roc };
  });
  return { study: i.study, group: g.key, rule: i.rule, items: reference.size, pending: ref.queue.length, model: preds?.model ?? null, folds: i.folds, notes, levels };
}
