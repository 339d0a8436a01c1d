// The import's header readers: a few worker threads, each reading whole batches of files. A worker ended by its
// heap limit fails only its batch: a fresh worker takes its place and the batch's files are read again one by one,
// so the one file that needs that much memory is rejected with the reason and every other file is indexed as usual.
import os from 'node:os';
import type { FileOutcome, FileStat } from '../project/project-store.ts';
import { WorkerPool } from '../inference/worker-pool.ts';
import { workerUrl } from '../inference/worker-rpc.ts';

export interface HeaderProtocol {
  read: { request: { files: FileStat[] }; reply: FileOutcome[] };
}

/** A header is at most 64 MB (header.ts) and its elements are bounded: far below this heap, unless something is wrong. */
export const HEADER_WORKER_HEAP_MB = 1024;

/** One worker per spare core (the writing thread keeps one), at least one, at most four. */
export function defaultHeaderWorkers(): number {
  const cores = os.availableParallelism();
  return Math.max(1, Math.min(4, cores - 1));
}

export class HeaderPool {
  private readonly pool: WorkerPool<HeaderProtocol>;
  private readonly heapMb: number;

  constructor(size = defaultHeaderWorkers(), heapMb = HEADER_WORKER_HEAP_MB) {
    this.heapMb = heapMb;
    this.pool = new WorkerPool<HeaderProtocol>({ url: workerUrl('header-worker', import.meta.url), name: 'header', size, heapMb });
  }

  get size(): number {
    return this.pool.size;
  }

  /** The outcomes of `files`, in their order. */
  async read(files: FileStat[]): Promise<FileOutcome[]> {
    const whole = await this.attempt(files);
    if (whole) return whole;
    if (files.length === 1) return [this.refused(files[0]!)];
    const out: FileOutcome[] = [];
    for (const f of files) out.push(...((await this.attempt([f])) ?? [this.refused(f)]));
    return out;
  }

  /** The batch's outcomes, or null when reading it ended its worker by the heap limit. */
  private async attempt(files: FileStat[]): Promise<FileOutcome[] | null> {
    try {
      return await this.pool.request('read', { files });
    } catch (e) {
      if (!outOfMemory(e)) throw e;
      return null;
    }
  }

  private refused(file: FileStat): FileOutcome {
    return { ...file, status: 'rejected', reason: `reading its header needs more than ${this.heapMb} MB; refused: real headers need a few, so the file is damaged or built to exhaust memory` };
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}

/**
 * A worker ended by its heap limit (the only way a file can end one: a parse failure is an outcome, not a death).
 * Any other death (a worker that cannot start) is not the file's fault: it fails the import instead of rejecting files.
 */
function outOfMemory(e: unknown): boolean {
  return e instanceof Error && (e.cause as { code?: unknown } | undefined)?.code === 'ERR_WORKER_OUT_OF_MEMORY';
}
