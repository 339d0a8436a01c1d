// Error analysis of a reading study (reading.errors): which items the model gets wrong against the reference, at
// one sub-task, explained by a shallow tree over the items' attributes (item-attributes.ts) and the project's
// labels of the item's other label groups at the same level. The model's answers are reading.compare's.
import { LightboxError } from '../../shared/contract.ts';
import type { CallParsed } from '../../shared/contract.ts';
import type { Level } from '../../shared/label-schema.ts';
import type { ErrorAnalysis } from '../../shared/reader-compare.ts';
import type { ReaderRepository } from '../project/reader-repo.ts';
import { fitErrorTree, mutualInformation } from './error-tree.ts';
import { ITEM_ATTRIBUTES, itemAttributes } from './item-attributes.ts';
import { foldedAnswers, levelsOf } from './model-vs-readers.ts';
import type { Predict } from './model-vs-readers.ts';
import { referenceStandard } from './reference.ts';
import type { StudyService } from './study-service.ts';

/** The project's labels of an item in its level's groups other than the study's (group key → labels, or null). */
export type LabelGroupsOf = (level: Level, uid: string, except: string) => Record<string, string[] | null>;

export async function errorAnalysis(studies: StudyService, repo: ReaderRepository, predict: Predict, labelGroups: LabelGroupsOf, i: CallParsed<'reading.errors'>): Promise<ErrorAnalysis> {
  const d = studies.data(i.study, 'reading.errors');
  if (d.row.unblinded_at === null) throw new LightboxError('conflict', `reading.errors: study ${i.study} is still blinded; unblind it first (reading.unblind)`);
  const g = d.group;
  const def = levelsOf(g).find((l) => l.level === i.level);
  if (!def) throw new LightboxError('bad-request', `reading.errors: level: "${i.level}" is not a sub-task of group "${g.key}" (${levelsOf(g).map((l) => l.level).join(', ')})`);
  const ref = referenceStandard(studies, repo, { study: i.study, rule: i.rule });
  const reference = new Map(ref.items.flatMap((x) => (x.label === null ? [] : [[x.itemUid, x.label] as const])));
  const notes: string[] = [];
  if (ref.queue.length) notes.push(`${ref.queue.length} item(s) still waiting for adjudication are left out`);
  const preds = await predict(g, reference, i.folds);
  notes.push(...preds.notes);
  const probs = i.source === 'adapter' ? preds.adapter : preds.zeroShot;
  if (!probs) {
    const other = i.source === 'adapter' ? preds.zeroShot : preds.adapter;
    throw new LightboxError('conflict', `reading.errors: the ${i.source} model has no predictions for study ${i.study} (${preds.notes.join('; ') || 'no vectors'})${other ? `; try source ${i.source === 'adapter' ? 'zero-shot' : 'adapter'}` : ''}`);
  }
  const cat = new Map(def.categories.map((c, j) => [c, j]));
  const items = [...reference].filter(([, l]) => def.map(l) !== null);
  const { withRow, pred } = foldedAnswers(g, def, probs, new Map(preds.uids.map((u, r) => [u, r])), items);

  const groupKeys = [...new Set(withRow.flatMap(([u]) => Object.keys(labelGroups(g.level, u, g.key))))].sort();
  const attributes = [...ITEM_ATTRIBUTES, ...groupKeys.map((k) => `label: ${k}`)];
  const rows: string[][] = [];
  const target: number[] = [];
  const uids: string[] = [];
  const studyIds: number[] = [];
  withRow.forEach(([u, label], t) => {
    const a = itemAttributes(repo, g.level, u);
    if (!a) return;
    const groups = labelGroups(g.level, u, g.key);
    rows.push([...a.values, ...groupKeys.map((k) => { const v = groups[k]; return v === null || v === undefined ? '(unlabelled)' : v.length ? [...v].sort().join('+') : '(none)'; })]);
    target.push(pred[t] === cat.get(def.map(label)!) ? 0 : 1);
    uids.push(u);
    studyIds.push(a.studyId);
  });
  if (rows.length < withRow.length) notes.push(`${withRow.length - rows.length} item(s) no longer in the project left out`);
  const tree = fitErrorTree(attributes, rows, target, i.maxDepth, i.minLeaf);
  const errors = target.reduce((s, t) => s + t, 0);
  return {
    study: i.study, group: g.key, level: def.level, source: i.source, rule: i.rule, n: rows.length, errors, maxDepth: i.maxDepth, minLeaf: i.minLeaf,
    attributes, wrong: uids.filter((_, r) => target[r] === 1), ranking: mutualInformation(attributes, rows, target),
    nodes: tree.map((n) => ({
      id: n.id, depth: n.depth, n: n.n, errors: n.errors, errorRate: n.n ? n.errors / n.n : 0, condition: n.condition, children: n.children,
      items: n.rows.map((r) => uids[r]!), studyIds: [...new Set(n.rows.map((r) => studyIds[r]!))],
    })),
    notes,
  };
}
