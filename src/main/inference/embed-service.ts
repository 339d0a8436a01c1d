// Embedding jobs: every image of a project through the model, batched and pipelined — preprocessing workers
// decode the next batches while the inference worker runs this one, and main only moves transferred buffers,
// appends to the store and records rows. Progress (images/s, ETA), pause, cancel; after a crash the next run
// skips every image already stored. An image that cannot be decoded is recorded with its reason, never fatal.
import path from 'node:path';
import type { EmbedStatus, JobProgress } from '../../shared/contract.ts';
import { LightboxError } from '../../shared/contract.ts';
import type { ProjectStore } from '../project/project-store.ts';
import type { EmbeddingModelRow, PendingImage } from '../project/embedding-repo.ts';
import { EmbeddingRepository } from '../project/embedding-repo.ts';
import { ensureBuiltinModel } from './builtin-model.ts';
import { EmbeddingStore } from './embedding-store.ts';
import type { RowMeta } from './embedding-store.ts';
import { InferenceEngine, PrepPool } from './inference-engine.ts';
import type { PrepResult } from './inference-protocol.ts';
import type { ModelPackage } from './model-package.ts';
import { loadModelPackage, packageStamp } from './model-package.ts';
import type { Plane } from './preprocess.ts';
import { imageSize, l2Normalize, preprocessPlane } from './preprocess.ts';

export interface EmbedOptions {
  /** 'builtin' or a model package folder. */
  model?: string;
  /** auto | cpu | cuda | dml | coreml */
  provider?: string;
  batch?: number;
  prepWorkers?: number;
  /** Threads for onnxruntime (0 = its default). */
  threads?: number;
  progressIntervalMs?: number;
}

export interface EmbedSummary {
  model: string;
  modelVersion: string;
  modelSha256: string;
  provider: string;
  /** Why the provider asked for was not used (empty when it was). */
  providerFallback: string;
  embedded: number;
  skipped: number;
  failed: { instance: string; path: string; reason: string }[];
  seriesVectors: number;
  imagesPerSecond: number;
  cancelled: boolean;
  store: string;
}

const SERIES_SAMPLE = 16;
/** Group commits: at most this many vectors or this long between a batch's result and its durable record. */
const FLUSH_ROWS = 256;
const FLUSH_MS = 1000;

interface BatchOutcome {
  ok: PendingImage[];
  out: Float32Array | null;
  failures: { item: PendingImage; reason: string }[];
}

/** The frame that stands for a multi-frame instance: the middle one. */
const representativeFrame = (p: PendingImage): number => Math.floor((p.frames - 1) / 2);

/** Up to k evenly spaced items (the representative slices of a series). */
function spread<T>(items: T[], k: number): T[] {
  if (items.length <= k) return items;
  return Array.from({ length: k }, (_, i) => items[Math.floor(((i + 0.5) * items.length) / k)]!);
}

interface Running {
  jobId: number;
  cancelled: boolean;
  paused: boolean;
  resume: (() => void) | null;
  last: JobProgress | null;
  settled: Promise<void>;
}

export class EmbedService {
  private readonly store: ProjectStore;
  readonly repo: EmbeddingRepository;
  private readonly onProgress: (p: JobProgress) => void;
  private readonly home: string;
  private engine: InferenceEngine | null = null;
  private engineKey = '';
  private running: Running | null = null;
  private lastModel = 'builtin';
  /** Verified packages by model argument, re-verified only when a file's size or mtime changes. */
  private readonly packages = new Map<string, { pkg: ModelPackage; stamp: string }>();
  /** Open stores by model row: one writer per store, and no re-reading on every similarity search. */
  private readonly stores = new Map<number, EmbeddingStore>();
  /** Unit-length image vectors of one model, for similarity search; rebuilt when the store grows. */
  private vectorCache: { modelPk: number; count: number; vectors: Float32Array; ids: Int32Array } | null = null;

  constructor(store: ProjectStore, home: string, onProgress: (p: JobProgress) => void = () => {}) {
    this.store = store;
    this.repo = new EmbeddingRepository(store.db);
    this.home = home;
    this.onProgress = onProgress;
  }

  /** A model argument ('builtin' or a package folder) as a verified package; hashing happens once per change. */
  async resolveModel(model = this.lastModel): Promise<ModelPackage> {
    const hit = this.packages.get(model);
    if (hit && hit.stamp === packageStamp(hit.pkg)) return hit.pkg;
    const pkg = model === 'builtin' ? await ensureBuiltinModel(this.home) : loadModelPackage(model);
    this.packages.set(model, { pkg, stamp: packageStamp(pkg) });
    return pkg;
  }

  /** The package in use: the session's, or the last one asked for. */
  private currentPackage(): Promise<ModelPackage> {
    return this.engine ? Promise.resolve(this.engine.pkg) : this.resolveModel();
  }

  /** The session for a model, reused while the model and provider stay the same. */
  async engineFor(pkg: ModelPackage, provider = 'auto', threads = 0): Promise<InferenceEngine> {
    const key = `${pkg.sha256}:${provider}:${threads}`;
    if (this.engine && this.engineKey === key) return this.engine;
    await this.engine?.close();
    this.engine = null;
    this.engine = await InferenceEngine.start(pkg, { provider, threads });
    this.engineKey = key;
    return this.engine;
  }

  private modelRow(pkg: ModelPackage): { row: EmbeddingModelRow; vectors: EmbeddingStore } {
    const storeDir = path.join(this.store.dir, 'embeddings', pkg.sha256.slice(0, 16));
    const m = pkg.manifest;
    const row = this.repo.ensureModel({ sha256: pkg.sha256, name: m.name, version: m.version, dim: m.imageEncoder.output.dim, packageDir: pkg.dir, storeDir });
    return { row, vectors: this.storeFor(row, { modelSha256: pkg.sha256, manifest: m }) };
  }

  private storeFor(row: EmbeddingModelRow, model: object = {}): EmbeddingStore {
    let vectors = this.stores.get(row.id);
    if (!vectors) {
      vectors = EmbeddingStore.open(row.storeDir, row.dim, model);
      // A crash between the store's append and the database commit leaves rows the database never saw
      // (harmless); the reverse cannot happen, but if a store was cut short, forget what it no longer holds.
      this.repo.dropRowsFrom(row.id, vectors.count);
      this.stores.set(row.id, vectors);
    }
    return vectors;
  }

  /** Starts a job; `done` resolves with the summary (also for cancelled jobs). */
  async start(opts: EmbedOptions = {}): Promise<{ jobId: number; done: Promise<EmbedSummary> }> {
    if (this.running) throw new LightboxError('busy', `embed: job ${this.running.jobId} is still running; cancel it or wait`);
    const pkg = await this.resolveModel(opts.model);
    const engine = await this.engineFor(pkg, opts.provider ?? 'auto', opts.threads ?? 0);
    this.lastModel = opts.model ?? this.lastModel;
    const { row, vectors } = this.modelRow(pkg);
    const params = { model: opts.model ?? 'builtin', provider: opts.provider ?? 'auto', modelSha256: pkg.sha256 };
    this.store.supersedeInterrupted('embed');
    const jobId = this.store.createJob('embed', params);
    let resolveSettled!: () => void;
    const run: Running = { jobId, cancelled: false, paused: false, resume: null, last: null, settled: new Promise((r) => (resolveSettled = r)) };
    this.running = run;
    const done = this.runJob(run, pkg, engine, row, vectors, opts).finally(() => {
      if (this.running === run) this.running = null;
      resolveSettled();
    });
    done.catch(() => {});
    return { jobId, done };
  }

  private async runJob(run: Running, pkg: ModelPackage, engine: InferenceEngine, model: EmbeddingModelRow, vectors: EmbeddingStore, opts: EmbedOptions): Promise<EmbedSummary> {
    const spec = pkg.manifest.imageEncoder;
    const batch = Math.max(1, Math.min(1024, opts.batch ?? 32));
    const size = imageSize(spec.input);
    const dim = spec.output.dim;
    const interval = opts.progressIntervalMs ?? 250;
    const pending = this.repo.pendingImages(model.id);
    const total = pending.length;
    const skipped = this.repo.counts(model.id).images - total;
    const failed: EmbedSummary['failed'] = [];
    let embedded = 0;
    /** Images through the pipeline (embedded or failed), flushed or not. */
    let processed = 0;
    let lastEmit = 0;
    let activeMs = 0;
    let activeFrom = performance.now();
    const emit = (phase: JobProgress['phase'], message: string, force = false): void => {
      const now = performance.now();
      if (!force && now - lastEmit < interval) return;
      lastEmit = now;
      const secs = (activeMs + (run.paused ? 0 : now - activeFrom)) / 1000;
      const rate = secs > 0 ? processed / secs : 0;
      const p: JobProgress = {
        jobId: run.jobId, kind: 'embed', phase, done: processed, total,
        ratePerSecond: rate, etaSeconds: rate > 0 ? (total - processed) / rate : null, message,
      };
      run.last = p;
      this.onProgress(p);
    };
    const label = `${pkg.manifest.name} on ${engine.provider}`;
    const pool = new PrepPool(opts.prepWorkers);
    try {
      emit('embedding', `Embedding ${total} images with ${label}${skipped ? ` (${skipped} already done)` : ''}`, true);
      const batches: PendingImage[][] = [];
      for (let i = 0; i < total; i += batch) batches.push(pending.slice(i, i + batch));
      // Each batch is a chain: preprocess in the pool, then infer (queued in the inference worker as soon as it is
      // ready), so the worker always has the next batch while main writes the last one.
      const toInfer = (items: PendingImage[], r: PrepResult): Promise<BatchOutcome> => {
        const failedAt = new Set(r.failures.map((f) => f.index));
        const ok = items.filter((_, i) => !failedAt.has(i));
        let tensor = new Float32Array(r.data);
        if (failedAt.size > 0) {
          const compact = new Float32Array(ok.length * size);
          let o = 0;
          items.forEach((_, i) => {
            if (!failedAt.has(i)) compact.set(tensor.subarray(i * size, (i + 1) * size), o++ * size);
          });
          tensor = compact;
        }
        const failures = r.failures.map((f) => ({ item: items[f.index]!, reason: f.reason }));
        if (ok.length === 0) return Promise.resolve({ ok, out: null, failures });
        return engine.embed(tensor, ok.length).then(
          (out) => ({ ok, out, failures }),
          // The batch failed in the model (not in one image): record every image of it and go on.
          (e: unknown) => ({ ok: [], out: null, failures: [...failures, ...ok.map((item) => ({ item, reason: `inference failed: ${(e as Error).message}` }))] }),
        );
      };
      // Vectors are made durable in groups (store fsync, then one database commit), not per batch.
      let pendingVectors: Float32Array[] = [];
      let pendingMeta: RowMeta[] = [];
      let pendingFailures: { instanceId: number; reason: string }[] = [];
      let lastFlush = performance.now();
      const flush = (): void => {
        if (pendingMeta.length === 0 && pendingFailures.length === 0) return;
        const rows: { level: 'image'; itemId: number; row: number; frame: number }[] = [];
        if (pendingMeta.length > 0) {
          const all = new Float32Array(pendingMeta.length * dim);
          let o = 0;
          for (const v of pendingVectors) { all.set(v, o); o += v.length; }
          const first = vectors.append(all, pendingMeta);
          pendingMeta.forEach((m, i) => rows.push({ level: 'image', itemId: m.itemId, row: first + i, frame: m.frame }));
        }
        this.repo.record(model.id, rows, pendingFailures);
        embedded += rows.length;
        this.store.updateJob(run.jobId, processed, total);
        pendingVectors = [];
        pendingMeta = [];
        pendingFailures = [];
        lastFlush = performance.now();
      };
      const inFlight: Promise<BatchOutcome>[] = [];
      let next = 0;
      for (;;) {
        while (!run.cancelled && !run.paused && inFlight.length < pool.size + 2 && next < batches.length) {
          const items = batches[next++]!;
          inFlight.push(pool.prep(spec, items.map((p) => ({ file: p.path, frame: representativeFrame(p) }))).then((r) => toInfer(items, r)));
        }
        if (inFlight.length === 0) {
          flush();
          if (run.paused && !run.cancelled) {
            activeMs += performance.now() - activeFrom;
            emit('paused', `Paused after ${embedded} of ${total} images`, true);
            await new Promise<void>((resolve) => (run.resume = resolve));
            activeFrom = performance.now();
            continue;
          }
          break;
        }
        const o = await inFlight.shift()!;
        if (o.out) {
          pendingVectors.push(o.out);
          for (const p of o.ok) pendingMeta.push({ level: 'image', sopUid: p.sopUid, seriesUid: p.seriesUid, studyUid: p.studyUid, frame: representativeFrame(p), itemId: p.instanceId });
        }
        for (const f of o.failures) {
          pendingFailures.push({ instanceId: f.item.instanceId, reason: f.reason });
          failed.push({ instance: f.item.sopUid, path: f.item.path, reason: f.reason });
        }
        processed += o.ok.length + o.failures.length;
        if (pendingMeta.length >= FLUSH_ROWS || performance.now() - lastFlush > FLUSH_MS) flush();
        emit('embedding', `Embedding: ${processed} of ${total} images${failed.length ? `, ${failed.length} failed` : ''} · ${label}`, processed === total);
      }
      activeMs += performance.now() - activeFrom;
      let seriesVectors = 0;
      if (!run.cancelled) {
        emit('pooling', 'Pooling series vectors', true);
        seriesVectors = this.poolSeries(model.id, vectors);
      }
      const status = run.cancelled ? 'cancelled' : 'done';
      this.store.finishJob(run.jobId, status);
      const rate = activeMs > 0 ? processed / (activeMs / 1000) : 0;
      emit(status, run.cancelled
        ? `Embedding cancelled after ${embedded} of ${total} images; run it again to go on`
        : `Embedded ${embedded} images${failed.length ? `, ${failed.length} failed (see the report)` : ''}; ${seriesVectors} series vectors`, true);
      // In the order `lightbox embed --json` documents its fields.
      return {
        model: pkg.manifest.name, modelSha256: pkg.sha256, provider: engine.provider, embedded, skipped, failed,
        imagesPerSecond: rate, modelVersion: pkg.manifest.version, providerFallback: engine.fallbackNote, seriesVectors,
        cancelled: run.cancelled, store: vectors.dir,
      };
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      this.store.finishJob(run.jobId, 'failed', message);
      emit('failed', `Embedding failed: ${message}`, true);
      throw e;
    } finally {
      await pool.close();
    }
  }

  /** Series vectors for volume series: the normalised mean of up to 16 evenly spaced slice vectors. */
  private poolSeries(modelPk: number, vectors: EmbeddingStore): number {
    const todo = this.repo.seriesToPool(modelPk);
    const dim = vectors.dim;
    let n = 0;
    for (const s of todo) {
      const rows = spread(s.rows, SERIES_SAMPLE);
      const v = vectors.readRows(rows);
      const mean = new Float32Array(dim);
      for (let i = 0; i < rows.length; i++) for (let d = 0; d < dim; d++) mean[d]! += v[i * dim + d]!;
      l2Normalize(mean);
      const row = vectors.append(mean, [{ level: 'series', sopUid: '', seriesUid: s.seriesUid, studyUid: s.studyUid, frame: 0, itemId: s.seriesId }]);
      this.repo.record(modelPk, [{ level: 'series', itemId: s.seriesId, row, frame: 0 }], []);
      n++;
    }
    return n;
  }

  pause(jobId: number): boolean {
    if (!this.running || this.running.jobId !== jobId || this.running.paused) return false;
    this.running.paused = true;
    return true;
  }

  resume(jobId: number): boolean {
    const run = this.running;
    if (!run || run.jobId !== jobId || !run.paused) return false;
    run.paused = false;
    run.resume?.();
    run.resume = null;
    return true;
  }

  cancel(jobId: number): boolean {
    const run = this.running;
    if (!run || run.jobId !== jobId) return false;
    run.cancelled = true;
    run.paused = false;
    run.resume?.();
    return true;
  }

  current(): JobProgress | null {
    return this.running?.last ?? null;
  }

  async status(): Promise<EmbedStatus> {
    const interrupted = this.running ? null : this.store.interruptedJob<{ model?: string }>('embed');
    const pkg = await this.currentPackage().catch(() => null);
    const row = pkg ? this.repo.model(pkg.sha256) : undefined;
    const counts = row ? this.repo.counts(row.id) : { images: this.repo.imageCount(), embedded: 0, failed: 0, series: 0 };
    return {
      model: pkg ? { name: pkg.manifest.name, version: pkg.manifest.version, sha256: pkg.sha256, dim: pkg.manifest.imageEncoder.output.dim, dir: pkg.dir, zeroShotLabels: pkg.zeroShot?.labels.map((l) => l.name) ?? [] } : null,
      provider: this.engine?.provider ?? null,
      providerFallback: this.engine?.fallbackNote ?? '',
      images: counts.images,
      embedded: counts.embedded,
      failed: counts.failed,
      seriesVectors: counts.series,
      job: this.current(),
      paused: this.running?.paused ?? false,
      interrupted: interrupted ? { jobId: interrupted.id, model: interrupted.params.model ?? 'builtin' } : null,
    };
  }

  /** Images of the current model that could not be embedded, with file and reason. */
  async failures(limit: number): Promise<{ total: number; items: { instanceId: number; path: string; reason: string }[] }> {
    const pkg = await this.currentPackage().catch(() => null);
    const row = pkg ? this.repo.model(pkg.sha256) : undefined;
    return row ? this.repo.failures(row.id, limit) : { total: 0, items: [] };
  }

  /**
   * Embeds pixels the renderer is showing (a frame or a region, already windowed) and finds the most similar
   * stored images by cosine similarity.
   */
  async embedPixels(input: { width: number; height: number; channels: 1 | 3 | 4; data: Uint8Array }, k: number): Promise<{ vector: Float32Array; pkg: ModelPackage; engine: InferenceEngine; neighbours: { instanceId: number; score: number }[] }> {
    const { width, height, channels, data } = input;
    if (data.length !== width * height * channels) {
      throw new LightboxError('bad-request', `embed.pixels: ${data.length} bytes for ${width}×${height}×${channels}`);
    }
    const pkg = await this.currentPackage();
    const engine = await this.engineFor(pkg, this.engine?.requested ?? 'auto');
    const n = width * height;
    const plane: Plane = channels === 1
      ? { width, height, channels: 1, data: Float32Array.from(data, (v) => v / 255) }
      : { width, height, channels: 3, data: new Float32Array(n * 3) };
    if (channels !== 1) {
      for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) plane.data[3 * i + c] = data[i * channels + c]! / 255;
    }
    const tensor = new Float32Array(imageSize(pkg.manifest.imageEncoder.input));
    preprocessPlane(plane, pkg.manifest.imageEncoder, tensor, 0);
    const vector = await engine.embed(tensor, 1);
    return { vector, pkg, engine, neighbours: this.nearest(pkg, vector, k) };
  }

  private nearest(pkg: ModelPackage, q: Float32Array, k: number): { instanceId: number; score: number }[] {
    const row = this.repo.model(pkg.sha256);
    if (!row || k <= 0) return [];
    const dim = row.dim;
    const store = this.storeFor(row);
    if (!this.vectorCache || this.vectorCache.modelPk !== row.id || this.vectorCache.count !== store.count) {
      const rows = this.repo.rows(row.id, 'image');
      const all = store.loadAll();
      const vectors = new Float32Array(rows.length * dim);
      const ids = new Int32Array(rows.length);
      rows.forEach((r, i) => {
        vectors.set(all.subarray(r.row * dim, (r.row + 1) * dim), i * dim);
        l2Normalize(vectors, i * dim, dim); // packages need not normalise; cosine needs unit vectors
        ids[i] = r.itemId;
      });
      this.vectorCache = { modelPk: row.id, count: store.count, vectors, ids };
    }
    const { vectors, ids } = this.vectorCache;
    const qn = Float32Array.from(q);
    l2Normalize(qn);
    const scores: { instanceId: number; score: number }[] = [];
    for (let i = 0; i < ids.length; i++) {
      let s = 0;
      for (let d = 0; d < dim; d++) s += vectors[i * dim + d]! * qn[d]!;
      scores.push({ instanceId: ids[i]!, score: s });
    }
    return scores.sort((a, b) => b.score - a.score).slice(0, k);
  }

  /** Cancels a running job, waits for its batch in flight, and releases the workers. */
  async stop(): Promise<void> {
    const run = this.running;
    if (run) {
      this.cancel(run.jobId);
      await run.settled;
    }
    await this.engine?.close();
    this.engine = null;
  }
}
