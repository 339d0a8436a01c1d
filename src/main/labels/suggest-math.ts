// The shared vocabulary of the suggestion maths: matrices of unit-length embedding rows, labelled sets, and the
// small numeric helpers every method uses. The methods live beside it, one responsibility a file:
//   lbfgs.ts             the optimiser the logistic adapters train with
//   logistic-adapter.ts  L2-regularised logistic-regression adapters (softmax / per-label sigmoid), cross-validated
//   zero-shot.ts         scores against a text-embedding head, and their calibration
//   knn.ts               similarity-weighted votes while labels are few
//   suggest-queues.ts    queue ranking (uncertainty with diversity, confidence) and confident-learning label errors
// Pure functions over Float32Array: no I/O and no threads here; suggest-worker.ts runs them off the main thread.

export type Mode = 'softmax' | 'sigmoid';

/** n rows of `dim` values. */
export interface Rows { data: Float32Array; n: number; dim: number }

export interface LabelledSet {
  /** Row indexes (into the level's item matrix) of the labelled items. */
  index: Int32Array;
  /** n × K targets: one-hot (softmax) or 0/1 per label (sigmoid). */
  targets: Float32Array;
}

/** Softmax of v[off..off+k), in place (uniform when every value is -Infinity). */
export function softmaxInPlace(v: Float64Array | Float32Array, off: number, k: number): void {
  let max = -Infinity;
  for (let j = 0; j < k; j++) max = Math.max(max, v[off + j]!);
  if (max === -Infinity) { for (let j = 0; j < k; j++) v[off + j] = 1 / k; return; }
  let sum = 0;
  for (let j = 0; j < k; j++) { const e = Math.exp(v[off + j]! - max); v[off + j] = e; sum += e; }
  for (let j = 0; j < k; j++) v[off + j]! /= sum;
}

/** The logistic function, computed without overflow for large |z|. */
export const sigmoid = (z: number): number => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));

/** Per-dimension mean and standard deviation over all rows (features are standardised for the adapters). */
export function columnStats(x: Rows): { mean: Float64Array; std: Float64Array } {
  const { data, n, dim } = x;
  const mean = new Float64Array(dim);
  const sq = new Float64Array(dim);
  for (let i = 0; i < n; i++) {
    const o = i * dim;
    for (let d = 0; d < dim; d++) { const v = data[o + d]!; mean[d]! += v; sq[d]! += v * v; }
  }
  const std = new Float64Array(dim);
  for (let d = 0; d < dim; d++) {
    mean[d]! /= Math.max(1, n);
    std[d] = Math.sqrt(Math.max(sq[d]! / Math.max(1, n) - mean[d]! * mean[d]!, 0)) || 1;
  }
  return { mean, std };
}

/** Accuracy of predictions (count × K) against targets: top-1 for softmax, mean per-label at 0.5 for sigmoid. */
export function accuracy(probs: Float32Array, targets: Float32Array, count: number, k: number, mode: Mode): number {
  if (count === 0) return NaN;
  let right = 0;
  for (let i = 0; i < count; i++) {
    if (mode === 'softmax') {
      let arg = 0;
      for (let c = 1; c < k; c++) if (probs[i * k + c]! > probs[i * k + arg]!) arg = c;
      right += targets[i * k + arg]! > 0 ? 1 : 0;
    } else {
      let ok = 0;
      for (let c = 0; c < k; c++) ok += (probs[i * k + c]! > 0.5) === (targets[i * k + c]! > 0) ? 1 : 0;
      right += ok / k;
    }
  }
  return right / count;
}

/** How the chosen source did on held-out labels: accuracy with its 95 % Wilson interval, the confusion matrix
 * (softmax: given label × predicted label) and recall per label. */
export interface Validation {
  source: 'zero-shot' | 'knn' | 'adapter';
  labels: number;
  accuracy: number;
  low: number;
  high: number;
  /** k × k counts, rows the label given, columns the label predicted; empty for multi-label groups. */
  confusion: number[][];
  /** Per label: recall among the items given it (null with none), and how many were. */
  recall: (number | null)[];
  support: number[];
}

/** Wilson score interval for a proportion `p` of `n` at 95 %. */
export function wilson(p: number, n: number): { low: number; high: number } {
  if (n === 0) return { low: 0, high: 1 };
  const z = 1.959964;
  const d = 1 + (z * z) / n;
  const centre = (p + (z * z) / (2 * n)) / d;
  const half = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / d;
  return { low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}

/** The validation summary of out-of-fold predictions `probs` (count × k) against the labels given. */
export function validationOf(source: Validation['source'], probs: Float32Array, targets: Float32Array, count: number, k: number, mode: Mode): Validation {
  const acc = accuracy(probs, targets, count, k, mode);
  const confusion = mode === 'softmax' ? Array.from({ length: k }, () => new Array<number>(k).fill(0)) : [];
  const hit = new Array<number>(k).fill(0);
  const support = new Array<number>(k).fill(0);
  for (let i = 0; i < count; i++) {
    if (mode === 'softmax') {
      let given = 0;
      for (let c = 0; c < k; c++) if (targets[i * k + c]! > 0) given = c;
      let arg = 0;
      for (let c = 1; c < k; c++) if (probs[i * k + c]! > probs[i * k + arg]!) arg = c;
      confusion[given]![arg]! += 1;
      support[given]! += 1;
      if (arg === given) hit[given]! += 1;
    } else {
      for (let c = 0; c < k; c++) {
        if (targets[i * k + c]! <= 0) continue;
        support[c]! += 1;
        if (probs[i * k + c]! > 0.5) hit[c]! += 1;
      }
    }
  }
  return { source, labels: count, accuracy: acc, ...wilson(acc, count), confusion, recall: support.map((n, c) => (n > 0 ? hit[c]! / n : null)), support };
}
