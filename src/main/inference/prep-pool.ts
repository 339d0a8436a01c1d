// The preprocessing workers: read, decode and resize frames into the model's input tensor, off main's thread.
// Decoding is bounded in time. A codec cannot be interrupted, so a batch that runs past its limit has its worker
// ended (a fresh one takes its place) and each of its frames is tried again alone with the per-frame limit: a frame
// that stalls fails by itself with a reason naming its file, and the others of the batch are embedded as usual.
import os from 'node:os';
import { decodeStoppedReason, decodeTimeoutMs } from '../dicom/decode-limit.ts';
import type { ImageEncoderSpec } from './model-package.ts';
import type { PrepProtocol, PrepResult, PrepTask } from './inference-protocol.ts';
import { imageSize } from './preprocess.ts';
import { WorkerRpc, workerUrl } from './worker-rpc.ts';

/** Frames a batch is allowed per-frame limits for: a batch of 32 may take 4 limits before its frames go one by one. */
const FRAMES_PER_LIMIT = 8;

interface Slot { rpc: WorkerRpc<PrepProtocol>; busy: number; name: string }

class TimedOut extends Error {}

/** A pool of preprocessing workers; batches go to the least busy one. */
export class PrepPool {
  private readonly workers: Slot[];
  /** The per-frame limit (decode-limit.ts); a batch of n frames gets ceil(n / 8) of them. */
  timeoutMs: number;

  constructor(size = defaultPrepWorkers(), timeoutMs = decodeTimeoutMs()) {
    this.timeoutMs = timeoutMs;
    this.workers = Array.from({ length: Math.max(1, size) }, (_, i) => {
      const name = `prep-${i + 1}`;
      return { rpc: new WorkerRpc<PrepProtocol>(workerUrl('prep-worker'), name), busy: 0, name };
    });
  }

  get size(): number {
    return this.workers.length;
  }

  async prep(spec: ImageEncoderSpec, tasks: PrepTask[]): Promise<PrepResult> {
    const limit = this.timeoutMs * Math.max(1, Math.ceil(tasks.length / FRAMES_PER_LIMIT));
    try {
      return await this.bounded(spec, tasks, limit);
    } catch (e) {
      if (!(e instanceof TimedOut)) throw e;
    }
    if (tasks.length === 1) return stopped(spec, tasks, [0], this.timeoutMs, 0);
    // One by one, so only the frame that stalls is lost.
    const size = imageSize(spec.input);
    const data = new Float32Array(tasks.length * size);
    const failures: PrepResult['failures'] = [];
    let ms = 0;
    for (let i = 0; i < tasks.length; i++) {
      try {
        const r = await this.bounded(spec, [tasks[i]!], this.timeoutMs);
        ms += r.ms;
        if (r.failures.length > 0) failures.push({ index: i, reason: r.failures[0]!.reason });
        else data.set(new Float32Array(r.data), i * size);
      } catch (e) {
        if (!(e instanceof TimedOut)) throw e;
        failures.push({ index: i, reason: decodeStoppedReason(tasks[i]!.file, tasks[i]!.frame, this.timeoutMs) });
      }
    }
    return { data: data.buffer, failures, ms };
  }

  /** One request to the least busy worker, which is replaced if it does not answer within `limitMs`. */
  private async bounded(spec: ImageEncoderSpec, tasks: PrepTask[], limitMs: number): Promise<PrepResult> {
    const w = this.workers.reduce((a, b) => (b.busy < a.busy ? b : a));
    w.busy++;
    const rpc = w.rpc;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        // Ending the thread is the only way to stop a codec; requests it held fail and the next ones get a new one.
        w.rpc = new WorkerRpc<PrepProtocol>(workerUrl('prep-worker'), w.name);
        void rpc.terminate();
        reject(new TimedOut());
      }, limitMs);
    });
    let replaced = false;
    try {
      return await Promise.race([rpc.request('prep', { spec, tasks }), late]);
    } catch (e) {
      // Queued behind a batch whose worker was ended for running late: this batch did nothing wrong; run it again.
      replaced = !(e instanceof TimedOut) && w.rpc !== rpc;
      if (!replaced) throw e;
    } finally {
      clearTimeout(timer);
      w.busy--;
    }
    return this.bounded(spec, tasks, limitMs);
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.rpc.terminate()));
  }
}

function stopped(spec: ImageEncoderSpec, tasks: PrepTask[], indexes: number[], limitMs: number, ms: number): PrepResult {
  const data = new Float32Array(tasks.length * imageSize(spec.input));
  return { data: data.buffer, failures: indexes.map((i) => ({ index: i, reason: decodeStoppedReason(tasks[i]!.file, tasks[i]!.frame, limitMs) })), ms };
}

/** Leave a core for onnxruntime and one for main on bigger machines; at least one worker. */
export function defaultPrepWorkers(): number {
  const cores = os.availableParallelism();
  return Math.max(1, Math.min(4, Math.floor(cores / 2)));
}
