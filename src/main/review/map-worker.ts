// The map worker: owns the item vectors and the UMAP fit of one projection, so pooling, PCA, UMAP epochs and
// placing 100k points never run on the thread that answers the UI.
import { UMAP } from 'umap-js';
import usearch from 'usearch';
import type { Index as AnnIndex } from 'usearch';
import { EmbeddingStore } from '../inference/embedding-store.ts';
import { serveRpc, transferring } from '../inference/worker-rpc.ts';
import { mulberry32 } from '../../shared/random.ts';
import type { FitState, MapProtocol } from './map-protocol.ts';
import { fitPca, poolItems, projectRows, sampleIndices, weightedPlacement } from './projection-math.ts';
import type { Pca } from './projection-math.ts';

let reduced: Float32Array = new Float32Array(0);
let items = 0;
let pca: Pca | null = null;
let sample: Int32Array = new Int32Array(0);
let fit: FitState | null = null;
let umap: UMAP | null = null;
let xy: Float32Array = new Float32Array(0);
/** The items' pooled unit vectors (n × dim), for the nearest-neighbour search. */
let vectors: Float32Array = new Float32Array(0);
let dim = 0;
let ann: AnnIndex | null = null;
/** The fitted points' index for placing many items (see place). */
let placeIndex: AnnIndex | null = null;

function need<T>(v: T | null, what: string): T {
  if (v === null) throw new Error(`map-worker: ${what} before load/fit`);
  return v;
}

/** A tiny sample cannot make a UMAP graph: lay it on a circle by its first principal direction (still a map). */
function trivialCoords(m: number, k: number, fitted: Float32Array): Float32Array {
  const out = new Float32Array(m * 2);
  for (let i = 0; i < m; i++) {
    out[2 * i] = fitted[i * k] ?? 0;
    out[2 * i + 1] = k > 1 ? fitted[i * k + 1]! : 0;
  }
  return out;
}

serveRpc<MapProtocol>('map-worker', {
  load: (r) => {
    const snap = EmbeddingStore.readSnapshot(r.storeDir, r.dim);
    const x = poolItems(snap.vectors, r.dim, r.offsets, r.rows);
    items = r.offsets.length - 1;
    vectors = x;
    dim = r.dim;
    ann = null;
    placeIndex = null;
    umap = null;
    if (r.fit && r.fit.pca.dim === r.dim) {
      fit = r.fit;
      pca = r.fit.pca;
    } else {
      fit = null;
      sample = sampleIndices(items, r.sampleSize, r.seed);
      pca = fitPca(x, r.dim, sample, r.pcaDims, r.seed);
    }
    reduced = projectRows(x, pca);
    xy = new Float32Array(items * 2);
    return { items, sample: fit ? fit.fitted.length / pca.k : sample.length, fitted: fit !== null };
  },
  fitInit: ({ nNeighbors, seed }) => {
    const p = need(pca, 'fitInit');
    const m = sample.length;
    if (m <= 3) {
      const fitted = new Float32Array(m * p.k);
      sample.forEach((s, i) => fitted.set(reduced.subarray(s * p.k, (s + 1) * p.k), i * p.k));
      fit = { pca: p, fitted, coords: trivialCoords(m, p.k, fitted) };
      return { epochs: 0 };
    }
    const rows = Array.from(sample, (s) => Array.from(reduced.subarray(s * p.k, (s + 1) * p.k)));
    // 200 epochs, as umap-learn uses for large data sets: umap-js would run 400–500 on a sample this size, and the
    // epochs are most of the fit's time.
    umap = new UMAP({ nComponents: 2, nNeighbors: Math.min(nNeighbors, m - 1), minDist: 0.1, nEpochs: 200, random: mulberry32(seed) });
    return { epochs: umap.initializeFit(rows) };
  },
  fitSteps: ({ count }) => {
    const u = umap;
    if (!u) return { epoch: 0 };
    let epoch = 0;
    for (let i = 0; i < count; i++) epoch = u.step();
    return { epoch };
  },
  fitDone: () => {
    const p = need(pca, 'fitDone');
    if (!fit) {
      const u = need(umap, 'fitDone');
      const m = sample.length;
      const fitted = new Float32Array(m * p.k);
      sample.forEach((s, i) => fitted.set(reduced.subarray(s * p.k, (s + 1) * p.k), i * p.k));
      const coords = new Float32Array(m * 2);
      u.getEmbedding().forEach((c, i) => { coords[2 * i] = c[0] ?? 0; coords[2 * i + 1] = c[1] ?? 0; });
      fit = { pca: p, fitted, coords };
      umap = null;
    }
    // Copies: the worker keeps its own for placing.
    return { pca: { ...fit.pca, mean: fit.pca.mean.slice(), basis: fit.pca.basis.slice() }, fitted: fit.fitted.slice(), coords: fit.coords.slice() };
  },
  place: ({ from, to }) => {
    const f = need(fit, 'place');
    const end = Math.min(to, items);
    if (end <= from) return { placed: 0 };
    const k = f.pca.k;
    const m = f.fitted.length / k;
    const near = Math.min(5, m);
    // Each item's nearest fitted points, natively: exact search (about 2× the plain loop in projection-math.ts, which
    // stays the reference the tests compare with) while items × fitted points is small, else an HNSW index over the
    // fitted points, built once per job (about 3× faster again on 5k × 4k; approximate neighbours only blur a
    // placement a little). Copies: see neighboursSearch.
    const queries = reduced.slice(from * k, end * k);
    let found;
    if (items * m <= 20_000_000) {
      found = usearch.exactSearch(f.fitted.slice(), queries, k, near, usearch.MetricKind.L2sq, 2);
    } else {
      if (!placeIndex) {
        placeIndex = new usearch.Index({ dimensions: k, metric: usearch.MetricKind.L2sq, quantization: usearch.ScalarKind.F32, connectivity: 16, expansion_add: 64, expansion_search: 64, multi: false });
        placeIndex.add(BigUint64Array.from({ length: m }, (_, i) => BigInt(i)), f.fitted.slice(), 2);
      }
      found = placeIndex.search(queries, near, 2);
    }
    const counts = 'counts' in found ? found.counts : null;
    xy.set(weightedPlacement(found.keys, found.distances, counts, near, f.coords, end - from), from * 2);
    return { placed: end - from };
  },
  neighboursInit: ({ exactBelow }) => {
    // i8 storage: a quarter of f32's memory and much faster to build, for neighbours the queues only rank.
    ann = items < exactBelow ? null : new usearch.Index({ dimensions: dim, metric: usearch.MetricKind.Cos, quantization: usearch.ScalarKind.I8, connectivity: 16, expansion_add: 64, expansion_search: 64, multi: false });
    return { exact: ann === null };
  },
  neighboursAdd: ({ from, to, threads }) => {
    const end = Math.min(to, items);
    if (ann && end > from) ann.add(BigUint64Array.from({ length: end - from }, (_, i) => BigInt(from + i)), vectors.subarray(from * dim, end * dim), threads);
    return { added: Math.max(0, end - from) };
  },
  neighboursSearch: ({ from, to, k, threads }) => {
    const end = Math.min(to, items);
    const m = Math.max(0, end - from);
    const nn = new Int32Array(m * k).fill(-1);
    const sim = new Float32Array(m * k);
    if (m === 0 || items < 2) return transferring({ nn, sim }, [nn.buffer, sim.buffer]);
    const want = Math.min(k + 1, items);
    // A copy: usearch's exactSearch (2.25.3) reads a typed array from the start of its buffer, ignoring a subarray's
    // byteOffset, so a view past the first chunk would search with the wrong vectors.
    const queries = vectors.slice(from * dim, end * dim);
    // Either way the item itself comes back (usually first, at distance 0): ask for one more and drop it.
    const found = ann ? ann.search(queries, want, threads) : usearch.exactSearch(vectors, queries, dim, want, usearch.MetricKind.Cos, threads);
    const counts = 'counts' in found ? found.counts : null;
    for (let q = 0; q < m; q++) {
      let j = 0;
      const got = counts ? Math.min(want, Number(counts[q])) : want;
      for (let r = 0; r < got && j < k; r++) {
        const key = Number(found.keys[q * want + r]);
        const d = found.distances[q * want + r]!;
        if (key === from + q || key >= items || !Number.isFinite(d)) continue;
        nn[q * k + j] = key;
        sim[q * k + j] = 1 - d;
        j++;
      }
    }
    return transferring({ nn, sim }, [nn.buffer, sim.buffer]);
  },
  layout: () => {
    const out = xy.slice();
    return transferring({ xy: out }, [out.buffer]);
  },
});
