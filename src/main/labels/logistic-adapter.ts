// Logistic adapters: L2-regularised logistic regression on standardised embeddings, softmax for single-choice
// groups and per-label sigmoid for multi-label ones, trained with L-BFGS; and their out-of-fold predictions, which
// cross-validation and label-error detection use.
import { lbfgs } from './lbfgs.ts';
import type { LabelledSet, Mode, Rows } from './suggest-math.ts';
import { sigmoid, softmaxInPlace } from './suggest-math.ts';

/** K × (dim + 1) weights on standardised features (last column: bias), and the standardisation. */
export interface Adapter { mode: Mode; k: number; dim: number; w: Float64Array; mean: Float64Array; std: Float64Array }

/**
 * Trains an L2-regularised logistic regression on the labelled rows: mean loss + λ/2 |W|² with λ = 1/n (as
 * scikit-learn's C = 1). `warm` starts from earlier weights, which makes retraining after one more label cheap.
 */
export function trainAdapter(x: Rows, set: LabelledSet, k: number, mode: Mode, stats: { mean: Float64Array; std: Float64Array }, warm?: Adapter | null, maxIter = 80): Adapter {
  const { dim } = x;
  const n = set.index.length;
  const p = dim + 1;
  // Standardised copy of the training rows.
  const z = new Float64Array(n * dim);
  for (let i = 0; i < n; i++) {
    const o = set.index[i]! * dim;
    for (let d = 0; d < dim; d++) z[i * dim + d] = (x.data[o + d]! - stats.mean[d]!) / stats.std[d]!;
  }
  const lambda = 1 / Math.max(1, n);
  const t = set.targets;
  const logits = new Float64Array(k);
  const f = (w: Float64Array, g: Float64Array): number => {
    g.fill(0);
    let loss = 0;
    for (let i = 0; i < n; i++) {
      const zo = i * dim;
      for (let c = 0; c < k; c++) {
        const wo = c * p;
        let s = w[wo + dim]!;
        for (let d = 0; d < dim; d++) s += w[wo + d]! * z[zo + d]!;
        logits[c] = s;
      }
      if (mode === 'softmax') {
        let max = -Infinity;
        for (let c = 0; c < k; c++) max = Math.max(max, logits[c]!);
        let sum = 0;
        for (let c = 0; c < k; c++) sum += Math.exp(logits[c]! - max);
        const lse = max + Math.log(sum);
        for (let c = 0; c < k; c++) {
          const tc = t[i * k + c]!;
          if (tc > 0) loss -= tc * (logits[c]! - lse);
          const r = Math.exp(logits[c]! - lse) - tc;
          const wo = c * p;
          for (let d = 0; d < dim; d++) g[wo + d]! += r * z[zo + d]!;
          g[wo + dim]! += r;
        }
      } else {
        for (let c = 0; c < k; c++) {
          const tc = t[i * k + c]!;
          const l = logits[c]!;
          // log(1 + e^l) - t l, computed stably.
          loss += (l > 0 ? l + Math.log1p(Math.exp(-l)) : Math.log1p(Math.exp(l))) - tc * l;
          const r = sigmoid(l) - tc;
          const wo = c * p;
          for (let d = 0; d < dim; d++) g[wo + d]! += r * z[zo + d]!;
          g[wo + dim]! += r;
        }
      }
    }
    loss /= Math.max(1, n);
    for (let j = 0; j < g.length; j++) g[j]! /= Math.max(1, n);
    for (let c = 0; c < k; c++) {
      for (let d = 0; d < dim; d++) {
        const wv = w[c * p + d]!;
        loss += 0.5 * lambda * wv * wv;
        g[c * p + d]! += lambda * wv;
      }
    }
    return loss;
  };
  const w = warm && warm.k === k && warm.dim === dim && warm.mode === mode ? Float64Array.from(warm.w) : new Float64Array(k * p);
  lbfgs(f, w, maxIter);
  return { mode, k, dim, w, mean: stats.mean, std: stats.std };
}

/** Probabilities (count × K) for the given rows (all rows when `rows` is omitted). */
export function predictAdapter(x: Rows, a: Adapter, rows?: Int32Array): Float32Array {
  const { dim } = x;
  const { k } = a;
  const p = dim + 1;
  // Fold the standardisation into the weights: w·((x-μ)/σ) + b = (w/σ)·x + (b - Σ w μ/σ).
  const wf = new Float32Array(k * dim);
  const bias = new Float64Array(k);
  for (let c = 0; c < k; c++) {
    let b = a.w[c * p + dim]!;
    for (let d = 0; d < dim; d++) {
      const v = a.w[c * p + d]! / a.std[d]!;
      wf[c * dim + d] = v;
      b -= v * a.mean[d]!;
    }
    bias[c] = b;
  }
  const count = rows ? rows.length : x.n;
  const out = new Float32Array(count * k);
  const logit = new Float64Array(k);
  for (let i = 0; i < count; i++) {
    const o = (rows ? rows[i]! : i) * dim;
    for (let c = 0; c < k; c++) {
      const wo = c * dim;
      let s = 0;
      for (let d = 0; d < dim; d++) s += wf[wo + d]! * x.data[o + d]!;
      logit[c] = s + bias[c]!;
    }
    if (a.mode === 'softmax') {
      softmaxInPlace(logit, 0, k);
      for (let c = 0; c < k; c++) out[i * k + c] = logit[c]!;
    } else {
      for (let c = 0; c < k; c++) out[i * k + c] = sigmoid(logit[c]!);
    }
  }
  return out;
}

/** Fold of each labelled position for k-fold cross-validation: stratified round-robin by class, deterministic. */
export function foldsOf(set: LabelledSet, k: number, folds: number): Int32Array {
  const n = set.index.length;
  const out = new Int32Array(n);
  const counters = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    let cls = 0;
    for (let c = 0; c < k; c++) if (set.targets[i * k + c]! > 0) { cls = c; break; }
    const seen = counters.get(cls) ?? 0;
    counters.set(cls, seen + 1);
    out[i] = (seen + cls) % folds;
  }
  return out;
}

/** Out-of-fold adapter probabilities for the labelled rows (n × K). */
export function adapterOutOfFold(x: Rows, set: LabelledSet, k: number, mode: Mode, stats: { mean: Float64Array; std: Float64Array }, folds = 5, warm?: Adapter | null): Float32Array {
  const n = set.index.length;
  const fold = foldsOf(set, k, folds);
  const out = new Float32Array(n * k);
  for (let f = 0; f < folds; f++) {
    const trainPos: number[] = [];
    const testPos: number[] = [];
    for (let i = 0; i < n; i++) (fold[i] === f ? testPos : trainPos).push(i);
    if (testPos.length === 0 || trainPos.length === 0) continue;
    const train: LabelledSet = {
      index: Int32Array.from(trainPos, (i) => set.index[i]!),
      targets: new Float32Array(trainPos.length * k),
    };
    trainPos.forEach((i, j) => train.targets.set(set.targets.subarray(i * k, (i + 1) * k), j * k));
    const m = trainAdapter(x, train, k, mode, stats, warm, 60);
    const p = predictAdapter(x, m, Int32Array.from(testPos, (i) => set.index[i]!));
    testPos.forEach((i, j) => out.set(p.subarray(j * k, (j + 1) * k), i * k));
  }
  return out;
}
