// The numbers behind label suggestions, as pure functions over Float32Array matrices (rows of unit-length
// embeddings): zero-shot scores against a text-embedding head with calibration, kNN votes for tiny label counts,
// L2-regularised logistic-regression adapters (softmax for single-choice groups, per-label sigmoid for multi-label
// groups) trained with L-BFGS, out-of-fold predictions for cross-validation and label-error detection, and queue
// ranking (uncertainty with diversity, confidence, confident-learning label errors).
// No I/O and no threads here: suggest-worker.ts runs these off the main thread.

export type Mode = 'softmax' | 'sigmoid';

/** n rows of `dim` values. */
export interface Rows { data: Float32Array; n: number; dim: number }

export interface LabelledSet {
  /** Row indexes (into the level's item matrix) of the labelled items. */
  index: Int32Array;
  /** n × K targets: one-hot (softmax) or 0/1 per label (sigmoid). */
  targets: Float32Array;
}

// ---------- small helpers ----------

function softmaxInPlace(v: Float64Array | Float32Array, off: number, k: number): void {
  let max = -Infinity;
  for (let j = 0; j < k; j++) max = Math.max(max, v[off + j]!);
  if (max === -Infinity) { for (let j = 0; j < k; j++) v[off + j] = 1 / k; return; }
  let sum = 0;
  for (let j = 0; j < k; j++) { const e = Math.exp(v[off + j]! - max); v[off + j] = e; sum += e; }
  for (let j = 0; j < k; j++) v[off + j]! /= sum;
}

const sigmoid = (z: number): number => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));

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

// ---------- L-BFGS ----------

/** Minimises f (which writes its gradient into g) from w, in place; returns the final value. */
export function lbfgs(f: (w: Float64Array, g: Float64Array) => number, w: Float64Array, maxIter = 60, memory = 7, tol = 1e-6): number {
  const n = w.length;
  const g = new Float64Array(n);
  let fx = f(w, g);
  const s: Float64Array[] = [];
  const y: Float64Array[] = [];
  const rho: number[] = [];
  const dir = new Float64Array(n);
  const alpha = new Float64Array(memory);
  const wNew = new Float64Array(n);
  const gNew = new Float64Array(n);
  for (let it = 0; it < maxIter; it++) {
    let gnorm = 0;
    for (let i = 0; i < n; i++) gnorm += g[i]! * g[i]!;
    gnorm = Math.sqrt(gnorm);
    if (gnorm < tol) break;
    // Two-loop recursion: dir = -H g.
    for (let i = 0; i < n; i++) dir[i] = -g[i]!;
    for (let k = s.length - 1; k >= 0; k--) {
      let a = 0;
      for (let i = 0; i < n; i++) a += s[k]![i]! * dir[i]!;
      a *= rho[k]!;
      alpha[k] = a;
      for (let i = 0; i < n; i++) dir[i]! -= a * y[k]![i]!;
    }
    if (s.length > 0) {
      const last = s.length - 1;
      let sy = 0;
      let yy = 0;
      for (let i = 0; i < n; i++) { sy += s[last]![i]! * y[last]![i]!; yy += y[last]![i]! * y[last]![i]!; }
      const scale = sy / yy;
      for (let i = 0; i < n; i++) dir[i]! *= scale;
    } else {
      for (let i = 0; i < n; i++) dir[i]! /= Math.max(1, gnorm);
    }
    for (let k = 0; k < s.length; k++) {
      let b = 0;
      for (let i = 0; i < n; i++) b += y[k]![i]! * dir[i]!;
      b *= rho[k]!;
      for (let i = 0; i < n; i++) dir[i]! += s[k]![i]! * (alpha[k]! - b);
    }
    let slope = 0;
    for (let i = 0; i < n; i++) slope += g[i]! * dir[i]!;
    if (slope >= 0) { for (let i = 0; i < n; i++) dir[i] = -g[i]!; slope = -gnorm * gnorm; s.length = 0; y.length = 0; rho.length = 0; }
    // Backtracking line search (Armijo).
    let step = 1;
    let fNew = Infinity;
    for (let tries = 0; tries < 30; tries++) {
      for (let i = 0; i < n; i++) wNew[i] = w[i]! + step * dir[i]!;
      fNew = f(wNew, gNew);
      if (fNew <= fx + 1e-4 * step * slope) break;
      step *= 0.5;
    }
    if (!(fNew < fx)) break;
    const sk = new Float64Array(n);
    const yk = new Float64Array(n);
    let sy = 0;
    for (let i = 0; i < n; i++) { sk[i] = wNew[i]! - w[i]!; yk[i] = gNew[i]! - g[i]!; sy += sk[i]! * yk[i]!; }
    const improvement = fx - fNew;
    w.set(wNew);
    g.set(gNew);
    fx = fNew;
    if (sy > 1e-12) {
      s.push(sk); y.push(yk); rho.push(1 / sy);
      if (s.length > memory) { s.shift(); y.shift(); rho.shift(); }
    }
    if (improvement < tol * Math.max(1, Math.abs(fx))) break;
  }
  return fx;
}

// ---------- logistic adapters ----------

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

// ---------- zero-shot ----------

/**
 * Cosine similarity × logit scale of every row against the head's rows (count × K); labels without a head row
 * (`headRow[c] < 0`) get -Infinity (they cannot be suggested zero-shot).
 */
export function zeroShotLogits(x: Rows, head: Float32Array, headRow: Int32Array, logitScale: number): Float32Array {
  const { n, dim } = x;
  const k = headRow.length;
  const h = new Float32Array(k * dim);
  for (let c = 0; c < k; c++) {
    const r = headRow[c]!;
    if (r < 0) continue;
    let norm = 0;
    for (let d = 0; d < dim; d++) norm += head[r * dim + d]! ** 2;
    norm = Math.sqrt(norm) || 1;
    for (let d = 0; d < dim; d++) h[c * dim + d] = head[r * dim + d]! / norm;
  }
  const out = new Float32Array(n * k);
  for (let i = 0; i < n; i++) {
    const o = i * dim;
    for (let c = 0; c < k; c++) {
      if (headRow[c]! < 0) { out[i * k + c] = -Infinity; continue; }
      let s = 0;
      for (let d = 0; d < dim; d++) s += h[c * dim + d]! * x.data[o + d]!;
      out[i * k + c] = s * logitScale;
    }
  }
  return out;
}

/** How zero-shot logits become probabilities: a temperature (softmax) or per-label Platt scaling (sigmoid). */
export interface ZeroShotCalibration { mode: Mode; temperature: number; a: Float64Array; b: Float64Array }

/**
 * Calibration from the labelled rows when there are enough of them; otherwise the package's own scale
 * (softmax) or a per-label threshold at the 80th percentile of its scores (sigmoid: assumes the label is
 * present in about a fifth of the items until labels say otherwise).
 */
export function calibrateZeroShot(logits: Float32Array, n: number, k: number, mode: Mode, set: LabelledSet | null): ZeroShotCalibration {
  const a = new Float64Array(k).fill(1);
  const b = new Float64Array(k);
  let temperature = 1;
  const labelled = set ? set.index.length : 0;
  if (mode === 'softmax') {
    if (set && labelled >= 8) {
      const nll = (tt: number): number => {
        let loss = 0;
        const v = new Float64Array(k);
        for (let i = 0; i < labelled; i++) {
          const o = set.index[i]! * k;
          for (let c = 0; c < k; c++) v[c] = logits[o + c]! / tt;
          softmaxInPlace(v, 0, k);
          for (let c = 0; c < k; c++) if (set.targets[i * k + c]! > 0) loss -= Math.log(Math.max(v[c]!, 1e-12));
        }
        return loss;
      };
      // Golden-section search on log T over [1/20, 20].
      let lo = Math.log(0.05);
      let hi = Math.log(20);
      const phi = (Math.sqrt(5) - 1) / 2;
      let c1 = hi - phi * (hi - lo);
      let c2 = lo + phi * (hi - lo);
      let f1 = nll(Math.exp(c1));
      let f2 = nll(Math.exp(c2));
      for (let it = 0; it < 30; it++) {
        if (f1 < f2) { hi = c2; c2 = c1; f2 = f1; c1 = hi - phi * (hi - lo); f1 = nll(Math.exp(c1)); }
        else { lo = c1; c1 = c2; f1 = f2; c2 = lo + phi * (hi - lo); f2 = nll(Math.exp(c2)); }
      }
      temperature = Math.exp((lo + hi) / 2);
    }
    return { mode, temperature, a, b };
  }
  for (let c = 0; c < k; c++) {
    const col = new Float32Array(n);
    for (let i = 0; i < n; i++) col[i] = logits[i * k + c]!;
    if (!Number.isFinite(col[0] ?? -Infinity)) { b[c] = 0; continue; }
    col.sort();
    b[c] = -(col[Math.min(n - 1, Math.floor(0.8 * n))] ?? 0);
    if (set && labelled >= 8) {
      let pos = 0;
      for (let i = 0; i < labelled; i++) pos += set.targets[i * k + c]! > 0 ? 1 : 0;
      if (pos === 0 || pos === labelled) continue;
      // Platt scaling: a one-feature logistic regression of the label on the score.
      const idx = new Int32Array(labelled).map((_, i) => i);
      const feat: Rows = { data: new Float32Array(labelled), n: labelled, dim: 1 };
      for (let i = 0; i < labelled; i++) feat.data[i] = logits[set.index[i]! * k + c]!;
      const t = new Float32Array(labelled);
      for (let i = 0; i < labelled; i++) t[i] = set.targets[i * k + c]!;
      const st = columnStats(feat);
      const m = trainAdapter(feat, { index: idx, targets: t }, 1, 'sigmoid', st, null, 40);
      a[c] = m.w[0]! / st.std[0]!;
      b[c] = m.w[1]! - (m.w[0]! * st.mean[0]!) / st.std[0]!;
    }
  }
  return { mode, temperature, a, b };
}

export function applyZeroShot(logits: Float32Array, n: number, k: number, cal: ZeroShotCalibration, rows?: Int32Array): Float32Array {
  const count = rows ? rows.length : n;
  const out = new Float32Array(count * k);
  const v = new Float64Array(k);
  for (let i = 0; i < count; i++) {
    const o = (rows ? rows[i]! : i) * k;
    if (cal.mode === 'softmax') {
      for (let c = 0; c < k; c++) v[c] = logits[o + c]! / cal.temperature;
      softmaxInPlace(v, 0, k);
      for (let c = 0; c < k; c++) out[i * k + c] = v[c]!;
    } else {
      for (let c = 0; c < k; c++) {
        const l = logits[o + c]!;
        out[i * k + c] = Number.isFinite(l) ? sigmoid(cal.a[c]! * l + cal.b[c]!) : 0;
      }
    }
  }
  return out;
}

// ---------- kNN ----------

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

// ---------- evaluation ----------

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

// ---------- queues ----------

/**
 * Positions (into `keys`) of the `limit` smallest keys, in ascending order. A native sort of a typed copy finds
 * the cut-off, so only what makes the cut is sorted with a comparator (100k candidates → a 5k sort).
 */
export function smallest(keys: Float32Array, limit: number): number[] {
  if (keys.length === 0 || limit <= 0) return [];
  const cut = Float32Array.from(keys).sort()[Math.min(keys.length, limit) - 1]!;
  const picked: number[] = [];
  for (let j = 0; j < keys.length; j++) if (keys[j]! <= cut) picked.push(j);
  return picked.sort((p, q) => keys[p]! - keys[q]! || p - q).slice(0, limit);
}

/** Top-1 minus top-2 probability (softmax), or how close the most borderline label is to 0.5 (sigmoid), in 0..1. */
export function certainty(probs: Float32Array, i: number, k: number, mode: Mode): number {
  const o = i * k;
  if (mode === 'softmax') {
    let a = 0;
    let b = 0;
    for (let c = 0; c < k; c++) {
      const v = probs[o + c]!;
      if (v > a) { b = a; a = v; } else if (v > b) b = v;
    }
    return a - b;
  }
  let m = 1;
  for (let c = 0; c < k; c++) m = Math.min(m, Math.abs(probs[o + c]! - 0.5) * 2);
  return m;
}

/**
 * Most uncertain first, with diversity: from the `pool` most uncertain candidates, a greedy maximal-marginal-
 * relevance pick (uncertainty minus `lambda` × similarity to what is already picked) so that the head of the queue
 * is not ten near-copies of one case; the rest follow in uncertainty order.
 */
export function uncertainQueue(x: Rows, probs: Float32Array, k: number, mode: Mode, candidates: Int32Array, limit = 5000, pool = 400, pick = 100, lambda = 0.5): { order: Int32Array; score: Float32Array } {
  const cert = new Float32Array(candidates.length);
  for (let j = 0; j < candidates.length; j++) cert[j] = certainty(probs, candidates[j]!, k, mode);
  const byCert = smallest(cert, limit);
  const head = byCert.slice(0, pool);
  const { dim } = x;
  const maxSim = new Float64Array(head.length);
  const taken = new Uint8Array(head.length);
  const picked: number[] = [];
  for (let r = 0; r < Math.min(pick, head.length); r++) {
    let best = -1;
    let bestScore = -Infinity;
    for (let h = 0; h < head.length; h++) {
      if (taken[h]) continue;
      const s = (1 - cert[head[h]!]!) - lambda * maxSim[h]!;
      if (s > bestScore) { bestScore = s; best = h; }
    }
    if (best < 0) break;
    taken[best] = 1;
    picked.push(head[best]!);
    const bo = candidates[head[best]!]! * dim;
    for (let h = 0; h < head.length; h++) {
      if (taken[h]) continue;
      const ho = candidates[head[h]!]! * dim;
      let s = 0;
      for (let d = 0; d < dim; d++) s += x.data[bo + d]! * x.data[ho + d]!;
      if (s > maxSim[h]!) maxSim[h] = s;
    }
  }
  const rest = byCert.filter((_, j) => j >= head.length || !taken[j]);
  const all = [...picked, ...rest];
  return { order: Int32Array.from(all, (j) => candidates[j]!), score: Float32Array.from(all, (j) => cert[j]!) };
}

/** Most confident first: the highest top probability (softmax) or the surest label decision (sigmoid). */
export function confidentQueue(probs: Float32Array, k: number, mode: Mode, candidates: Int32Array, limit = 5000): { order: Int32Array; score: Float32Array } {
  const conf = new Float32Array(candidates.length);
  for (let j = 0; j < candidates.length; j++) {
    const o = candidates[j]! * k;
    if (mode === 'softmax') {
      let m = 0;
      for (let c = 0; c < k; c++) m = Math.max(m, probs[o + c]!);
      conf[j] = m;
    } else conf[j] = certainty(probs, candidates[j]!, k, mode);
  }
  const order = smallest(conf.map((v) => -v), limit);
  return { order: Int32Array.from(order, (j) => candidates[j]!), score: Float32Array.from(order, (j) => conf[j]!) };
}

/**
 * Likely label errors by confident learning (Northcutt et al.): with per-class thresholds t_j = the mean
 * out-of-fold probability of class j over items labelled j, an item labelled y is suspect when p_y < t_y and
 * some other class j has p_j ≥ t_j; ranked by how much more the model believes j than y.
 * Returns positions into the labelled set, the contradicting class and the margin.
 */
export function labelErrors(oof: Float32Array, set: LabelledSet, k: number, mode: Mode): { position: Int32Array; cls: Int32Array; margin: Float32Array } {
  const n = set.index.length;
  const out: { position: number; cls: number; margin: number }[] = [];
  if (mode === 'softmax') {
    const sum = new Float64Array(k);
    const cnt = new Float64Array(k);
    const given = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      let y = 0;
      for (let c = 0; c < k; c++) if (set.targets[i * k + c]! > 0) y = c;
      given[i] = y;
      sum[y]! += oof[i * k + y]!;
      cnt[y]! += 1;
    }
    const thr = Float64Array.from(sum, (s, c) => (cnt[c]! > 0 ? s / cnt[c]! : 1));
    for (let i = 0; i < n; i++) {
      const y = given[i]!;
      if (oof[i * k + y]! >= thr[y]!) continue;
      let best = -1;
      for (let c = 0; c < k; c++) if (c !== y && oof[i * k + c]! >= thr[c]! && (best < 0 || oof[i * k + c]! > oof[i * k + best]!)) best = c;
      if (best >= 0) out.push({ position: i, cls: best, margin: oof[i * k + best]! - oof[i * k + y]! });
    }
  } else {
    // Per label: a label the reader set that the model strongly denies, or left out that it strongly asserts.
    for (let i = 0; i < n; i++) {
      let worst = -1;
      let margin = 0;
      for (let c = 0; c < k; c++) {
        const p = oof[i * k + c]!;
        const t = set.targets[i * k + c]!;
        const m = t > 0 ? 0.5 - p : p - 0.5;
        if (m > 0.35 && m > margin) { margin = m; worst = c; }
      }
      if (worst >= 0) out.push({ position: i, cls: worst, margin });
    }
  }
  out.sort((p, q) => q.margin - p.margin);
  return { position: Int32Array.from(out, (o) => o.position), cls: Int32Array.from(out, (o) => o.cls), margin: Float32Array.from(out, (o) => o.margin) };
}
