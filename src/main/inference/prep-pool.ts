// The preprocessing workers: read, decode and resize frames into the model's input tensor, off main's thread.
// Decoding is bounded in time. A batch that runs past its limit has its worker ended (worker-pool.ts) and each of
// its frames is tried again alone with the per-frame limit: a frame that stalls fails by itself with a reason
// naming its file, and the others of the batch are embedded as usual.
import os from 'node:os';
import { decodeStoppedReason, decodeTimeoutMs } from '../dicom/decode-limit.ts';
import type { ImageEncoderSpec } from './model-package.ts';
import type { PrepProtocol, PrepResult, PrepTask } from './inference-protocol.ts';
import { imageSize } from './preprocess.ts';
import { WorkerPool, WorkerTimedOut } from './worker-pool.ts';
import { workerUrl } from './worker-rpc.ts';

/** Frames a batch is allowed per-frame limits for: a batch of 32 may take 4 limits before its frames go one by one. */
const FRAMES_PER_LIMIT = 8;

/** A pool of preprocessing workers (worker-pool.ts): each batch goes to the next free one. */
export class PrepPool {
  private readonly pool: WorkerPool<PrepProtocol>;
  /** The per-frame limit (decode-limit.ts); a batch of n frames gets ceil(n / 8) of them. */
  timeoutMs: number;

  constructor(size = defaultPrepWorkers(), timeoutMs = decodeTimeoutMs()) {
    this.timeoutMs = timeoutMs;
    this.pool = new WorkerPool<PrepProtocol>({ url: workerUrl('prep-worker'), name: 'prep', size });
  }

  get size(): number {
    return this.pool.size;
  }

  async prep(spec: ImageEncoderSpec, tasks: PrepTask[]): Promise<PrepResult> {
    const limit = this.timeoutMs * Math.max(1, Math.ceil(tasks.length / FRAMES_PER_LIMIT));
    try {
      return await this.bounded(spec, tasks, limit);
    } catch (e) {
      if (!(e instanceof WorkerTimedOut)) throw e;
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
        if (!(e instanceof WorkerTimedOut)) throw e;
        failures.push({ index: i, reason: decodeStoppedReason(tasks[i]!.file, tasks[i]!.frame, this.timeoutMs) });
      }
    }
    return { data: data.buffer, failures, ms };
  }

  private bounded(spec: ImageEncoderSpec, tasks: PrepTask[], limitMs: number): Promise<PrepResult> {
    return this.pool.request('prep', { spec, tasks }, { timeoutMs: limitMs });
  }

  async close(): Promise<void> {
    await this.pool.close();
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
