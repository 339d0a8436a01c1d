// The frames the viewer draws are decoded in a small pool of worker threads, each frame with a time limit: a frame
// that takes longer is stopped by ending its worker (worker-pool.ts), answered with an error that names the file,
// and the next frame gets a fresh worker. One frame per worker at a time, so a stop affects only that frame.
import { LightboxError } from '../../shared/contract.ts';
import { WorkerPool, WorkerTimedOut } from '../inference/worker-pool.ts';
import { workerUrl } from '../inference/worker-rpc.ts';
import { decodeStoppedReason, decodeTimeoutMs } from './decode-limit.ts';
import type { DisplayProtocol } from './display-protocol.ts';

export class DisplayDecoder {
  private readonly pool: WorkerPool<DisplayProtocol>;
  /** The per-frame limit (decode-limit.ts). */
  timeoutMs: number;

  constructor(size = 2, timeoutMs = decodeTimeoutMs()) {
    this.pool = new WorkerPool<DisplayProtocol>({ url: workerUrl('display-worker', import.meta.url), name: 'display', size });
    this.timeoutMs = timeoutMs;
  }

  /** One frame (1-based) of a file as the viewer draws it. */
  async frame(file: string, frame: number): Promise<Buffer> {
    try {
      const bytes = await this.pool.request('frame', { file, frame }, { timeoutMs: this.timeoutMs });
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    } catch (e) {
      if (e instanceof WorkerTimedOut) throw new LightboxError('io', decodeStoppedReason(file, frame, e.limitMs));
      throw e;
    }
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}
