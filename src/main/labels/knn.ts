// kNN votes: the source of suggestions while labels are too few for an adapter.
import type { LabelledSet, Mode, Rows } from './suggest-math.ts';

/**
 * Similarity-weighted votes of the `kNear` most similar labelled rows, smoothed towards uniform. `exclude` skips
 * one labelled position per query (leave-one-out for cross-validation).
 */
export function knnPredict(x: Rows, set: LabelledSet, k: number, mode: Mode, rows: Int32Array | null, kNear = 7, exclude?: Int32Array): Float32Array {
  const { dim } = x;
  const n = set.index.length;
  const count = rows ? rows.length : x.n;
  const out = new Float32Array(count * k);
  const sims = new Float64Array(n);
  const order = new Int32Array(n);
  for (let i = 0; i < count; i++) {
    const o = (rows ? rows[i]! : i) * dim;
    for (let j = 0; j < n; j++) {
      const lo = set.index[j]! * dim;
      let s = 0;
      for (let d = 0; d < dim; d++) s += x.data[o + d]! * x.data[lo + d]!;
      sims[j] = exclude && exclude[i] === j ? -Infinity : s;
      order[j] = j;
    }
    const top = Array.from(order).sort((p, q) => sims[q]! - sims[p]!).slice(0, kNear).filter((j) => sims[j]! > -Infinity);
    const best = top.length ? sims[top[0]!]! : 0;
    let total = 0;
    const votes = new Float64Array(k);
    for (const j of top) {
      const w = Math.exp(20 * (sims[j]! - best));
      total += w;
      for (let c = 0; c < k; c++) votes[c]! += w * set.targets[j * k + c]!;
    }
    const alpha = 0.5;
    for (let c = 0; c < k; c++) {
      out[i * k + c] = mode === 'softmax' ? (votes[c]! + alpha / k) / (total + alpha) : (votes[c]! + alpha / 2) / (total + alpha);
    }
  }
  return out;
}
