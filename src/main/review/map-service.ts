// The embedding map of a project: a 2-D layout of the current model's item vectors per level (image; series and
// study from pooled image vectors), computed as a job in a worker thread and cached per model in the project folder.
// The layout is fitted with UMAP (umap-js) on a sample after a PCA to ~32 dimensions; every other item is placed at
// the weighted mean of its nearest fitted neighbours, which is also how items embedded later are added without
// refitting (map.start again, or automatically after an embedding job when a layout exists).
import { LightboxError } from '../../shared/contract.ts';
import type { CallParsed, CallResult, MapPoints, MapSummary } from '../../shared/contract.ts';
import type { Level } from '../../shared/label-schema.ts';
import { LEVELS } from '../../shared/label-schema.ts';
import type { EmbedService } from '../inference/embed-service.ts';
import { WorkerRpc, workerUrl } from '../inference/worker-rpc.ts';
import type { JobContext, JobEnd, JobRunner } from '../jobs/index.ts';
import type { LabelService } from '../labels/index.ts';
import type { EmbeddingModelRow } from '../project/embedding-repo.ts';
import type { ProjectStore } from '../project/project-store.ts';
import { MapCache } from './map-cache.ts';
import type { SavedFit } from './map-cache.ts';
import type { MapProtocol } from './map-protocol.ts';
import { mapPoints } from './map-points.ts';
import { duplicateQueue, outlierQueue } from './review-queues.ts';

/** Tuning beyond the API's options (tests and benchmarks). */
export interface MapTuning {
  /** Items placed per worker step (each step is a point where the job reports and may stop). */
  placeChunk?: number;
  /** UMAP epochs per worker step. */
  epochChunk?: number;
  pcaDims?: number;
  nNeighbors?: number;
  seed?: number;
  progressIntervalMs?: number;
  /** Neighbours kept per item, items per search step, and the size from which the search uses an HNSW index. */
  neighbours?: number;
  neighbourChunk?: number;
  exactBelow?: number;
  threads?: number;
}

const plural = (level: Level): string => (level === 'series' ? 'series' : level === 'study' ? 'studies' : 'images');

interface MapParams { level: Level; refit: boolean; sampleSize: number }

export class MapService {
  private readonly store: ProjectStore;
  private readonly embeddings: EmbedService;
  private readonly labels: LabelService;
  private readonly jobs: JobRunner;
  private last: MapSummary | null = null;
  private error = '';
  private runningLevel: Level | null = null;

  constructor(store: ProjectStore, embeddings: EmbedService, labels: LabelService, jobs: JobRunner) {
    this.store = store;
    this.embeddings = embeddings;
    this.labels = labels;
    this.jobs = jobs;
  }

  /** The model whose vectors the map shows: the current package, when this project has vectors from it. */
  private async model(): Promise<{ row: EmbeddingModelRow; cache: MapCache } | null> {
    const pkg = await this.embeddings.resolveModel().catch(() => null);
    const row = pkg ? this.embeddings.repo.model(pkg.sha256) : undefined;
    if (!row || this.embeddings.repo.embeddedImages(row.id) === 0) return null;
    return { row, cache: new MapCache(this.store.dir, row.sha256) };
  }

  async start(input: CallParsed<'map.start'>, tuning: MapTuning = {}): Promise<{ jobId: number; done: Promise<MapSummary> }> {
    const m = await this.model();
    if (!m) throw new LightboxError('bad-request', 'map: this project has no embeddings from the current model yet; run Embed first');
    const params: MapParams = { level: input.level, refit: input.refit, sampleSize: input.sampleSize };
    const started = this.jobs.start({
      kind: 'map',
      params,
      resumes: (p) => p.level === input.level,
      progressIntervalMs: tuning.progressIntervalMs,
      initial: { phase: 'reading', done: 0, total: 0, message: `Map of ${plural(input.level)}: reading vectors…` },
      run: (job) => this.run(job, m.row, m.cache, params, tuning),
    });
    this.runningLevel = input.level;
    started.done.then((s) => { this.last = s; this.error = ''; }, (e: unknown) => { this.error = e instanceof Error ? e.message : String(e); });
    return started;
  }

  private async run(job: JobContext, row: EmbeddingModelRow, cache: MapCache, p: MapParams, tuning: MapTuning): Promise<JobEnd<MapSummary>> {
    const t0 = performance.now();
    const { level } = p;
    const index = this.labels.repo.levelIndex(level, row.id);
    const n = index.ids.length;
    const end = (cancelled: boolean, sample: number, fitted: boolean, resumed: boolean, message: string): JobEnd<MapSummary> => ({
      result: { level, items: n, sample, fitted, resumed, seconds: (performance.now() - t0) / 1000, cancelled }, cancelled, message,
    });
    if (n === 0) throw new LightboxError('bad-request', `map: no ${level} has an embedded image yet; run Embed first`);
    // A saved fit is taken up unless a refit is asked for and that fit already made a finished layout (a fit with
    // no layout yet is an unfinished job's: resuming it is the point of saving it).
    let saved: SavedFit | null = cache.fit(level);
    const layout = cache.layout(level);
    if (saved && p.refit && layout?.fitId === saved.fitId) saved = null;
    const resumed = saved !== null && layout?.fitId !== saved.fitId;
    const rpc = new WorkerRpc<MapProtocol>(workerUrl('map-worker', import.meta.url), 'map');
    try {
      job.progress({ phase: 'reading', done: 0, total: n, message: `Map of ${n} ${plural(level)}: reading vectors and reducing them (PCA)…` }, true);
      const loaded = await rpc.request('load', {
        storeDir: row.storeDir, dim: row.dim, offsets: index.offsets, rows: index.rows, sampleSize: p.sampleSize,
        pcaDims: tuning.pcaDims ?? 32, seed: tuning.seed ?? 1, fit: saved,
      });
      if (job.signal.aborted) return end(true, loaded.sample, false, resumed, 'Map cancelled before fitting');
      let fitId: string;
      if (!loaded.fitted) {
        const { epochs } = await rpc.request('fitInit', { nNeighbors: tuning.nNeighbors ?? 15, seed: tuning.seed ?? 1 });
        const chunk = tuning.epochChunk ?? 10;
        let epoch = 0;
        job.progress({ phase: 'projecting', done: 0, total: epochs, message: `Fitting the layout on ${loaded.sample} ${plural(level)} (UMAP)…` }, true);
        while (epoch < epochs) {
          if (job.signal.aborted) return end(true, loaded.sample, false, resumed, `Map cancelled while fitting (epoch ${epoch} of ${epochs}); nothing saved`);
          epoch = (await rpc.request('fitSteps', { count: Math.min(chunk, epochs - epoch) })).epoch || epochs;
          job.progress({ phase: 'projecting', done: epoch, total: epochs, message: `Fitting the layout on ${loaded.sample} ${plural(level)}: epoch ${epoch} of ${epochs}` });
        }
        const fit = await rpc.request('fitDone', {});
        fitId = cache.saveFit(level, fit).fitId;
      } else {
        fitId = saved!.fitId;
      }
      const chunk = tuning.placeChunk ?? 2000;
      for (let from = 0; from < n; from += chunk) {
        if (job.signal.aborted) return end(true, loaded.sample, !loaded.fitted, resumed, `Map cancelled while placing (${from} of ${n}); the fit is saved, start again to resume`);
        await rpc.request('place', { from, to: Math.min(n, from + chunk) });
        job.progress({ phase: 'placing', done: Math.min(n, from + chunk), total: n, message: `Placing ${n} ${plural(level)} by their nearest fitted neighbours` });
      }
      const { xy } = await rpc.request('layout', {});
      cache.saveLayout(level, fitId, index.ids, xy);
      // The nearest neighbours of every item, for the duplicate and outlier queues: after the layout is saved, so
      // a cancel here keeps the map.
      const k = tuning.neighbours ?? 10;
      const threads = tuning.threads ?? 2;
      const { exact } = await rpc.request('neighboursInit', { exactBelow: tuning.exactBelow ?? 5000 });
      const step = tuning.neighbourChunk ?? 5000;
      const total = exact ? n : 2 * n;
      let done = 0;
      job.progress({ phase: 'neighbours', done, total, message: `Finding each ${level}'s nearest neighbours (${exact ? 'exact' : 'HNSW index'})` }, true);
      if (!exact) {
        for (let from = 0; from < n; from += step) {
          if (job.signal.aborted) return end(true, loaded.sample, !loaded.fitted, resumed, 'Map ready; nearest-neighbour search cancelled');
          done += (await rpc.request('neighboursAdd', { from, to: from + step, threads })).added;
          job.progress({ phase: 'neighbours', done, total, message: `Indexing ${n} ${plural(level)} for nearest neighbours (HNSW)` });
        }
      }
      const nn = new Int32Array(n * k);
      const sim = new Float32Array(n * k);
      for (let from = 0; from < n; from += step) {
        if (job.signal.aborted) return end(true, loaded.sample, !loaded.fitted, resumed, 'Map ready; nearest-neighbour search cancelled');
        const r = await rpc.request('neighboursSearch', { from, to: from + step, k, threads });
        nn.set(r.nn, from * k);
        sim.set(r.sim, from * k);
        done += r.nn.length / k;
        job.progress({ phase: 'neighbours', done, total, message: `Finding each ${level}'s nearest neighbours (${exact ? 'exact' : 'HNSW index'})` });
      }
      cache.saveNeighbours({ level, exact, k, ids: index.ids, nn, sim });
      const how = loaded.fitted ? `placed on the saved fit${resumed ? ' (resumed)' : ''}` : `fitted on ${loaded.sample}`;
      return end(false, loaded.sample, !loaded.fitted, resumed, `Map of ${n} ${plural(level)} ready (${how})`);
    } finally {
      await rpc.terminate();
    }
  }

  cancel(jobId: number): boolean {
    return this.jobs.cancel('map', jobId);
  }

  /** After new embeddings: places them on every level that has a layout (no refit), one level after another. */
  async placeNew(): Promise<void> {
    const m = await this.model();
    if (!m) return;
    for (const level of LEVELS) {
      const layout = m.cache.layout(level);
      if (!layout) continue;
      if (this.labels.repo.levelIndex(level, m.row.id).ids.length === layout.ids.length) continue;
      try {
        await (await this.start({ level, refit: false, sampleSize: 3000 })).done;
      } catch { /* busy or failed: map.status says so; the next map.start places them */ }
    }
  }

  async status(): Promise<CallResult<'map.status'>> {
    const cur = this.jobs.current('map');
    const interrupted = this.jobs.interrupted<{ level?: string }>('map');
    const m = await this.model();
    return {
      running: cur ? { jobId: cur.jobId, level: this.runningLevel ?? '', phase: cur.phase, done: cur.done, total: cur.total, message: cur.message } : null,
      interrupted: interrupted ? { jobId: interrupted.id, level: interrupted.params.level ?? 'image' } : null,
      levels: LEVELS.map((level) => {
        const l = m?.cache.layout(level);
        return { level, ready: !!l, points: l?.ids.length ?? 0, createdAt: l?.createdAt ?? '' };
      }),
      last: this.last,
      error: this.error,
    };
  }

  async points(level: Level): Promise<MapPoints> {
    const m = await this.model();
    const layout = m?.cache.layout(level) ?? null;
    const embedded = m ? this.labels.repo.levelIndex(level, m.row.id).ids : new Int32Array(0);
    return mapPoints(this.store.db, this.labels, level, m ? { name: m.row.name, sha256: m.row.sha256 } : null, layout, embedded);
  }

  async duplicates(level: Level, threshold: number, limit: number): Promise<CallResult<'review.duplicates'>> {
    const m = await this.model();
    return duplicateQueue(this.store.db, level, m?.cache.neighbours(level) ?? null, threshold, limit);
  }

  async outliers(level: Level, zMin: number, limit: number): Promise<CallResult<'review.outliers'>> {
    const m = await this.model();
    return outlierQueue(this.store.db, level, m?.cache.neighbours(level) ?? null, zMin, limit);
  }
}
