// The map's maths: the randomized PCA finds a planted low-rank structure with an orthonormal basis, and the native
// placement the worker uses (usearch exact search + weightedPlacement) places items as the plain reference loop does.
import usearch from 'usearch';
import { describe, expect, it } from 'vitest';
import { fitPca, placeByNeighbours, projectRows, sampleIndices, weightedPlacement } from '../../src/main/review/projection-math.ts';
import { mulberry32 } from '../../src/shared/random.ts';

const rand = mulberry32(11);
const gauss = (): number => Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());

describe('projection maths', () => {
  it('PCA recovers a planted 3-d subspace in 64-d with an orthonormal basis', () => {
    const n = 600;
    const dim = 64;
    const dirs = Array.from({ length: 3 }, () => Float32Array.from({ length: dim }, gauss));
    const x = new Float32Array(n * dim);
    for (let i = 0; i < n; i++) {
      const c = [5 * gauss(), 3 * gauss(), 2 * gauss()];
      for (let d = 0; d < dim; d++) x[i * dim + d] = 1 + c[0]! * dirs[0]![d]! + c[1]! * dirs[1]![d]! + c[2]! * dirs[2]![d]! + 0.01 * gauss();
    }
    const pca = fitPca(x, dim, sampleIndices(n, 400, 1), 3, 1);
    for (let a = 0; a < 3; a++) for (let b = 0; b < 3; b++) {
      let dot = 0;
      for (let d = 0; d < dim; d++) dot += pca.basis[a * dim + d]! * pca.basis[b * dim + d]!;
      expect(dot).toBeCloseTo(a === b ? 1 : 0, 4);
    }
    // Nearly all of the centred variance is in the 3 components.
    const y = projectRows(x, pca);
    let kept = 0;
    let total = 0;
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < 3; c++) kept += y[i * 3 + c]! ** 2;
      for (let d = 0; d < dim; d++) total += (x[i * dim + d]! - pca.mean[d]!) ** 2;
    }
    expect(kept / total).toBeGreaterThan(0.999);
  });

  it('places items with the native nearest-neighbour search exactly as the reference loop does', () => {
    const k = 8;
    const m = 300;
    const n = 500;
    const fitted = Float32Array.from({ length: m * k }, gauss);
    const coords = Float32Array.from({ length: m * 2 }, gauss);
    const reduced = Float32Array.from({ length: n * k }, gauss);
    const ref = placeByNeighbours(reduced, k, fitted, coords, 0, n, 5);
    const found = usearch.exactSearch(fitted, reduced, k, 5, usearch.MetricKind.L2sq, 2);
    const got = weightedPlacement(found.keys, found.distances, 'counts' in found ? found.counts : null, 5, coords, n);
    let worst = 0;
    for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(ref[i]! - got[i]!));
    expect(worst).toBeLessThan(1e-3);
  });
});
