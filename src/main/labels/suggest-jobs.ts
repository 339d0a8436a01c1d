// What the suggestion worker needs to refresh one group: its current labels as training targets (rows of the
// level's item matrix), and which row of the model's zero-shot head stands for each label. Pure.
import { mostSpecific } from '../../shared/label-schema.ts';
import type { LabelGroup } from '../../shared/label-schema.ts';
import type { ModelPackage } from '../inference/model-package.ts';
import type { GroupJob } from './suggest-engine.ts';
import type { IndexedLevel } from './suggestions.ts';

export function groupJob(g: LabelGroup, labelled: ReadonlyMap<string, string[]>, lv: IndexedLevel, zs: ModelPackage['zeroShot']): GroupJob {
  const k = g.labels.length;
  const classOf = new Map(g.labels.map((l, i) => [l.key, i]));
  const index: number[] = [];
  const rows: Float32Array[] = [];
  for (const [uid, labels] of labelled) {
    const at = lv.pos.get(uid);
    if (at === undefined) continue;
    const t = new Float32Array(k);
    if (g.kind === 'single') {
      // A single-choice label trains its most specific class (a parent is implied by its child).
      const leaf = mostSpecific(g, labels).at(-1);
      if (leaf === undefined || !classOf.has(leaf)) continue;
      t[classOf.get(leaf)!] = 1;
    } else {
      for (const l of labels) if (classOf.has(l)) t[classOf.get(l)!] = 1;
    }
    index.push(at);
    rows.push(t);
  }
  const targets = new Float32Array(index.length * k);
  rows.forEach((t, i) => targets.set(t, i * k));
  const headRow = new Int32Array(k).fill(-1);
  if (zs) {
    const names = zs.labels.map((l) => l.name.toLowerCase());
    g.labels.forEach((l, c) => {
      const want = [l.zeroShot, l.key, l.name].filter((x): x is string => !!x).map((x) => x.toLowerCase());
      headRow[c] = names.findIndex((n) => want.includes(n));
    });
  }
  return {
    key: g.key, level: g.level, mode: g.kind === 'single' ? 'softmax' : 'sigmoid', k,
    head: zs ? zs.embeddings : null, headRow, logitScale: zs?.logitScale ?? 1,
    labelled: { index: Int32Array.from(index), targets },
  };
}
