// Main's handle on the inference engine: one worker owning the ONNX session. It only exchanges transferred buffers
// with main, so a batch costs main no copying. The preprocessing workers are prep-pool.ts.
import type { ImageEncoderSpec, ModelPackage } from './model-package.ts';
import { LightboxError } from '../../shared/contract.ts';
import type { InferenceProtocol, Loaded, ProviderFallback } from './inference-protocol.ts';
import { providerOrder } from './inference-protocol.ts';
import { imageSize, l2Normalize } from './preprocess.ts';
import { WorkerRpc, workerUrl } from './worker-rpc.ts';

export interface EngineOptions {
  /** auto (the platform's accelerators, then CPU), cpu, cuda, dml, coreml, ... */
  provider?: string;
  /** Threads onnxruntime may use for one run (0 = its default, all cores). */
  threads?: number;
}

export class InferenceEngine {
  readonly pkg: ModelPackage;
  readonly provider: string;
  readonly fallbacks: ProviderFallback[];
  readonly requested: string;
  private readonly rpc: WorkerRpc<InferenceProtocol>;
  private readonly fixedBatch: number | null;
  /** session.run calls of embed() so far, the images they held and their time in the worker (benchmarks read it). */
  readonly runs = { calls: 0, images: 0, ms: 0 };

  private constructor(pkg: ModelPackage, rpc: WorkerRpc<InferenceProtocol>, loaded: Loaded, requested: string) {
    this.pkg = pkg;
    this.rpc = rpc;
    this.provider = loaded.provider;
    this.fallbacks = loaded.fallbacks;
    this.requested = requested;
    const b = loaded.inputShape[0];
    this.fixedBatch = pkg.manifest.imageEncoder.input.batch ?? (b !== undefined && b > 0 ? b : null);
  }

  static async start(pkg: ModelPackage, opts: EngineOptions = {}): Promise<InferenceEngine> {
    const requested = opts.provider ?? 'auto';
    const rpc = new WorkerRpc<InferenceProtocol>(workerUrl('inference-worker'), 'inference');
    const enc = pkg.manifest.imageEncoder;
    try {
      const loaded = await rpc.request('load', {
        modelPath: pkg.encoderPath,
        providers: providerOrder(requested),
        inputName: enc.input.name,
        outputName: enc.output.name,
        intraOpThreads: opts.threads ?? 0,
      });
      return new InferenceEngine(pkg, rpc, loaded, requested);
    } catch (e) {
      await rpc.terminate();
      // A refused package keeps its code (the user's to fix); a crashed worker stays an internal failure.
      const message = `model package ${pkg.dir}: ${(e as Error).message}`;
      throw e instanceof LightboxError ? new LightboxError(e.code, message) : new Error(message);
    }
  }

  get spec(): ImageEncoderSpec {
    return this.pkg.manifest.imageEncoder;
  }

  get dim(): number {
    return this.spec.output.dim;
  }

  /** A readable note when the session did not end on the provider asked for (empty when it did). */
  get fallbackNote(): string {
    return this.fallbacks.map((f) => `${f.provider} unavailable (${f.reason}); using ${this.provider}`).join('; ');
  }

  private dims(n: number): number[] {
    const i = this.spec.input;
    return i.layout === 'NCHW' ? [n, i.channels, i.height, i.width] : [n, i.height, i.width, i.channels];
  }

  /** Embeds n preprocessed images (the buffer is transferred); returns n × dim vectors, L2-normalised if asked. */
  async embed(data: Float32Array<ArrayBuffer>, n: number): Promise<Float32Array> {
    const size = imageSize(this.spec.input);
    const dim = this.dim;
    const out = new Float32Array(n * dim);
    const step = this.fixedBatch ?? n;
    for (let start = 0; start < n; start += step) {
      const count = Math.min(step, n - start);
      const rows = this.fixedBatch ?? count;
      const chunk = start === 0 && rows === n && data.length === n * size ? data : new Float32Array(rows * size);
      if (chunk !== data) chunk.set(data.subarray(start * size, (start + count) * size));
      const r = await this.rpc.request('run', { data: chunk.buffer, dims: this.dims(rows) }, [chunk.buffer]);
      this.runs.calls++;
      this.runs.images += count;
      this.runs.ms += r.ms;
      const y = new Float32Array(r.data);
      if (y.length !== rows * dim) {
        throw new Error(`model package ${this.pkg.dir}: output "${this.spec.output.name}" has ${y.length / rows} values per image, imageEncoder.output.dim says ${dim}`);
      }
      out.set(y.subarray(0, count * dim), start * dim);
    }
    if (this.spec.output.l2Normalize) for (let i = 0; i < n; i++) l2Normalize(out, i * dim, dim);
    return out;
  }

  /** Bare session.run throughput inside the worker (no decoding, no messages per run): images per second. */
  async benchBare(batch: number, runs: number): Promise<number> {
    const rows = this.fixedBatch ?? batch;
    const r = await this.rpc.request('bench', { dims: this.dims(rows), runs });
    return (rows * runs) / (r.ms / 1000);
  }

  async close(): Promise<void> {
    await this.rpc.request('release', {}).catch(() => {});
    await this.rpc.terminate();
  }
}
