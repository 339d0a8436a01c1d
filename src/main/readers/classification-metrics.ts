// Classification figures against a reference, pure: proportions with Wilson 95 % intervals, one-vs-rest ROC curves
// and AUC (the Mann–Whitney statistic with ties counted half: scikit-learn's roc_auc_score), macro AUC with a
// percentile bootstrap interval over items. `ref` and `pred` are category indices (pred −1: no answer, always wrong).
import { mulberry32 } from '../../shared/random.ts';

export interface Prop { value: number | null; k: number; n: number; low: number | null; high: number | null }

/** Wilson score interval at 95 % (z = 1.96). */
export function proportion(k: number, n: number): Prop {
  if (n === 0) return { value: null, k, n, low: null, high: null };
  const z = 1.959963984540054;
  const p = k / n;
  const d = 1 + (z * z) / n;
  const centre = (p + (z * z) / (2 * n)) / d;
  const half = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / d;
  return { value: p, k, n, low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}

export function accuracyOf(ref: ArrayLike<number>, pred: ArrayLike<number>): Prop {
  let k = 0;
  for (let i = 0; i < ref.length; i++) if (ref[i] === pred[i]) k++;
  return proportion(k, ref.length);
}

/** Sensitivity (recall of c) and specificity (share of non-c items not called c). */
export function sensSpec(ref: ArrayLike<number>, pred: ArrayLike<number>, c: number): { sensitivity: Prop; specificity: Prop; positives: number } {
  let tp = 0, pos = 0, tn = 0, neg = 0;
  for (let i = 0; i < ref.length; i++) {
    if (ref[i] === c) { pos++; if (pred[i] === c) tp++; } else { neg++; if (pred[i] !== c) tn++; }
  }
  return { sensitivity: proportion(tp, pos), specificity: proportion(tn, neg), positives: pos };
}

/** AUC of `score` for the positives (`positive[i]`); null without both positives and negatives. */
export function auc(score: ArrayLike<number>, positive: ArrayLike<boolean>): number | null {
  const n = score.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => score[a]! - score[b]!);
  let rankSum = 0, pos = 0;
  for (let i = 0; i < n;) {
    let j = i;
    while (j + 1 < n && score[order[j + 1]!] === score[order[i]!]) j++;
    const rank = (i + j) / 2 + 1;
    for (let t = i; t <= j; t++) if (positive[order[t]!]) { rankSum += rank; pos++; }
    i = j + 1;
  }
  const neg = n - pos;
  if (pos === 0 || neg === 0) return null;
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * neg);
}

/** ROC points (fpr, tpr) at every distinct threshold, from (0, 0): scikit-learn's roc_curve(drop_intermediate=False). */
export function rocCurve(score: ArrayLike<number>, positive: ArrayLike<boolean>): { fpr: number[]; tpr: number[] } {
  const n = score.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => score[b]! - score[a]!);
  let P = 0;
  for (let i = 0; i < n; i++) if (positive[i]) P++;
  const N = n - P;
  const fpr = [0], tpr = [0];
  let tp = 0, fp = 0;
  for (let i = 0; i < n;) {
    let j = i;
    while (j + 1 < n && score[order[j + 1]!] === score[order[i]!]) j++;
    for (let t = i; t <= j; t++) if (positive[order[t]!]) tp++; else fp++;
    fpr.push(N === 0 ? 0 : fp / N);
    tpr.push(P === 0 ? 0 : tp / P);
    i = j + 1;
  }
  return { fpr, tpr };
}

/** probs: n × k. Macro one-vs-rest AUC over the categories present as positive and negative. */
export function macroAuc(ref: ArrayLike<number>, probs: ArrayLike<number>, k: number, rows?: ArrayLike<number>): { value: number | null; classes: number } {
  const idx = rows ?? Array.from({ length: ref.length }, (_, i) => i);
  const m = idx.length;
  let sum = 0, classes = 0;
  const score = new Float64Array(m);
  const positive = new Array<boolean>(m);
  for (let c = 0; c < k; c++) {
    for (let t = 0; t < m; t++) {
      const i = idx[t]!;
      score[t] = probs[i * k + c]!;
      positive[t] = ref[i] === c;
    }
    const a = auc(score, positive);
    if (a !== null) { sum += a; classes++; }
  }
  return { value: classes === 0 ? null : sum / classes, classes };
}

/** Percentile bootstrap interval of the macro AUC (items resampled with replacement, seeded). */
export function macroAucInterval(ref: ArrayLike<number>, probs: ArrayLike<number>, k: number, resamples: number, seed: number): { low: number | null; high: number | null; valid: number } {
  const random = mulberry32(seed);
  const n = ref.length;
  const values: number[] = [];
  const rows = new Int32Array(n);
  for (let b = 0; b < resamples; b++) {
    for (let t = 0; t < n; t++) rows[t] = Math.floor(random() * n);
    const v = macroAuc(ref, probs, k, rows).value;
    if (v !== null) values.push(v);
  }
  if (values.length === 0) return { low: null, high: null, valid: 0 };
  values.sort((a, b) => a - b);
  const q = (p: number): number => {
    const h = (values.length - 1) * p;
    const lo = Math.floor(h);
    return values[lo]! + (h - lo) * ((values[Math.min(lo + 1, values.length - 1)] ?? values[lo]!) - values[lo]!);
  };
  return { low: q(0.025), high: q(0.975), valid: values.length };
}
