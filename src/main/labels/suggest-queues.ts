// Queue ranking over suggestion probabilities: most uncertain first (with diversity), most confident first, and
// likely label errors by confident learning.
import type { LabelledSet, Mode, Rows } from './suggest-math.ts';

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

/** The class an item is suggested as: its top class (softmax), or its most probable label (sigmoid). */
function predictedClass(probs: Float32Array, i: number, k: number): number {
  let best = 0;
  for (let c = 1; c < k; c++) if (probs[i * k + c]! > probs[i * k + best]!) best = c;
  return best;
}

/**
 * Most uncertain first, with diversity: from the `pool` most uncertain candidates, a greedy maximal-marginal-
 * relevance pick (uncertainty minus `lambda` × similarity to what is already picked) so that the head of the queue
 * is not ten near-copies of one case; the rest follow in uncertainty order. The first picks also go round the
 * predicted classes (the most uncertain items suggested as each class join the pool), `perClass` each, so that
 * every label the suggestions name gets examples early — a label nobody has seen an example of cannot be learned.
 */
export function uncertainQueue(x: Rows, probs: Float32Array, k: number, mode: Mode, candidates: Int32Array, limit = 5000, pool = 400, pick = 100, lambda = 0.5, perClass = 2): { order: Int32Array; score: Float32Array } {
  const cert = new Float32Array(candidates.length);
  for (let j = 0; j < candidates.length; j++) cert[j] = certainty(probs, candidates[j]!, k, mode);
  const byCert = smallest(cert, limit);
  const cls = Int32Array.from(byCert, (j) => predictedClass(probs, candidates[j]!, k));
  // The pool: the most uncertain overall, and the most uncertain few of every predicted class.
  const head: number[] = [];
  const perClassSeen = new Int32Array(k);
  byCert.forEach((j, r) => {
    const c = cls[r]!;
    if (r < pool || perClassSeen[c]! < perClass) head.push(j);
    perClassSeen[c]! += 1;
  });
  const headCls = Int32Array.from(head, (j) => predictedClass(probs, candidates[j]!, k));
  const { dim } = x;
  const maxSim = new Float64Array(head.length);
  const taken = new Uint8Array(head.length);
  const picks = new Int32Array(k);
  const left = new Int32Array(k);
  for (const c of headCls) left[c]! += 1;
  const picked: number[] = [];
  for (let r = 0; r < Math.min(pick, head.length); r++) {
    // Round the classes first: the class with the fewest picks that still has candidates, until each has perClass.
    let want = -1;
    for (let c = 0; c < k; c++) if (left[c]! > 0 && picks[c]! < perClass && (want < 0 || picks[c]! < picks[want]!)) want = c;
    let best = -1;
    let bestScore = -Infinity;
    for (let h = 0; h < head.length; h++) {
      if (taken[h] || (want >= 0 && headCls[h] !== want)) continue;
      const s = (1 - cert[head[h]!]!) - lambda * maxSim[h]!;
      if (s > bestScore) { bestScore = s; best = h; }
    }
    if (best < 0) break;
    taken[best] = 1;
    picks[headCls[best]!]! += 1;
    left[headCls[best]!]! -= 1;
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
  const pickedSet = new Set(picked);
  const rest = byCert.filter((j) => !pickedSet.has(j));
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
