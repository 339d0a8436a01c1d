// The work of an embedding job, batched and pipelined: preprocessing workers decode the next batches while the
// inference worker runs this one, and main only moves transferred buffers, appends to the store and records rows.
// An image that cannot be decoded is recorded with its reason, never fatal. Runs as a job of the runner (progress,
// pause, cancel, the jobs row and the lease are the runner's).
import type { JobContext, JobEnd } from '../jobs/index.ts';
import type { EmbeddingModelRow, EmbeddingRepository, PendingImage } from '../project/embedding-repo.ts';
import type { EmbeddingStore, RowMeta } from './embedding-store.ts';
import type { InferenceEngine } from './inference-engine.ts';
import { PrepPool } from './prep-pool.ts';
import type { PrepResult } from './inference-protocol.ts';
import type { ModelPackage } from './model-package.ts';
import { imageSize, l2Normalize } from './preprocess.ts';

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

/** What one embedding job runs with: the model, its session, where vectors go, and the batching. */
export interface EmbedRun {
  pkg: ModelPackage;
  engine: InferenceEngine;
  repo: EmbeddingRepository;
  model: EmbeddingModelRow;
  vectors: EmbeddingStore;
  batch: number;
  prepWorkers?: number | undefined;
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

/**
 * The preprocessed batch through the model. Images that failed to decode are left out of the tensor; a batch that
 * fails in the model (not in one image) records every image of it as failed, and the job goes on.
 */
function infer(engine: InferenceEngine, size: number, items: PendingImage[], r: PrepResult): Promise<BatchOutcome> {
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
    (e: unknown) => ({ ok: [], out: null, failures: [...failures, ...ok.map((item) => ({ item, reason: `inference failed: ${(e as Error).message}` }))] }),
  );
}

/** Embeds every image of the project not yet embedded with this model; after a crash it picks up where it stopped. */
export async function embedPending(run: EmbedRun, job: JobContext): Promise<JobEnd<EmbedSummary>> {
  const { pkg, engine, repo, model, vectors } = run;
  const spec = pkg.manifest.imageEncoder;
  const size = imageSize(spec.input);
  const dim = spec.output.dim;
  const pending = repo.pendingImages(model.id);
  const total = pending.length;
  const skipped = repo.counts(model.id).images - total;
  const failed: EmbedSummary['failed'] = [];
  let embedded = 0;
  /** Images through the pipeline (embedded or failed), flushed or not. */
  let processed = 0;
  const label = `${pkg.manifest.name} on ${engine.provider}`;
  const pool = new PrepPool(run.prepWorkers);
  try {
    job.progress({ phase: 'embedding', done: 0, total, message: `Embedding ${total} images with ${label}${skipped ? ` (${skipped} already done)` : ''}` }, true);
    const batches: PendingImage[][] = [];
    for (let i = 0; i < total; i += run.batch) batches.push(pending.slice(i, i + run.batch));
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
      repo.record(model.id, rows, pendingFailures);
      embedded += rows.length;
      pendingVectors = [];
      pendingMeta = [];
      pendingFailures = [];
      lastFlush = performance.now();
    };
    // Each batch is a chain: preprocess in the pool, then infer (queued in the inference worker as soon as it is
    // ready), so the worker always has the next batch while main writes the last one.
    const inFlight: Promise<BatchOutcome>[] = [];
    let next = 0;
    for (;;) {
      while (!job.signal.aborted && !job.pauseRequested && inFlight.length < pool.size + 2 && next < batches.length) {
        const items = batches[next++]!;
        inFlight.push(pool.prep(spec, items.map((p) => ({ file: p.path, frame: representativeFrame(p) }))).then((r) => infer(engine, size, items, r)));
      }
      if (inFlight.length === 0) {
        flush();
        if (job.pauseRequested && !job.signal.aborted) {
          await job.pausePoint(`Paused after ${embedded} of ${total} images`);
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
      job.progress({ phase: 'embedding', done: processed, total, message: `Embedding: ${processed} of ${total} images${failed.length ? `, ${failed.length} failed` : ''} · ${label}` }, processed === total);
    }
    const secs = job.activeSeconds();
    const cancelled = job.signal.aborted;
    let seriesVectors = 0;
    if (!cancelled) {
      job.progress({ phase: 'pooling', done: processed, total, message: 'Pooling series vectors' }, true);
      seriesVectors = poolSeries(repo, model.id, vectors);
    }
    return {
      // In the order `lightbox embed --json` documents its fields.
      result: {
        model: pkg.manifest.name, modelSha256: pkg.sha256, provider: engine.provider, embedded, skipped, failed,
        imagesPerSecond: secs > 0 ? processed / secs : 0, modelVersion: pkg.manifest.version, providerFallback: engine.fallbackNote, seriesVectors,
        cancelled, store: vectors.dir,
      },
      cancelled,
      message: cancelled
        ? `Embedding cancelled after ${embedded} of ${total} images; run it again to go on`
        : `Embedded ${embedded} images${failed.length ? `, ${failed.length} failed (see the report)` : ''}; ${seriesVectors} series vectors`,
    };
  } finally {
    await pool.close();
  }
}

/** Series vectors for volume series: the normalised mean of up to 16 evenly spaced slice vectors. */
function poolSeries(repo: EmbeddingRepository, modelPk: number, vectors: EmbeddingStore): number {
  const todo = repo.seriesToPool(modelPk);
  const dim = vectors.dim;
  let n = 0;
  for (const s of todo) {
    const rows = spread(s.rows, SERIES_SAMPLE);
    const v = vectors.readRows(rows);
    const mean = new Float32Array(dim);
    for (let i = 0; i < rows.length; i++) for (let d = 0; d < dim; d++) mean[d]! += v[i * dim + d]!;
    l2Normalize(mean);
    const row = vectors.append(mean, [{ level: 'series', sopUid: '', seriesUid: s.seriesUid, studyUid: s.studyUid, frame: 0, itemId: s.seriesId }]);
    repo.record(modelPk, [{ level: 'series', itemId: s.seriesId, row, frame: 0 }], []);
    n++;
  }
  return n;
}
