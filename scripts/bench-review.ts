// npm run bench:review [-- --sizes 5000,20000,100000 --dim 256 --clusters 50 --sample 3000 --ann 100000 --queries 200]
// Synthetic clustered unit vectors (Gaussian clusters on the sphere), written to a real embedding store and run
// through the map worker exactly as map.start runs it: pooling + PCA, the UMAP fit on a sample, placing the rest,
// and the nearest-neighbour graph. Reports seconds per phase and kNN preservation (the share of each point's 10
// nearest neighbours in embedding space that are among its 10 nearest on the map, on a 2000-point subset, next to
// a random layout's). Then top-10 queries over --ann vectors: usearch HNSW against exact search side by side
// (p50/p95 per query, recall@10, build time, index size on disk, RSS). Prints one JSON line at the end.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import usearch from 'usearch';
import { EmbeddingStore } from '../src/main/inference/embedding-store.ts';
import { WorkerRpc, workerUrl } from '../src/main/inference/worker-rpc.ts';
import type { MapProtocol } from '../src/main/review/map-protocol.ts';
import { knnPreservation } from '../src/main/review/index.ts';
import { mulberry32 } from '../src/shared/random.ts';
import { argValue } from './bench-data.ts';

const sizes = argValue('sizes', '5000,20000,100000').split(',').map(Number);
const dim = Number(argValue('dim', '256'));
const clusters = Number(argValue('clusters', '50'));
const sampleSize = Number(argValue('sample', '3000'));
const annN = Number(argValue('ann', '100000'));
const queries = Number(argValue('queries', '200'));
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'lightbox-bench-review-'));
const log = (s: string): void => { process.stderr.write(`${s}\n`); };

/** n unit vectors around `clusters` random centres (noise 0.6 of a unit vector's spread per dimension). */
function clustered(n: number, seed: number): Float32Array {
  const rand = mulberry32(seed);
  const gauss = (): number => Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());
  const centres = Float32Array.from({ length: clusters * dim }, gauss);
  const x = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    const c = Math.floor(rand() * clusters);
    let norm = 0;
    for (let d = 0; d < dim; d++) {
      const v = centres[c * dim + d]! + 0.6 * gauss();
      x[i * dim + d] = v;
      norm += v * v;
    }
    const s = 1 / Math.sqrt(norm);
    for (let d = 0; d < dim; d++) x[i * dim + d]! *= s;
  }
  return x;
}

async function projection(n: number): Promise<Record<string, number>> {
  const dir = path.join(work, `store-${n}`);
  const x = clustered(n, n);
  const store = EmbeddingStore.open(dir, dim);
  for (let from = 0; from < n; from += 10000) {
    const to = Math.min(n, from + 10000);
    store.append(x.subarray(from * dim, to * dim), Array.from({ length: to - from }, (_, i) => ({ level: 'image' as const, sopUid: `s${from + i}`, seriesUid: 'x', studyUid: 'y', frame: 1, itemId: from + i + 1 })));
  }
  const offsets = Int32Array.from({ length: n + 1 }, (_, i) => i);
  const rows = Int32Array.from({ length: n }, (_, i) => i);
  const rpc = new WorkerRpc<MapProtocol>(workerUrl('map-worker', new URL('../src/main/review/map-service.ts', import.meta.url).href), 'map');
  const t: Record<string, number> = {};
  let t0 = performance.now();
  await rpc.request('load', { storeDir: dir, dim, offsets, rows, sampleSize, pcaDims: 32, seed: 1, fit: null });
  t.loadPcaSeconds = (performance.now() - t0) / 1000;
  t0 = performance.now();
  const { epochs } = await rpc.request('fitInit', { nNeighbors: 15, seed: 1 });
  let epoch = 0;
  while (epoch < epochs) epoch = (await rpc.request('fitSteps', { count: 50 })).epoch || epochs;
  await rpc.request('fitDone', {});
  t.fitSeconds = (performance.now() - t0) / 1000;
  t0 = performance.now();
  for (let from = 0; from < n; from += 5000) await rpc.request('place', { from, to: from + 5000 });
  const { xy } = await rpc.request('layout', {});
  t.placeSeconds = (performance.now() - t0) / 1000;
  t0 = performance.now();
  const { exact } = await rpc.request('neighboursInit', { exactBelow: 5000 });
  if (!exact) for (let from = 0; from < n; from += 10000) await rpc.request('neighboursAdd', { from, to: from + 10000, threads: 2 });
  for (let from = 0; from < n; from += 10000) await rpc.request('neighboursSearch', { from, to: from + 10000, k: 10, threads: 2 });
  t.neighboursSeconds = (performance.now() - t0) / 1000;
  await rpc.terminate();
  // kNN preservation within a random 2000-point subset (both spaces restricted to it).
  const m = Math.min(2000, n);
  const stride = Math.ceil(n / m);
  const pick = Array.from({ length: Math.ceil(n / stride) }, (_, i) => i * stride);
  const sx = new Float32Array(pick.length * dim);
  const sxy = new Float32Array(pick.length * 2);
  pick.forEach((p, i) => { sx.set(x.subarray(p * dim, (p + 1) * dim), i * dim); sxy[2 * i] = xy[2 * p]!; sxy[2 * i + 1] = xy[2 * p + 1]!; });
  const rand = mulberry32(9);
  const measured = pick.slice(0, 300).map((_, i) => i);
  t.knnPreservation = knnPreservation(sx, dim, sxy, 10, measured);
  t.knnPreservationRandom = knnPreservation(sx, dim, Float32Array.from(sxy, () => rand()), 10, measured);
  t.totalSeconds = t.loadPcaSeconds + t.fitSeconds + t.placeSeconds + t.neighboursSeconds;
  fs.rmSync(dir, { recursive: true, force: true });
  return t;
}

function ann(n: number): Record<string, number> {
  const x = clustered(n, 77);
  const rand = mulberry32(5);
  const q = new Float32Array(queries * dim);
  for (let i = 0; i < queries; i++) {
    const r = Math.floor(rand() * n);
    q.set(x.subarray(r * dim, (r + 1) * dim), i * dim);
  }
  let t0 = performance.now();
  const index = new usearch.Index({ dimensions: dim, metric: usearch.MetricKind.Cos, quantization: usearch.ScalarKind.F16, connectivity: 16, expansion_add: 128, expansion_search: 64, multi: false });
  index.add(BigUint64Array.from({ length: n }, (_, i) => BigInt(i)), x, 2);
  const buildSeconds = (performance.now() - t0) / 1000;
  const file = path.join(work, 'ann.usearch');
  index.save(file);
  const bytes = fs.statSync(file).size;
  const lat: number[] = [];
  const exactLat: number[] = [];
  let hits = 0;
  for (let i = 0; i < queries; i++) {
    const v = q.slice(i * dim, (i + 1) * dim); // a copy: exactSearch ignores a subarray's offset (see map-worker.ts)
    t0 = performance.now();
    const a = index.search(v, 10, 1);
    lat.push(performance.now() - t0);
    t0 = performance.now();
    const e = usearch.exactSearch(x, v, dim, 10, usearch.MetricKind.Cos, 1);
    exactLat.push(performance.now() - t0);
    const want = new Set(Array.from(e.keys.subarray(0, 10)));
    for (const k of a.keys.subarray(0, 10)) if (want.has(k)) hits++;
  }
  const pct = (a: number[], p: number): number => [...a].sort((u, v) => u - v)[Math.min(a.length - 1, Math.floor(a.length * p))]!;
  return {
    vectors: n, dim, buildSeconds, indexBytes: bytes, recallAt10: hits / (10 * queries),
    p50Ms: pct(lat, 0.5), p95Ms: pct(lat, 0.95), exactP50Ms: pct(exactLat, 0.5), exactP95Ms: pct(exactLat, 0.95),
    rssMB: Math.round(process.memoryUsage().rss / 2 ** 20),
  };
}

const out: Record<string, unknown> = { bench: 'review', dim, clusters, sample: sampleSize, cpus: os.cpus().length };
const proj: Record<string, Record<string, number>> = {};
for (const n of sizes) {
  log(`projection of ${n} points …`);
  proj[n] = await projection(n);
  log(`  ${JSON.stringify(proj[n])}`);
}
out.projection = proj;
if (annN > 0) {
  log(`ANN over ${annN} vectors …`);
  out.ann = ann(annN);
}
fs.rmSync(work, { recursive: true, force: true });
process.stdout.write(`${JSON.stringify(out)}\n`);
