// What the latest published suggestions say about one item, and what a label event records of them. Pure: the
// refresher (suggestion-refresher.ts) owns the snapshots and the model index these read.
import type { Suggestion } from '../../shared/contract.ts';
import { withAncestors } from '../../shared/label-schema.ts';
import type { LabelGroup, Level } from '../../shared/label-schema.ts';
import type { ModelPackage } from '../inference/model-package.ts';
import type { LevelIndex, NewEvent } from '../project/label-repo.ts';
import type { GroupResult } from './suggest-engine.ts';

/** A level's items in the worker's row order, with each item UID's row. */
export interface IndexedLevel extends LevelIndex { pos: Map<string, number> }

/** The embedding model suggestions come from, and the items it has vectors for, per level. */
export interface ModelIndex {
  modelPk: number;
  sha256: string;
  name: string;
  /** The package, when it is the one installed now (its zero-shot head is used); null for an older model's vectors. */
  pkg: ModelPackage | null;
  embedded: number;
  levels: Map<Level, IndexedLevel>;
}

/** The suggestion for the item at row `pos` (rejected labels left out), or null when there is none. */
export function suggestionAt(g: LabelGroup, snap: GroupResult, model: ModelIndex, pos: number, rejected: readonly string[]): Suggestion | null {
  if (!snap.source || snap.probs.length === 0) return null;
  const k = g.labels.length;
  const p = snap.probs.subarray(pos * k, (pos + 1) * k);
  const keys = g.labels.map((l) => l.key);
  let labels: string[];
  let probability: number;
  let ranked: { label: string; probability: number }[];
  if (g.kind === 'single') {
    let best = -1;
    for (let c = 0; c < k; c++) if (!rejected.includes(keys[c]!) && (best < 0 || p[c]! > p[best]!)) best = c;
    if (best < 0) return null;
    labels = [keys[best]!];
    probability = p[best]!;
    // A parent's probability includes its children's.
    const agg = new Map(keys.map((key) => [key, 0]));
    keys.forEach((key, c) => { for (const a of withAncestors(g, key)) agg.set(a, agg.get(a)! + p[c]!); });
    ranked = [...agg].map(([label, probability]) => ({ label, probability }));
  } else {
    labels = keys.filter((key, c) => p[c]! > 0.5 && !rejected.includes(key));
    probability = keys.reduce((s, _, c) => s + Math.max(p[c]!, 1 - p[c]!), 0) / k;
    ranked = keys.map((label, c) => ({ label, probability: p[c]! }));
  }
  ranked.sort((a, b) => b.probability - a.probability);
  return { labels, probability, source: snap.source, modelName: model.name, modelSha256: model.sha256, detail: snap.detail, ranked };
}

/** What an event records of the suggestion there was when the reader acted (shown or, in a blinded read, not). */
export function provenance(s: Suggestion | null): Pick<NewEvent, 'suggested' | 'suggestionSource' | 'modelSha256' | 'modelDetail' | 'score'> {
  if (!s) return {};
  return { suggested: s.labels.join(','), suggestionSource: s.source, modelSha256: s.modelSha256, modelDetail: `${s.modelName}: ${s.detail}`.slice(0, 500), score: s.probability };
}
