// Typed request/reply over a worker thread. A protocol maps each message kind to its request and reply types; the
// caller's `WorkerRpc<P>.request(kind, body)` and the worker's `serveRpc<P>(handlers)` are both checked against it,
// so a kind, a field or a reply that does not match fails the type-check instead of a run.
// On the wire a request is `{ id, kind, body }` and its reply `{ id, ok: true, body }` or `{ id, ok: false, error }`.
// An expected failure (a LightboxError) thrown in the worker reaches the caller as a LightboxError with the same
// code and message, so a bad model package found by onnxruntime is reported as the user's to fix, not as a bug.
// A worker that dies fails every request in flight with its reason instead of leaving callers waiting.
import { Worker, parentPort } from 'node:worker_threads';
import { LightboxError } from '../../shared/contract.ts';
import type { ErrorCode } from '../../shared/contract.ts';

/** One message kind: what the caller sends and what the worker answers. */
export interface RpcMessage { request: unknown; reply: unknown }
/** A worker protocol: message kind → request and reply. */
export type RpcProtocol<P> = { [K in keyof P]: RpcMessage };

type Kind<P> = keyof P & string;
type RequestOf<P, K extends keyof P> = P[K] extends RpcMessage ? P[K]['request'] : never;
type ReplyOf<P, K extends keyof P> = P[K] extends RpcMessage ? P[K]['reply'] : never;

interface WireRequest { id: number; kind: string; body: unknown }
/** `code` is null for an unexpected failure (a bug or a library's error): the caller sees a plain Error. */
type WireReply = { id: number; ok: true; body: unknown } | { id: number; ok: false; error: { code: ErrorCode | null; message: string } };

/** A reply whose buffers are moved to the caller instead of copied (the worker must not touch them afterwards). */
export class Transferring<T> {
  readonly value: T;
  readonly transfer: ArrayBuffer[];
  constructor(value: T, transfer: ArrayBuffer[]) {
    this.value = value;
    // postMessage refuses a buffer listed twice; empty buffers have nothing worth moving.
    this.transfer = transfer.filter((b, i, all) => b.byteLength > 0 && all.indexOf(b) === i);
  }
}

export function transferring<T>(value: T, transfer: ArrayBuffer[]): Transferring<T> {
  return new Transferring(value, transfer);
}

export type RpcHandlers<P extends RpcProtocol<P>> = {
  [K in keyof P]: (request: RequestOf<P, K>) => ReplyOf<P, K> | Transferring<ReplyOf<P, K>> | Promise<ReplyOf<P, K> | Transferring<ReplyOf<P, K>>>;
};

/** The caller's side: one worker thread speaking protocol P. */
export class WorkerRpc<P extends RpcProtocol<P>> {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private dead: Error | null = null;

  /** `limits`: the worker's heap limits; a worker that exceeds them ends (and fails its requests) instead of the process. */
  constructor(url: URL, name: string, limits?: { maxOldGenerationSizeMb?: number }) {
    // A worker inherits the process's Node options; --input-type (a script run with `node --input-type=module -e`)
    // is refused for a file entry point, so it is left out.
    const execArgv = process.execArgv.filter((a) => !a.startsWith('--input-type'));
    this.worker = new Worker(url, { name, execArgv, ...(limits ? { resourceLimits: limits } : {}) });
    this.worker.on('message', (m: WireReply) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.ok) p.resolve(m.body);
      else p.reject(m.error.code ? new LightboxError(m.error.code, m.error.message) : new Error(m.error.message));
    });
    const fail = (e: Error): void => {
      this.dead = e;
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    };
    this.worker.on('error', (e) => fail(new Error(`${name} worker failed: ${e.message}`, { cause: e })));
    this.worker.on('exit', (code) => fail(new Error(`${name} worker exited (code ${code})`)));
  }

  /** Sends one request; `transfer` lists buffers of `body` to move to the worker instead of copying them. */
  request<K extends Kind<P>>(kind: K, body: RequestOf<P, K>, transfer: ArrayBuffer[] = []): Promise<ReplyOf<P, K>> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    return new Promise<ReplyOf<P, K>>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      const msg: WireRequest = { id, kind, body };
      this.worker.postMessage(msg, transfer);
    });
  }

  /** The worker has ended (it exited, failed or was stopped): requests fail at once. */
  get isDead(): boolean {
    return this.dead !== null;
  }

  async terminate(): Promise<void> {
    this.dead ??= new Error('worker stopped');
    await this.worker.terminate();
  }
}

/** A failure as it crosses the boundary: a LightboxError keeps its code; anything else keeps its first line. */
function wireError(e: unknown): { code: ErrorCode | null; message: string } {
  if (e instanceof LightboxError) return { code: e.code, message: e.message };
  // Native libraries (onnxruntime) put stack-like detail after the first line: the reason is the first line.
  return { code: null, message: (e instanceof Error ? e.message : String(e)).split('\n')[0]!.slice(0, 500) };
}

/** The worker's side: answers every request of protocol P with its handler. Call once, from a worker thread. */
export function serveRpc<P extends RpcProtocol<P>>(name: string, handlers: RpcHandlers<P>): void {
  if (!parentPort) throw new Error(`${name} must run as a worker thread`);
  const port = parentPort;
  const table = handlers as Record<string, (request: unknown) => unknown>;
  port.on('message', (m: WireRequest) => {
    const reply = (r: WireReply, transfer: ArrayBuffer[] = []): void => port.postMessage(r, transfer);
    const handler = Object.prototype.hasOwnProperty.call(table, m.kind) ? table[m.kind] : undefined;
    if (!handler) {
      reply({ id: m.id, ok: false, error: { code: null, message: `${name}: no handler for message kind "${m.kind}"` } });
      return;
    }
    // Synchronous throws become rejections here, so both kinds of failure answer the same way.
    new Promise<unknown>((resolve) => resolve(handler(m.body))).then(
      (out) => {
        if (out instanceof Transferring) reply({ id: m.id, ok: true, body: out.value }, out.transfer);
        else reply({ id: m.id, ok: true, body: out });
      },
      (e: unknown) => reply({ id: m.id, ok: false, error: wireError(e) }),
    );
  });
}

/**
 * Worker entry points sit next to this file: run from source (Node's type stripping, the CLI and tests) they are
 * the `.ts` files beside the caller (`from`, its import.meta.url); in the Electron build electron-vite emits them as `.js` entries beside the bundled main.
 */
export function workerUrl(name: string, from: string = import.meta.url): URL {
  const fromSource = from.endsWith('.ts');
  return new URL(`./${name}.${fromSource ? 'ts' : 'js'}`, from);
}
