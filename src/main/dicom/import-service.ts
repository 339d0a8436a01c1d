// Importing a folder: walk it, read headers of new or changed files, and index them in batches. Each batch is one
// transaction, so a crash loses at most the batch in flight, and a re-run (resume) skips everything committed.
import fs from 'node:fs';
import path from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { LightboxError } from '../../shared/contract.ts';
import { checkExistingFolder } from '../fs-guard.ts';
import type { ImportSummary, JobProgress, RejectedFile } from '../../shared/contract.ts';
import type { FileOutcome, FileStat, ProjectStore } from '../project/project-store.ts';
import { readHeader } from './read-header.ts';

export interface ImportOptions {
  signal?: AbortSignal;
  onProgress?: (p: JobProgress) => void;
  batchSize?: number;
  /** Progress events are throttled to this interval. */
  progressIntervalMs?: number;
}

export async function resolveImportRoot(folder: string): Promise<string> {
  checkExistingFolder('import', folder);
  let st: fs.Stats;
  try {
    st = await fs.promises.stat(folder);
  } catch {
    throw new LightboxError('not-found', `import: ${folder} does not exist; choose a folder of DICOM files`);
  }
  if (!st.isDirectory()) throw new LightboxError('bad-request', `import: ${folder} is a file, not a folder; choose the folder that holds it`);
  return fs.promises.realpath(folder);
}

/** Lists every regular file below root (symbolic links to folders are not followed, so cycles cannot trap us). */
async function walk(root: string, rejected: RejectedFile[], onCount: (n: number) => void, signal?: AbortSignal): Promise<FileStat[]> {
  const files: FileStat[] = [];
  const stack = [root];
  let sinceYield = 0;
  while (stack.length > 0) {
    if (signal?.aborted) break;
    const dir = stack.pop()!;
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch (e) {
      rejected.push({ path: dir, reason: `cannot read folder (${(e as NodeJS.ErrnoException).code ?? 'error'}); check permissions` });
      continue;
    }
    for (const ent of entries) {
      const p = path.join(dir, ent.name);
      if (ent.isDirectory()) {
        stack.push(p);
        continue;
      }
      if (!ent.isFile() && !ent.isSymbolicLink()) continue;
      try {
        const st = fs.statSync(p);
        if (!st.isFile()) continue;
        files.push({ path: p, root, size: st.size, mtimeMs: Math.trunc(st.mtimeMs) });
      } catch (e) {
        rejected.push({ path: p, reason: `cannot stat (${(e as NodeJS.ErrnoException).code ?? 'error'}); broken link or no permission` });
      }
      if (++sinceYield >= 2000) {
        sinceYield = 0;
        onCount(files.length);
        await yieldToLoop();
      }
    }
  }
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return files;
}

export function outcomeFor(file: FileStat): FileOutcome {
  let h: ReturnType<typeof readHeader>;
  try {
    h = readHeader(file.path);
  } catch (e) {
    // A bug or an unforeseen malformation must not stop the import: the file is rejected with the reason.
    h = { kind: 'rejected', reason: `could not be read: ${e instanceof Error ? e.message : String(e)}` };
  }
  if (h.kind === 'dicom') return { ...file, status: 'imported', record: h.record };
  if (h.kind === 'rejected') return { ...file, status: 'rejected', reason: h.reason };
  return { ...file, status: 'not-dicom' };
}

/** Imports (or incrementally re-scans) one folder into the store. Never throws for a bad file. */
export async function importFolder(store: ProjectStore, folder: string, opts: ImportOptions = {}, jobId?: number): Promise<ImportSummary> {
  const root = await resolveImportRoot(folder);
  const id = jobId ?? store.createJob('import', { root });
  store.supersedeInterrupted('import', (p) => p.root === root);
  const batchSize = opts.batchSize ?? 256;
  const interval = opts.progressIntervalMs ?? 250;
  const walkRejected: RejectedFile[] = [];
  let lastEmit = 0;
  const emit = (p: Omit<JobProgress, 'jobId' | 'kind'>, force = false): void => {
    const now = performance.now();
    if (!force && now - lastEmit < interval) return;
    lastEmit = now;
    opts.onProgress?.({ jobId: id, kind: 'import', ...p });
  };
  try {
    emit({ phase: 'scanning', done: 0, total: 0, ratePerSecond: 0, etaSeconds: null, message: `Scanning ${root}` }, true);
    const files = await walk(root, walkRejected, (n) =>
      emit({ phase: 'scanning', done: n, total: 0, ratePerSecond: 0, etaSeconds: null, message: `Scanning ${root}: ${n} files found` }), opts.signal);
    const known = store.knownFiles(root);
    const todo = files.filter((f) => {
      const k = known.get(f.path);
      return !k || k.size !== f.size || k.mtimeMs !== f.mtimeMs;
    });
    known.clear();
    if (!opts.signal?.aborted) store.forgetMissing(root, new Set(files.map((f) => f.path)));
    const started = performance.now();
    let done = 0;
    for (let i = 0; i < todo.length && !opts.signal?.aborted; i += batchSize) {
      const batch = todo.slice(i, i + batchSize).map(outcomeFor);
      store.writeBatch(batch);
      done += batch.length;
      store.updateJob(id, done, todo.length);
      const secs = (performance.now() - started) / 1000;
      const rate = secs > 0 ? done / secs : 0;
      emit({
        phase: 'reading', done, total: todo.length, ratePerSecond: rate,
        etaSeconds: rate > 0 ? (todo.length - done) / rate : null,
        message: `Reading headers: ${done} of ${todo.length}`,
      }, done === todo.length);
      await yieldToLoop();
    }
    const cancelled = opts.signal?.aborted ?? false;
    store.finishJob(id, cancelled ? 'cancelled' : 'done');
    const counts = store.counts();
    const rejected = [...walkRejected, ...store.rejectedFiles(1_000_000, root).files];
    const statusCounts = store.db.prepare('SELECT status, count(*) AS n FROM files WHERE root = ? GROUP BY status').all(root) as { status: string; n: number }[];
    const summary: ImportSummary = {
      patients: counts.patients,
      studies: counts.studies,
      series: counts.series,
      instances: counts.instances,
      imageInstances: counts.imageInstances,
      nonImageInstances: counts.nonImageInstances,
      rejected,
      scannedFiles: files.length,
      newFiles: done,
      unchangedFiles: files.length - todo.length,
      nonDicomFiles: statusCounts.find((s) => s.status === 'not-dicom')?.n ?? 0,
      cancelled,
    };
    emit({
      phase: cancelled ? 'cancelled' : 'done', done, total: todo.length, ratePerSecond: 0, etaSeconds: null,
      message: cancelled ? `Import cancelled after ${done} of ${todo.length} files; run it again to resume`
        : `Imported ${files.length} files: ${summary.instances} instances, ${rejected.length} rejected`,
    }, true);
    return summary;
  } catch (e) {
    store.finishJob(id, 'failed', e instanceof Error ? e.message : String(e));
    emit({ phase: 'failed', done: 0, total: 0, ratePerSecond: 0, etaSeconds: null, message: `Import failed: ${e instanceof Error ? e.message : String(e)}` }, true);
    throw e;
  }
}

interface RunningImport {
  jobId: number;
  controller: AbortController;
  last: JobProgress | null;
  /** Settles (never rejects) when the job has stopped writing. */
  settled?: Promise<void>;
}

/** One import at a time per project, started from the API and reported through events. */
export class ImportService {
  private running: RunningImport | null = null;
  private readonly store: ProjectStore;
  private readonly onProgress: (p: JobProgress) => void;
  private readonly onFinished: (s: ImportSummary | Error) => void;

  constructor(store: ProjectStore, onProgress: (p: JobProgress) => void, onFinished: (s: ImportSummary | Error) => void = () => {}) {
    this.store = store;
    this.onProgress = onProgress;
    this.onFinished = onFinished;
  }

  async start(folder: string): Promise<{ jobId: number; done: Promise<ImportSummary> }> {
    if (this.running) throw new LightboxError('busy', `import: job ${this.running.jobId} is still running; cancel it or wait`);
    const root = await resolveImportRoot(folder);
    const jobId = this.store.createJob('import', { root });
    const controller = new AbortController();
    const run: RunningImport = { jobId, controller, last: null };
    this.running = run;
    const done = importFolder(this.store, root, {
      signal: controller.signal,
      onProgress: (p) => {
        run.last = p;
        this.onProgress(p);
      },
    }, jobId).then(
      (s) => { this.onFinished(s); return s; },
      (e: unknown) => { this.onFinished(e instanceof Error ? e : new Error(String(e))); throw e; },
    ).finally(() => {
      if (this.running === run) this.running = null;
    });
    // Failures are reported through onFinished and progress events; this also marks the rejection handled.
    run.settled = done.then(() => {}, () => {});
    return { jobId, done };
  }

  cancel(jobId: number): boolean {
    if (!this.running || this.running.jobId !== jobId) return false;
    this.running.controller.abort();
    return true;
  }

  current(): JobProgress | null {
    return this.running?.last ?? null;
  }

  /** Cancels a running import and waits for its batch in flight, so the store can be closed safely. */
  async stop(): Promise<void> {
    const run = this.running;
    if (!run) return;
    run.controller.abort();
    await run.settled;
  }
}
