// The maths of the embedding map, pure and synchronous (the map worker runs it, never the API thread): item vectors
// pooled from image vectors, a randomized PCA fitted on a sample, placing points by their nearest fitted neighbours,
// and how well a layout keeps embedding-space neighbours together (for tests and bench:review).
import { mulberry32 } from '../../shared/random.ts';

/**
 * One unit vector per item: the normalised mean of the unit image vectors its CSR range names (`offsets` into
 * `rows`, store rows of `all`). Series and studies are pooled this way; an image is its own (or its frames') mean.
 */
export function poolItems(all: Float32Array, dim: number, offsets: Int32Array, rows: Int32Array): Float32Array {
  const n = offsets.length - 1;
  const out = new Float32Array(Math.max(0, n) * dim);
  for (let i = 0; i < n; i++) {
    const o = i * dim;
    for (let j = offsets[i]!; j < offsets[i + 1]!; j++) {
      const r = rows[j]! * dim;
      let norm = 0;
      for (let d = 0; d < dim; d++) norm += all[r + d]! * all[r + d]!;
      const s = norm > 0 ? 1 / Math.sqrt(norm) : 0;
      for (let d = 0; d < dim; d++) out[o + d]! += all[r + d]! * s;
    }
    normalize(out, o, dim);
  }
  return out;
}

function normalize(v: Float32Array, o: number, dim: number): void {
  let norm = 0;
  for (let d = 0; d < dim; d++) norm += v[o + d]! * v[o + d]!;
  if (norm === 0) return;
  const s = 1 / Math.sqrt(norm);
  for (let d = 0; d < dim; d++) v[o + d]! *= s;
}

/** `count` distinct indices of 0..n-1, sorted, the same for the same seed (all of them when count ≥ n). */
export function sampleIndices(n: number, count: number, seed: number): Int32Array {
  if (count >= n) return Int32Array.from({ length: n }, (_, i) => i);
  const rand = mulberry32(seed);
  const idx = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < count; i++) {
    const j = i + Math.floor(rand() * (n - i));
    const t = idx[i]!;
    idx[i] = idx[j]!;
    idx[j] = t;
  }
  return idx.slice(0, count).sort();
}

/** A linear map to `k` dimensions: x ↦ (x − mean) · basisᵀ, basis rows orthonormal (k × dim). */
export interface Pca { dim: number; k: number; mean: Float32Array; basis: Float32Array }

/** Gram–Schmidt on the columns of an (n × k) row-major matrix, in place; columns that vanish are left zero. */
function orthonormalizeColumns(m: Float64Array, n: number, k: number): void {
  for (let c = 0; c < k; c++) {
    for (let p = 0; p < c; p++) {
      let dot = 0;
      for (let i = 0; i < n; i++) dot += m[i * k + c]! * m[i * k + p]!;
      for (let i = 0; i < n; i++) m[i * k + c]! -= dot * m[i * k + p]!;
    }
    let norm = 0;
    for (let i = 0; i < n; i++) norm += m[i * k + c]! * m[i * k + c]!;
    const s = norm > 1e-20 ? 1 / Math.sqrt(norm) : 0;
    for (let i = 0; i < n; i++) m[i * k + c]! *= s;
  }
}

/**
 * Randomized PCA (Halko, Martinsson and Tropp's range finder with power iterations) of the rows `sample` of `x`:
 * the top `k` principal directions, without ever forming the dim × dim covariance (1024² would cost seconds).
 */
export function fitPca(x: Float32Array, dim: number, sample: Int32Array, k: number, seed: number): Pca {
  const n = sample.length;
  const kk = Math.max(1, Math.min(k, dim, n));
  const mean = new Float32Array(dim);
  for (const r of sample) for (let d = 0; d < dim; d++) mean[d]! += x[r * dim + d]!;
  for (let d = 0; d < dim; d++) mean[d]! /= Math.max(1, n);
  const a = new Float64Array(n * dim);
  sample.forEach((r, i) => { for (let d = 0; d < dim; d++) a[i * dim + d] = x[r * dim + d]! - mean[d]!; });
  const l = Math.min(dim, kk + 8);
  const rand = mulberry32(seed ^ 0x9e3779b9);
  // Ω: dim × l Gaussian-ish (sums of uniforms are close enough for a range finder).
  let omega = new Float64Array(dim * l);
  for (let i = 0; i < omega.length; i++) omega[i] = rand() + rand() + rand() - 1.5;
  const y = new Float64Array(n * l);
  const mul = (): void => { // y = A Ω
    y.fill(0);
    for (let i = 0; i < n; i++) for (let d = 0; d < dim; d++) {
      const v = a[i * dim + d]!;
      if (v === 0) continue;
      for (let c = 0; c < l; c++) y[i * l + c]! += v * omega[d * l + c]!;
    }
  };
  const mulT = (): void => { // Ω = Aᵀ y
    omega = new Float64Array(dim * l);
    for (let i = 0; i < n; i++) for (let d = 0; d < dim; d++) {
      const v = a[i * dim + d]!;
      if (v === 0) continue;
      for (let c = 0; c < l; c++) omega[d * l + c]! += v * y[i * l + c]!;
    }
  };
  mul();
  orthonormalizeColumns(y, n, l);
  for (let it = 0; it < 2; it++) {
    mulT();
    orthonormalizeColumns(omega, dim, l);
    mul();
    orthonormalizeColumns(y, n, l);
  }
  // B = Qᵀ A (l × dim); its top right singular vectors are the principal directions: eigenvectors of B Bᵀ (l × l).
  const b = new Float64Array(l * dim);
  for (let i = 0; i < n; i++) for (let c = 0; c < l; c++) {
    const q = y[i * l + c]!;
    if (q === 0) continue;
    for (let d = 0; d < dim; d++) b[c * dim + d]! += q * a[i * dim + d]!;
  }
  const g = new Float64Array(l * l);
  for (let p = 0; p < l; p++) for (let q = p; q < l; q++) {
    let s = 0;
    for (let d = 0; d < dim; d++) s += b[p * dim + d]! * b[q * dim + d]!;
    g[p * l + q] = s;
    g[q * l + p] = s;
  }
  const { vectors, values } = jacobiEigen(g, l);
  const order = Array.from({ length: l }, (_, i) => i).sort((p, q) => values[q]! - values[p]!).slice(0, kk);
  const basis = new Float32Array(kk * dim);
  order.forEach((e, row) => {
    // v = Bᵀ u / σ
    const sigma = Math.sqrt(Math.max(values[e]!, 0));
    if (sigma < 1e-12) return;
    for (let d = 0; d < dim; d++) {
      let s = 0;
      for (let c = 0; c < l; c++) s += b[c * dim + d]! * vectors[c * l + e]!;
      basis[row * dim + d] = s / sigma;
    }
  });
  return { dim, k: kk, mean, basis };
}

/** Eigenvalues and eigenvectors (columns) of a small symmetric matrix, by cyclic Jacobi rotations. */
function jacobiEigen(m: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  const a = Float64Array.from(m);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  for (let sweep = 0; sweep < 60; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p * n + q]! ** 2;
    if (off < 1e-22) break;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) {
      const apq = a[p * n + q]!;
      if (Math.abs(apq) < 1e-300) continue;
      const theta = (a[q * n + q]! - a[p * n + p]!) / (2 * apq);
      const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
      const c = 1 / Math.sqrt(t * t + 1);
      const s = t * c;
      for (let k = 0; k < n; k++) {
        const akp = a[k * n + p]!;
        const akq = a[k * n + q]!;
        a[k * n + p] = c * akp - s * akq;
        a[k * n + q] = s * akp + c * akq;
      }
      for (let k = 0; k < n; k++) {
        const apk = a[p * n + k]!;
        const aqk = a[q * n + k]!;
        a[p * n + k] = c * apk - s * aqk;
        a[q * n + k] = s * apk + c * aqk;
      }
      for (let k = 0; k < n; k++) {
        const vkp = v[k * n + p]!;
        const vkq = v[k * n + q]!;
        v[k * n + p] = c * vkp - s * vkq;
        v[k * n + q] = s * vkp + c * vkq;
      }
    }
  }
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = a[i * n + i]!;
  return { values, vectors: v };
}

/** Rows `from`..`to` of x (n × dim) through the PCA: (to − from) × k. */
export function projectRows(x: Float32Array, pca: Pca, from = 0, to = x.length / pca.dim): Float32Array {
  const { dim, k, mean, basis } = pca;
  const out = new Float32Array((to - from) * k);
  const centred = new Float32Array(dim);
  for (let i = from; i < to; i++) {
    for (let d = 0; d < dim; d++) centred[d] = x[i * dim + d]! - mean[d]!;
    for (let c = 0; c < k; c++) {
      let s = 0;
      const b = c * dim;
      for (let d = 0; d < dim; d++) s += centred[d]! * basis[b + d]!;
      out[(i - from) * k + c] = s;
    }
  }
  return out;
}

/**
 * Places rows `from`..`to` of `reduced` (n × k) at the distance-weighted mean of the map positions of their `kNear`
 * nearest fitted points (`fitted`: m × k, `coords`: m × 2). A point equal to a fitted one lands on it.
 */
export function placeByNeighbours(reduced: Float32Array, k: number, fitted: Float32Array, coords: Float32Array, from: number, to: number, kNear = 5): Float32Array {
  const m = fitted.length / k;
  const near = Math.min(kNear, m);
  const out = new Float32Array((to - from) * 2);
  const bestD = new Float64Array(near);
  const bestJ = new Int32Array(near);
  for (let i = from; i < to; i++) {
    bestD.fill(Infinity);
    bestJ.fill(-1);
    const o = i * k;
    for (let j = 0; j < m; j++) {
      let d2 = 0;
      const f = j * k;
      for (let c = 0; c < k; c++) { const t = reduced[o + c]! - fitted[f + c]!; d2 += t * t; }
      if (d2 >= bestD[near - 1]!) continue;
      let p = near - 1;
      while (p > 0 && bestD[p - 1]! > d2) { bestD[p] = bestD[p - 1]!; bestJ[p] = bestJ[p - 1]!; p--; }
      bestD[p] = d2;
      bestJ[p] = j;
    }
    let wx = 0;
    let wy = 0;
    let wt = 0;
    for (let p = 0; p < near; p++) {
      const j = bestJ[p]!;
      if (j < 0) continue;
      const w = 1 / (Math.sqrt(bestD[p]!) + 1e-6);
      wx += w * coords[2 * j]!;
      wy += w * coords[2 * j + 1]!;
      wt += w;
    }
    out[2 * (i - from)] = wt > 0 ? wx / wt : 0;
    out[2 * (i - from) + 1] = wt > 0 ? wy / wt : 0;
  }
  return out;
}

/**
 * Map positions from each item's nearest fitted points (row-major `near` keys and squared distances per item, as a
 * nearest-neighbour search returns them; `counts` per item when fewer were found): the distance-weighted mean, as
 * placeByNeighbours computes it.
 */
export function weightedPlacement(keys: ArrayLike<bigint | number>, d2: ArrayLike<number>, counts: ArrayLike<bigint | number> | null, near: number, coords: Float32Array, n: number): Float32Array {
  const out = new Float32Array(n * 2);
  for (let i = 0; i < n; i++) {
    const got = counts ? Math.min(near, Number(counts[i])) : near;
    let wx = 0;
    let wy = 0;
    let wt = 0;
    for (let p = 0; p < got; p++) {
      const j = Number(keys[i * near + p]);
      if (!(j >= 0 && 2 * j + 1 < coords.length)) continue;
      const w = 1 / (Math.sqrt(Math.max(0, d2[i * near + p]!)) + 1e-6);
      wx += w * coords[2 * j]!;
      wy += w * coords[2 * j + 1]!;
      wt += w;
    }
    out[2 * i] = wt > 0 ? wx / wt : 0;
    out[2 * i + 1] = wt > 0 ? wy / wt : 0;
  }
  return out;
}

/** Indices of the `k` nearest rows to row i (itself excluded), by a distance function over row indices. */
function nearest(n: number, i: number, k: number, dist: (a: number, b: number) => number): number[] {
  const d: [number, number][] = [];
  for (let j = 0; j < n; j++) if (j !== i) d.push([dist(i, j), j]);
  d.sort((p, q) => p[0] - q[0]);
  return d.slice(0, k).map((p) => p[1]);
}

/**
 * kNN preservation of a layout: the mean share of each point's `k` nearest neighbours in embedding space (cosine on
 * unit vectors `x`, n × dim) that are among its `k` nearest on the map (`xy`: n × 2). A random layout scores about
 * k / n; `rows` limits the points measured (all when omitted).
 */
export function knnPreservation(x: Float32Array, dim: number, xy: Float32Array, k = 10, rows?: number[]): number {
  const n = xy.length / 2;
  const measure = rows ?? Array.from({ length: n }, (_, i) => i);
  const cos = (a: number, b: number): number => {
    let s = 0;
    for (let d = 0; d < dim; d++) s += x[a * dim + d]! * x[b * dim + d]!;
    return -s;
  };
  const planar = (a: number, b: number): number => (xy[2 * a]! - xy[2 * b]!) ** 2 + (xy[2 * a + 1]! - xy[2 * b + 1]!) ** 2;
  let total = 0;
  for (const i of measure) {
    const hi = new Set(nearest(n, i, k, cos));
    total += nearest(n, i, k, planar).filter((j) => hi.has(j)).length / k;
  }
  return measure.length ? total / measure.length : 0;
}
