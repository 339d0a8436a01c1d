// The import's header readers: a few worker threads, each reading whole batches of files. A worker ended by its
// heap limit fails only its batch: a fresh worker takes its place and the batch's files are read again one by one,
// so the one file that needs that much memory is rejected with the reason and every other file is indexed as usual.
import os from 'node:os';
import type { FileOutcome, FileStat } from '../project/project-store.ts';
import { WorkerRpc, workerUrl } from '../inference/worker-rpc.ts';

export interface HeaderProtocol {
  read: { request: { files: FileStat[] }; reply: FileOutcome[] };
}

/** A header is at most 64 MB (header.ts) and its elements are bounded: far below this heap, unless something is wrong. */
export const HEADER_WORKER_HEAP_MB = 1024;

interface Slot { rpc: WorkerRpc<HeaderProtocol>; busy: number; name: string }

/** One worker per spare core (the writing thread keeps one), at least one, at most four. */
export function defaultHeaderWorkers(): number {
  const cores = os.availableParallelism();
  return Math.max(1, Math.min(4, cores - 1));
}

export class HeaderPool {
  private readonly slots: Slot[];
  private readonly heapMb: number;
  private closed = false;

  constructor(size = defaultHeaderWorkers(), heapMb = HEADER_WORKER_HEAP_MB) {
    this.heapMb = heapMb;
    this.slots = Array.from({ length: Math.max(1, size) }, (_, i) => this.spawn(`header-${i + 1}`));
  }

  get size(): number {
    return this.slots.length;
  }

  private spawn(name: string): Slot {
    return { rpc: new WorkerRpc<HeaderProtocol>(workerUrl('header-worker', import.meta.url), name, { maxOldGenerationSizeMb: this.heapMb }), busy: 0, name };
  }

  /** The outcomes of `files`, in their order. */
  async read(files: FileStat[]): Promise<FileOutcome[]> {
    try {
      return await this.onSlot((rpc) => rpc.request('read', { files }));
    } catch (e) {
      if (this.closed || !outOfMemory(e)) throw e;
      if (files.length === 1) return [this.refused(files[0]!)];
    }
    const out: FileOutcome[] = [];
    for (const f of files) {
      try {
        out.push(...await this.onSlot((rpc) => rpc.request('read', { files: [f] })));
      } catch (e) {
        if (this.closed || !outOfMemory(e)) throw e;
        out.push(this.refused(f));
      }
    }
    return out;
  }

  private refused(file: FileStat): FileOutcome {
    return { ...file, status: 'rejected', reason: `reading its header needs more than ${this.heapMb} MB; refused: real headers need a few, so the file is damaged or built to exhaust memory` };
  }

  /** Runs on the least busy worker; one that has died is replaced before the failure is passed on. */
  private async onSlot<T>(fn: (rpc: WorkerRpc<HeaderProtocol>) => Promise<T>): Promise<T> {
    const slot = this.slots.reduce((a, b) => (b.busy < a.busy ? b : a));
    const rpc = slot.rpc;
    slot.busy++;
    try {
      return await fn(rpc);
    } catch (e) {
      if (!this.closed && rpc.isDead && slot.rpc === rpc) {
        void rpc.terminate();
        slot.rpc = this.spawn(slot.name).rpc;
      }
      throw e;
    } finally {
      slot.busy--;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.map((s) => s.rpc.terminate()));
  }
}

/**
 * A worker ended by its heap limit (the only way a file can end one: a parse failure is an outcome, not a death).
 * Any other death (a worker that cannot start) is not the file's fault: it fails the import instead of rejecting files.
 */
function outOfMemory(e: unknown): boolean {
  return e instanceof Error && (e.cause as { code?: unknown } | undefined)?.code === 'ERR_WORKER_OUT_OF_MEMORY';
}
