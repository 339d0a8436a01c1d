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
