// The frames the viewer draws are decoded in a small pool of worker threads, each with a time limit: a frame that
// takes longer is stopped by terminating its worker (a codec cannot be interrupted any other way), answered with an
// error that names the file, and the worker is replaced. One frame per worker at a time, so a stop affects only it.
import { LightboxError } from '../../shared/contract.ts';
import { WorkerRpc, workerUrl } from '../inference/worker-rpc.ts';
import { decodeStoppedReason, decodeTimeoutMs } from './decode-limit.ts';
import type { DisplayProtocol } from './display-protocol.ts';

interface Slot { rpc: WorkerRpc<DisplayProtocol> | null; busy: boolean }
interface Waiting { file: string; frame: number; resolve: (b: Buffer) => void; reject: (e: Error) => void }

export class DisplayDecoder {
  private readonly slots: Slot[];
  private readonly queue: Waiting[] = [];
  /** The per-frame limit (decode-limit.ts). */
  timeoutMs: number;
  private closed = false;

  constructor(size = 2, timeoutMs = decodeTimeoutMs()) {
    this.slots = Array.from({ length: Math.max(1, size) }, () => ({ rpc: null, busy: false }));
    this.timeoutMs = timeoutMs;
  }

  /** One frame (1-based) of a file as the viewer draws it. */
  frame(file: string, frame: number): Promise<Buffer> {
    if (this.closed) return Promise.reject(new LightboxError('busy', 'the project is closing'));
    return new Promise((resolve, reject) => {
      this.queue.push({ file, frame, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    for (const slot of this.slots) {
      if (slot.busy || this.queue.length === 0) continue;
      const job = this.queue.shift()!;
      slot.busy = true;
      slot.rpc ??= new WorkerRpc<DisplayProtocol>(workerUrl('display-worker', import.meta.url), 'display');
      const rpc = slot.rpc;
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        // The only way to stop a codec: end its thread. The next frame gets a fresh worker.
        slot.rpc = null;
        void rpc.terminate();
        job.reject(new LightboxError('io', decodeStoppedReason(job.file, job.frame, this.timeoutMs)));
      }, this.timeoutMs);
      rpc.request('frame', { file: job.file, frame: job.frame }).then(
        (bytes) => { if (!timedOut) job.resolve(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)); },
        (e: Error) => {
          if (timedOut) return;
          // A worker that died (not a refused frame) is replaced for the next one.
          if (!(e instanceof LightboxError)) slot.rpc = null;
          job.reject(e);
        },
      ).finally(() => {
        clearTimeout(timer);
        slot.busy = false;
        this.pump();
      });
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const w of this.queue.splice(0)) w.reject(new LightboxError('busy', 'the project is closing'));
    await Promise.all(this.slots.map((s) => s.rpc?.terminate()));
  }
}
