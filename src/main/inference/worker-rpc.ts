// Request/reply over a worker thread: each request gets an id, the worker answers `{ id, ok, body | message }`.
// A worker that dies fails every request in flight with its reason instead of leaving callers waiting.
import { Worker } from 'node:worker_threads';

export class WorkerRpc {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private dead: Error | null = null;

  constructor(url: URL, name: string) {
    this.worker = new Worker(url, { name });
    this.worker.on('message', (m: { id: number; ok: boolean; body?: unknown; message?: string }) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.ok) p.resolve(m.body);
      else p.reject(new Error(m.message));
    });
    const fail = (e: Error): void => {
      this.dead = e;
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    };
    this.worker.on('error', (e) => fail(new Error(`${name} worker failed: ${e.message}`)));
    this.worker.on('exit', (code) => fail(new Error(`${name} worker exited (code ${code})`)));
  }

  request<T>(msg: Record<string, unknown>, transfer: ArrayBuffer[] = []): Promise<T> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ ...msg, id }, transfer);
    });
  }

  async terminate(): Promise<void> {
    this.dead ??= new Error('worker stopped');
    await this.worker.terminate();
  }
}

/**
 * Worker entry points sit next to this file: run from source (Node's type stripping, the CLI and tests) they are
 * the `.ts` files beside the caller (`from`, its import.meta.url); in the Electron build electron-vite emits them as `.js` entries beside the bundled main.
 */
export function workerUrl(name: string, from: string = import.meta.url): URL {
  const fromSource = from.endsWith('.ts');
  return new URL(`./${name}.${fromSource ? 'ts' : 'js'}`, from);
}
