// A pool of worker threads speaking one protocol, one request per worker at a time (the rest wait here, in order).
// Used by the display decoder, the embedding preprocessors and the import's header readers, which share two needs:
// - a request may have a time limit. A codec cannot be interrupted, so a request over its limit has its worker
//   ended; the caller gets a WorkerTimedOut, and the next request gets a fresh worker. Because a worker holds one
//   request at a time, ending it costs no other request.
// - a worker that dies (its heap limit, a crash) fails its request with the reason and is replaced for the next.
import { LightboxError } from '../../shared/contract.ts';
import { WorkerRpc } from './worker-rpc.ts';
import type { RpcMessage, RpcProtocol } from './worker-rpc.ts';

type Kind<P> = keyof P & string;
type RequestOf<P, K extends keyof P> = P[K] extends RpcMessage ? P[K]['request'] : never;
type ReplyOf<P, K extends keyof P> = P[K] extends RpcMessage ? P[K]['reply'] : never;

/** A request ran past its time limit; its worker has been ended. */
export class WorkerTimedOut extends Error {
  readonly limitMs: number;
  constructor(name: string, limitMs: number) {
    super(`${name} worker took longer than ${limitMs} ms and was stopped`);
    this.limitMs = limitMs;
  }
}

export interface WorkerPoolOptions {
  url: URL;
  /** Names the workers (`name-1`, …) in thread lists and messages. */
  name: string;
  size: number;
  /** Each worker's heap limit: a worker that exceeds it ends instead of the process. */
  heapMb?: number;
}

interface Slot<P extends RpcProtocol<P>> { rpc: WorkerRpc<P> | null; busy: boolean; name: string }
interface Waiting<P extends RpcProtocol<P>> { run: (slot: Slot<P>) => void; reject: (e: Error) => void }

export class WorkerPool<P extends RpcProtocol<P>> {
  private readonly opts: WorkerPoolOptions;
  private readonly slots: Slot<P>[];
  private readonly queue: Waiting<P>[] = [];
  private closed = false;

  constructor(opts: WorkerPoolOptions) {
    this.opts = opts;
    // Workers start on first use: a pool costs nothing until something needs it.
    this.slots = Array.from({ length: Math.max(1, opts.size) }, (_, i) => ({ rpc: null, busy: false, name: `${opts.name}-${i + 1}` }));
  }

  get size(): number {
    return this.slots.length;
  }

  /** One request on the next free worker; `timeoutMs`: end the worker and reject with WorkerTimedOut after that long. */
  request<K extends Kind<P>>(kind: K, body: RequestOf<P, K>, opts: { timeoutMs?: number; transfer?: ArrayBuffer[] } = {}): Promise<ReplyOf<P, K>> {
    if (this.closed) return Promise.reject(closing());
    return new Promise<ReplyOf<P, K>>((resolve, reject) => {
      const run = (slot: Slot<P>): void => {
        const rpc = slot.rpc ??= new WorkerRpc<P>(this.opts.url, slot.name, this.opts.heapMb === undefined ? undefined : { maxOldGenerationSizeMb: this.opts.heapMb });
        let timedOut = false;
        const timer = opts.timeoutMs === undefined ? undefined : setTimeout(() => {
          timedOut = true;
          // The only way to stop a codec: end its thread. The next request gets a fresh worker.
          slot.rpc = null;
          void rpc.terminate();
          reject(new WorkerTimedOut(slot.name, opts.timeoutMs!));
        }, opts.timeoutMs);
        rpc.request(kind, body, opts.transfer).then(
          (reply) => { if (!timedOut) resolve(reply); },
          (e: Error) => {
            if (timedOut) return;
            if (rpc.isDead && slot.rpc === rpc) slot.rpc = null;
            reject(e);
          },
        ).finally(() => {
          clearTimeout(timer);
          slot.busy = false;
          this.pump();
        });
      };
      this.queue.push({ run, reject });
      this.pump();
    });
  }

  private pump(): void {
    for (const slot of this.slots) {
      if (slot.busy || this.closed) continue;
      const next = this.queue.shift();
      if (!next) return;
      slot.busy = true;
      next.run(slot);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const w of this.queue.splice(0)) w.reject(closing());
    await Promise.all(this.slots.map((s) => s.rpc?.terminate()));
  }
}

function closing(): LightboxError {
  return new LightboxError('busy', 'the project is closing');
}
