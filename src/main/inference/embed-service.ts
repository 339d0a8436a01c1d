// Embeddings of a project: model packages and their sessions, the vector stores, embedding jobs (the work is in
// embed-pipeline.ts, run by the job runner: progress, pause, cancel, one writer per project), and similarity search
// over stored vectors for pixels the renderer sends.
import path from 'node:path';
import type { CallParsed, EmbedStatus, JobProgress } from '../../shared/contract.ts';
import { LightboxError } from '../../shared/contract.ts';
import type { JobRunner } from '../jobs/index.ts';
import type { ProjectStore } from '../project/project-store.ts';
import type { EmbeddingModelRow } from '../project/embedding-repo.ts';
import { EmbeddingRepository } from '../project/embedding-repo.ts';
import { ensureBuiltinModel } from './builtin-model.ts';
import { embedPending } from './embed-pipeline.ts';
import type { EmbedSummary } from './embed-pipeline.ts';
import { EmbeddingStore } from './embedding-store.ts';
import { InferenceEngine } from './inference-engine.ts';
import { TextEmbedder } from './text-engine.ts';
import type { ModelPackage } from './model-package.ts';
import { loadModelPackage, packageStamp } from './model-package.ts';
import type { Plane } from './preprocess.ts';
import { imageSize, l2Normalize, preprocessPlane } from './preprocess.ts';

export type { EmbedSummary } from './embed-pipeline.ts';

/** The project setting holding the active model. */
const ACTIVE_MODEL = 'active_model';

/** Tuning beyond the API's options (tests and benchmarks). */
export interface EmbedTuning {
  prepWorkers?: number;
  /** Threads for onnxruntime (0 = its default). */
  threads?: number;
  progressIntervalMs?: number;
}

export class EmbedService {
  private readonly store: ProjectStore;
  readonly repo: EmbeddingRepository;
  private readonly jobs: JobRunner;
  private readonly home: string;
  /** The current package's text tower (prompts, text search), in its own inference worker. */
  readonly text = new TextEmbedder();
  private engine: InferenceEngine | null = null;
  private engineKey = '';
  /** Verified packages by model argument, re-verified only when a file's size or mtime changes. */
  private readonly packages = new Map<string, { pkg: ModelPackage; stamp: string }>();
  /** Unit-length image vectors of one model, for similarity search; rebuilt when the store grows. */
  private vectorCache: { modelPk: number; count: number; vectors: Float32Array; ids: Int32Array } | null = null;

  constructor(store: ProjectStore, home: string, jobs: JobRunner) {
    this.store = store;
    this.repo = new EmbeddingRepository(store.db);
    this.home = home;
    this.jobs = jobs;
  }

  /**
   * The project's active model ('builtin' or a package folder): kept in the project, so the workstation, the CLI
   * and every host use the same one. Set by models.setActive, and by an embedding job run with another model.
   */
  activeModel(): string {
    return this.store.setting(ACTIVE_MODEL) ?? 'builtin';
  }

  /** Verifies the package first: a bad one is refused (with the loader's error) and the active model stays. */
  async setActiveModel(model: string): Promise<ModelPackage> {
    const pkg = await this.resolveModel(model);
    if (!this.remember(model) && model !== this.activeModel()) {
      throw new LightboxError('bad-request', `models: the project ${this.store.dir} is read-only, so its active model cannot change`);
    }
    return pkg;
  }

  /** Keeps `model` as the project's active model; false when the project is read-only (nothing is written). */
  private remember(model: string): boolean {
    if (this.store.readOnly) return false;
    if (model !== this.activeModel()) this.store.setSetting(ACTIVE_MODEL, model);
    return true;
  }

  /** The session's package and provider, when one is running. */
  session(): { sha256: string; provider: string; fallbackNote: string } | null {
    return this.engine ? { sha256: this.engine.pkg.sha256, provider: this.engine.provider, fallbackNote: this.engine.fallbackNote } : null;
  }

  /** A model argument ('builtin' or a package folder) as a verified package; hashing happens once per change. */
  async resolveModel(model = this.activeModel()): Promise<ModelPackage> {
    const hit = this.packages.get(model);
    if (hit && hit.stamp === packageStamp(hit.pkg)) return hit.pkg;
    const pkg = model === 'builtin' ? await ensureBuiltinModel(this.home) : loadModelPackage(model);
    this.packages.set(model, { pkg, stamp: packageStamp(pkg) });
    return pkg;
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

  /** The store a job appends to, opened (and repaired) under the job's lease only: it may have grown elsewhere. */
  private storeFor(row: EmbeddingModelRow, model: object): EmbeddingStore {
    const vectors = EmbeddingStore.open(row.storeDir, row.dim, model);
    // A crash between the store's append and the database commit leaves rows the database never saw
    // (harmless); the reverse cannot happen, but if a store was cut short, forget what it no longer holds.
    this.repo.dropRowsFrom(row.id, vectors.count);
    return vectors;
  }

  /**
   * Starts a job; `done` resolves with the summary (also for cancelled jobs). A bad model or a session that cannot
   * start fails here, before any job exists.
   */
  async start(input: CallParsed<'embed.start'>, tuning: EmbedTuning = {}): Promise<{ jobId: number; done: Promise<EmbedSummary> }> {
    // Before the session changes: a job here may be using it.
    this.jobs.ensureIdle('embed');
    const model = input.model ?? this.activeModel();
    const pkg = await this.resolveModel(model);
    const engine = await this.engineFor(pkg, input.provider, tuning.threads ?? 0);
    // Embedding with a model makes it the one suggestions, search and the map use (as the workstation shows it).
    this.remember(model);
    return this.jobs.start({
      kind: 'embed',
      params: { model, provider: input.provider, modelSha256: pkg.sha256 },
      pausable: true,
      progressIntervalMs: tuning.progressIntervalMs,
      run: (job) => {
        // Under the lease only: opening a store repairs a torn append, which must never race another writer.
        const { row, vectors } = this.modelRow(pkg);
        return embedPending({ pkg, engine, repo: this.repo, model: row, vectors, batch: input.batch, prepWorkers: tuning.prepWorkers }, job);
      },
    });
  }

  pause(jobId: number): boolean {
    return this.jobs.pause('embed', jobId);
  }

  resume(jobId: number): boolean {
    return this.jobs.resume('embed', jobId);
  }

  cancel(jobId: number): boolean {
    return this.jobs.cancel('embed', jobId);
  }

  current(): JobProgress | null {
    return this.jobs.current('embed');
  }

  async status(): Promise<EmbedStatus> {
    const interrupted = this.jobs.interrupted<{ model?: string }>('embed');
    const pkg = await this.resolveModel().catch(() => null);
    const row = pkg ? this.repo.model(pkg.sha256) : undefined;
    const counts = row ? this.repo.counts(row.id) : { images: this.repo.imageCount(), embedded: 0, failed: 0, series: 0 };
    return {
      model: pkg ? { name: pkg.manifest.name, version: pkg.manifest.version, sha256: pkg.sha256, dim: pkg.manifest.imageEncoder.output.dim, dir: pkg.dir, zeroShotLabels: pkg.zeroShot?.labels.map((l) => l.name) ?? [] } : null,
      // The session of another model (the active one changed since) says nothing about this one.
      provider: pkg && this.engine?.pkg.sha256 === pkg.sha256 ? this.engine.provider : null,
      providerFallback: pkg && this.engine?.pkg.sha256 === pkg.sha256 ? this.engine.fallbackNote : '',
      images: counts.images,
      embedded: counts.embedded,
      failed: counts.failed,
      seriesVectors: counts.series,
      job: this.current(),
      paused: this.jobs.isPaused('embed'),
      interrupted: interrupted ? { jobId: interrupted.id, model: interrupted.params.model ?? 'builtin' } : null,
    };
  }

  /** Images of the current model that could not be embedded, with file and reason. */
  async failures(limit: number): Promise<{ total: number; items: { instanceId: number; path: string; reason: string }[] }> {
    const pkg = await this.resolveModel().catch(() => null);
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
    const pkg = await this.resolveModel();
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
    // The database first, then the store: a writer appends before it commits, so every row read is in the store.
    const rows = this.repo.rows(row.id, 'image');
    const store = EmbeddingStore.read(row.storeDir, dim);
    if (!store) return [];
    if (!this.vectorCache || this.vectorCache.modelPk !== row.id || this.vectorCache.count !== store.count) {
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

  /** Releases the session's worker; the app stops the job runner (which waits for a job's batch in flight) first. */
  async stop(): Promise<void> {
    await this.text.close();
    await this.engine?.close();
    this.engine = null;
  }
}
