// Zero-shot suggestions: cosine scores of item rows against the model's text-embedding head, calibrated by a
// temperature (single-choice) or per-label Platt scaling (multi-label) once there are labels to calibrate on.
import { trainAdapter } from './logistic-adapter.ts';
import type { LabelledSet, Mode, Rows } from './suggest-math.ts';
import { columnStats, sigmoid, softmaxInPlace } from './suggest-math.ts';

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
