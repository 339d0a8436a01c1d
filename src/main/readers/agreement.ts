// Agreement statistics for reader studies, pure functions over a ratings matrix (rows: items, columns: readers,
// a cell: the category the reader chose, or null where that reader has not read the item).
//
// Every statistic returns { value, n, note }: value is null (never NaN) when the statistic is undefined for the
// data, and note says why in words a reader of the report understands ("every read is 'normal'"). Definitions:
// - Cohen's kappa (two readers, items both read): 1 − Σ w·O / Σ w·E with O the observed joint proportions, E the
//   product of the two readers' marginals, w the disagreement weights (0 on the diagonal; 1, |i−j| or (i−j)²
//   off it). The same formula as scikit-learn's cohen_kappa_score; with weights, the category order matters.
// - Fleiss' kappa (any number of readers, the items every reader read): (P̄ − P̄e) / (1 − P̄e) as in Fleiss 1971
//   and statsmodels' fleiss_kappa.
// - Krippendorff's alpha: 1 − D_o / D_e from the coincidence matrix (Krippendorff 2011), which uses every
//   pairable value: an item read by only some readers still counts, an item read once does not.
// - Bootstrap CIs resample items with replacement (seeded), percentile method.
import { mulberry32 } from '../../shared/random.ts';

export type Rating = string | null;
export type Weights = 'none' | 'linear' | 'quadratic';
export type AlphaLevel = 'nominal' | 'ordinal' | 'interval';

export interface Stat {
  value: number | null;
  /** Items the statistic used. */
  n: number;
  /** Why value is null (or a caveat about it); null when there is nothing to say. */
  note: string | null;
}

export interface Interval {
  low: number | null;
  high: number | null;
  /** Resamples drawn, and how many of them gave a defined value (the interval uses only those). */
  resamples: number;
  valid: number;
  seed: number;
}

export type StatWithCI = Stat & { ci: Interval };

function indexer(categories: readonly string[]): (v: string) => number {
  const at = new Map(categories.map((c, i) => [c, i]));
  if (at.size !== categories.length) throw new Error(`agreement: categories must be distinct (got ${categories.join(', ')})`);
  return (v) => {
    const i = at.get(v);
    if (i === undefined) throw new Error(`agreement: "${v}" is not one of the categories (${categories.join(', ')})`);
    return i;
  };
}

function weight(kind: Weights, i: number, j: number): number {
  if (kind === 'none') return i === j ? 0 : 1;
  const d = Math.abs(i - j);
  return kind === 'linear' ? d : d * d;
}

/** Items both readers read, as category indices. */
function pairs(a: readonly Rating[], b: readonly Rating[], categories: readonly string[]): [number, number][] {
  if (a.length !== b.length) throw new Error(`agreement: the two readers' ratings must have one entry per item (${a.length} vs ${b.length})`);
  const idx = indexer(categories);
  const out: [number, number][] = [];
  for (let i = 0; i < a.length; i++) {
    const x = a[i], y = b[i];
    if (x != null && y != null) out.push([idx(x), idx(y)]);
  }
  return out;
}

const onlyCategory = (categories: readonly string[], used: Iterable<number>): string => {
  const names = [...new Set(used)].map((i) => `'${categories[i]}'`);
  return names.length === 1 ? `every read is ${names[0]}` : `reads use only ${names.join(', ')}`;
};

/** Confusion matrix of two readers over the items both read: rows are reader a's category, columns reader b's. */
export function confusionMatrix(a: readonly Rating[], b: readonly Rating[], categories: readonly string[]): number[][] {
  const m = categories.map(() => categories.map(() => 0));
  for (const [i, j] of pairs(a, b, categories)) m[i]![j]!++;
  return m;
}

/** Share of the items both readers read on which they chose the same category. */
export function percentAgreement(a: readonly Rating[], b: readonly Rating[], categories: readonly string[]): Stat {
  const p = pairs(a, b, categories);
  if (p.length === 0) return { value: null, n: 0, note: 'no item was read by both readers' };
  return { value: p.filter(([i, j]) => i === j).length / p.length, n: p.length, note: null };
}

export function cohenKappa(a: readonly Rating[], b: readonly Rating[], categories: readonly string[], weights: Weights = 'none'): Stat {
  const p = pairs(a, b, categories);
  const n = p.length;
  if (n === 0) return { value: null, n, note: 'no item was read by both readers' };
  const k = categories.length;
  const ma = new Array<number>(k).fill(0), mb = new Array<number>(k).fill(0);
  let observed = 0;
  for (const [i, j] of p) {
    ma[i]!++;
    mb[j]!++;
    observed += weight(weights, i, j);
  }
  let expected = 0;
  for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) expected += weight(weights, i, j) * ma[i]! * mb[j]!;
  expected /= n;
  // Σ w·E is zero only when both readers put every item in one and the same category: no variation to agree on.
  if (expected === 0) return { value: null, n, note: `kappa is undefined: ${onlyCategory(categories, p.flat())}` };
  return { value: 1 - observed / expected, n, note: null };
}

/** Ratings as rows per item, columns per reader. */
export type RatingMatrix = readonly (readonly Rating[])[];

export function fleissKappa(ratings: RatingMatrix, categories: readonly string[]): Stat & { readers: number } {
  const idx = indexer(categories);
  const readers = ratings[0]?.length ?? 0;
  if (readers < 2) return { value: null, n: 0, readers, note: 'Fleiss\' kappa needs at least two readers' };
  // Fleiss' kappa assumes the same number of reads per item: it uses the items every reader read.
  const complete = ratings.filter((row) => row.length === readers && row.every((v) => v != null)) as (readonly string[])[];
  const n = complete.length;
  const skipped = ratings.length - n;
  const caveat = skipped > 0 ? `${skipped} item(s) not read by every reader left out` : null;
  if (n === 0) return { value: null, n, readers, note: 'no item was read by every reader' };
  const totals = new Array<number>(categories.length).fill(0);
  let pBar = 0;
  for (const row of complete) {
    const counts = new Array<number>(categories.length).fill(0);
    for (const v of row) counts[idx(v)]!++;
    let same = 0;
    counts.forEach((c, j) => { same += c * (c - 1); totals[j]! += c; });
    pBar += same / (readers * (readers - 1));
  }
  pBar /= n;
  const pe = totals.reduce((s, t) => s + (t / (n * readers)) ** 2, 0);
  if (pe === 1) {
    const used = totals.flatMap((t, j) => (t > 0 ? [j] : []));
    return { value: null, n, readers, note: `Fleiss' kappa is undefined: ${onlyCategory(categories, used)}` };
  }
  return { value: (pBar - pe) / (1 - pe), n, readers, note: caveat };
}

/**
 * Krippendorff's alpha. Categories are in their order for 'ordinal'; for 'interval' each category's value is
 * `values[i]` (default: its position, i.e. equally spaced).
 */
export function krippendorffAlpha(ratings: RatingMatrix, categories: readonly string[], level: AlphaLevel = 'nominal', values?: readonly number[]): Stat {
  const idx = indexer(categories);
  const k = categories.length;
  if (values && values.length !== k) throw new Error(`agreement: interval values must give one number per category (${values.length} vs ${k})`);
  const o = categories.map(() => new Array<number>(k).fill(0));
  let units = 0;
  for (const row of ratings) {
    const vals = row.filter((v): v is string => v != null).map(idx);
    const m = vals.length;
    if (m < 2) continue; // a value nobody else gave for the item cannot be paired
    units++;
    for (let a = 0; a < m; a++) for (let b = 0; b < m; b++) if (a !== b) o[vals[a]!]![vals[b]!]! += 1 / (m - 1);
  }
  const nc = o.map((r) => r.reduce((s, x) => s + x, 0));
  const total = nc.reduce((s, x) => s + x, 0);
  if (units === 0) return { value: null, n: 0, note: 'no item was read by two or more readers' };
  const x = values ?? categories.map((_, i) => i);
  const delta2 = (c: number, d: number): number => {
    if (c === d) return 0;
    if (level === 'nominal') return 1;
    if (level === 'interval') return (x[c]! - x[d]!) ** 2;
    const [lo, hi] = c < d ? [c, d] : [d, c];
    let s = 0;
    for (let g = lo; g <= hi; g++) s += nc[g]!;
    return (s - (nc[c]! + nc[d]!) / 2) ** 2;
  };
  let dO = 0, dE = 0;
  for (let c = 0; c < k; c++) {
    for (let d = 0; d < k; d++) {
      const w = delta2(c, d);
      dO += o[c]![d]! * w;
      dE += nc[c]! * nc[d]! * w;
    }
  }
  if (dE === 0) {
    const used = nc.flatMap((v, j) => (v > 0 ? [j] : []));
    return { value: null, n: units, note: `alpha is undefined: ${onlyCategory(categories, used)}` };
  }
  return { value: 1 - ((total - 1) * dO) / dE, n: units, note: null };
}

/** Type-7 (linear interpolation) quantile of sorted values, as numpy's default. */
function quantile(sorted: readonly number[], q: number): number {
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}

export interface BootstrapOptions {
  seed?: number;
  resamples?: number;
  /** Coverage of the interval (default 0.95). */
  level?: number;
}

/**
 * Percentile bootstrap interval of `statistic` over `items`, resampling items with replacement. A resample whose
 * statistic is undefined (e.g. one category only) is left out of the interval and counted as not valid.
 */
export function bootstrapInterval<T>(items: readonly T[], statistic: (sample: readonly T[]) => number | null, options: BootstrapOptions = {}): Interval {
  const seed = options.seed ?? 1, resamples = options.resamples ?? 1000, level = options.level ?? 0.95;
  if (!Number.isInteger(resamples) || resamples < 1) throw new Error(`agreement: resamples must be a positive integer (got ${resamples})`);
  if (!(level > 0 && level < 1)) throw new Error(`agreement: level must be between 0 and 1 (got ${level})`);
  const random = mulberry32(seed);
  const got: number[] = [];
  const n = items.length;
  const sample = new Array<T>(n);
  for (let r = 0; r < (n === 0 ? 0 : resamples); r++) {
    for (let i = 0; i < n; i++) sample[i] = items[Math.floor(random() * n)]!;
    const v = statistic(sample);
    if (v !== null && Number.isFinite(v)) got.push(v);
  }
  got.sort((p, q) => p - q);
  if (got.length === 0) return { low: null, high: null, resamples, valid: 0, seed };
  const tail = (1 - level) / 2;
  return { low: quantile(got, tail), high: quantile(got, 1 - tail), resamples, valid: got.length, seed };
}

/** A statistic over a ratings matrix with its bootstrap interval (items resampled as whole rows). */
export function withInterval(ratings: RatingMatrix, statistic: (rows: RatingMatrix) => Stat, options: BootstrapOptions = {}): StatWithCI {
  const point = statistic(ratings);
  const ci = point.value === null
    ? { low: null, high: null, resamples: 0, valid: 0, seed: options.seed ?? 1 }
    : bootstrapInterval(ratings, (rows) => statistic(rows).value, options);
  const shaky = ci.valid < ci.resamples ? `${ci.resamples - ci.valid} of ${ci.resamples} resamples undefined` : null;
  return { ...point, note: [point.note, shaky].filter(Boolean).join('; ') || null, ci };
}
