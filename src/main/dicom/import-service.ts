// Importing a folder: walk it, read headers of new or changed files, and index them in batches. Each batch is one
// transaction, so a crash loses at most the batch in flight, and a re-run (resume) skips everything committed.
import fs from 'node:fs';
import path from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { LightboxError } from '../../shared/contract.ts';
import type { CallParsed, ImportSummary, JobProgress, RejectedFile } from '../../shared/contract.ts';
import { checkExistingFolder } from '../fs-guard.ts';
import type { JobContext, JobEnd, JobRunner } from '../jobs/index.ts';
import type { FileOutcome, FileStat, ProjectStore } from '../project/project-store.ts';
import { HeaderPool } from './header-pool.ts';

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

/**
 * Rejections that say the file could not be read (permissions, a folder gone mid-import, an I/O error) rather than
 * what is in it. Fixing them (chmod, restoring with `cp -a`) need not change size or mtime, so such files are read
 * again on every re-import instead of being skipped as unchanged.
 */
export function isTransientReason(reason: string): boolean {
  return /^(cannot open|cannot read|cannot stat|could not be read)\b/.test(reason);
}

/** Batches read ahead of the one being written: enough to keep every header worker busy while the writer works. */
const READ_AHEAD_PER_WORKER = 2;

/**
 * Imports (or incrementally re-scans) one folder into the store, as a job of the runner: batches of `batchSize`
 * files, read by the header workers while earlier batches are written, each batch one transaction, in the files'
 * order. Never throws for a bad file.
 */
async function importFolder(store: ProjectStore, root: string, job: JobContext, batchSize: number, pool: HeaderPool): Promise<JobEnd<ImportSummary>> {
  const walkRejected: RejectedFile[] = [];
  const signal = job.signal;
  job.progress({ phase: 'scanning', done: 0, total: 0, message: `Scanning ${root}` }, true);
  const files = await walk(root, walkRejected, (n) =>
    job.progress({ phase: 'scanning', done: n, total: 0, message: `Scanning ${root}: ${n} files found` }), signal);
  const known = store.knownFiles(root);
  // A path this root has never held is new to the project unless another root (a parent folder imported before) holds it.
  const othersBelow = store.hasFilesOfOtherRootsUnder(root);
  const todo: FileStat[] = [];
  for (const f of files) {
    const k = known.get(f.path);
    if (!k) todo.push(othersBelow ? f : { ...f, isNew: true });
    else if (k.size !== f.size || k.mtimeMs !== f.mtimeMs || isTransientReason(k.rejected)) todo.push(f);
  }
  known.clear();
  if (!signal.aborted) store.forgetMissing(root, new Set(files.map((f) => f.path)));
  let done = 0;
  job.progress({ phase: 'reading', done, total: todo.length, message: `Reading headers: 0 of ${todo.length}` }, true);
  const reading: Promise<FileOutcome[]>[] = [];
  let next = 0;
  const readAhead = (): void => {
    while (reading.length < pool.size * READ_AHEAD_PER_WORKER && next < todo.length && !signal.aborted) {
      const files = todo.slice(next, next + batchSize);
      next += files.length;
      const p = pool.read(files);
      p.catch(() => {}); // awaited in order below; a batch left behind by a cancel must not be an unhandled rejection
      reading.push(p);
    }
  };
  readAhead();
  while (reading.length > 0 && !signal.aborted) {
    const batch = await reading.shift()!;
    readAhead();
    if (signal.aborted) break;
    store.writeBatch(batch);
    done += batch.length;
    job.progress({ phase: 'reading', done, total: todo.length, message: `Reading headers: ${done} of ${todo.length}` }, done === todo.length);
    await yieldToLoop();
  }
  const cancelled = signal.aborted;
  const counts = store.counts();
  const rejected = [...walkRejected, ...store.rejectedFiles(1_000_000, root).files];
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
    nonDicomFiles: store.fileStatusCount(root, 'not-dicom'),
    cancelled,
  };
  return {
    result: summary,
    cancelled,
    message: cancelled ? `Import cancelled after ${done} of ${todo.length} files; run it again to resume`
      : `Imported ${files.length} files: ${summary.instances} instances, ${rejected.length} rejected`,
  };
}

/** Tuning for tests and benchmarks; the API's import.start uses the defaults. */
export interface ImportTuning {
  batchSize?: number;
  /** Header workers (the default: one per spare core, at most four); a pool of this size is made for the run. */
  headerWorkers?: number;
  /** Each header worker's heap limit (HEADER_WORKER_HEAP_MB); with headerWorkers. */
  headerHeapMb?: number;
  /** Progress events are throttled to this interval. */
  progressIntervalMs?: number;
}

/** Imports started from the API or the CLI, one at a time per project (the runner's lease), reported through events. */
export class ImportService {
  private readonly store: ProjectStore;
  private readonly jobs: JobRunner;
  private readonly onFinished: (s: ImportSummary | Error) => void;
  /** Started with the first import and kept for the next ones (a worker takes a moment to load). */
  private pool: HeaderPool | null = null;

  constructor(store: ProjectStore, jobs: JobRunner, onFinished: (s: ImportSummary | Error) => void = () => {}) {
    this.store = store;
    this.jobs = jobs;
    this.onFinished = onFinished;
  }

  async start({ folder }: CallParsed<'import.start'>, tuning: ImportTuning = {}): Promise<{ jobId: number; done: Promise<ImportSummary> }> {
    const root = await resolveImportRoot(folder);
    const started = this.jobs.start({
      kind: 'import',
      params: { root },
      // A re-run of the same folder is the resume of its interrupted import.
      resumes: (p) => p.root === root,
      progressIntervalMs: tuning.progressIntervalMs,
      run: async (job) => {
        const own = tuning.headerWorkers === undefined ? null : new HeaderPool(tuning.headerWorkers, tuning.headerHeapMb);
        try {
          return await importFolder(this.store, root, job, tuning.batchSize ?? 256, own ?? (this.pool ??= new HeaderPool()));
        } finally {
          await own?.close();
        }
      },
    });
    started.done.then((s) => this.onFinished(s), (e: unknown) => this.onFinished(e instanceof Error ? e : new Error(String(e))));
    return started;
  }

  /** Imports a folder to the end (the demo project, tests): the summary, also when cancelled. */
  async run(input: CallParsed<'import.start'>, tuning: ImportTuning = {}): Promise<ImportSummary> {
    return (await this.start(input, tuning)).done;
  }

  cancel(jobId: number): boolean {
    return this.jobs.cancel('import', jobId);
  }

  current(): JobProgress | null {
    return this.jobs.current('import');
  }

  /** Ends the header workers (after the runner has stopped the jobs). */
  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = null;
    await pool?.close();
  }
}
