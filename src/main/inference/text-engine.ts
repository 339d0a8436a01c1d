// Main's handle on a package's text tower: an inference worker (inference-worker.ts, text-session.ts) that owns the
// text session and the tokenizer, so tokenising and session.run never block the thread answering the UI. Vectors
// are cached by text per text tower: a prompt is embedded once, and editing one prompt re-embeds only that one.
import { LightboxError } from '../../shared/contract.ts';
import type { InferenceProtocol, ProviderFallback } from './inference-protocol.ts';
import { providerOrder } from './inference-protocol.ts';
import type { ModelPackage } from './model-package.ts';
import { WorkerRpc, workerUrl } from './worker-rpc.ts';

/** Cached vectors per text tower: enough for every prompt of a large schema and a session of searches. */
const CACHE_LIMIT = 4096;

export class TextEngine {
  readonly pkg: ModelPackage;
  readonly provider: string;
  readonly fallbacks: ProviderFallback[];
  private readonly rpc: WorkerRpc<InferenceProtocol>;

  private constructor(pkg: ModelPackage, rpc: WorkerRpc<InferenceProtocol>, loaded: { provider: string; fallbacks: ProviderFallback[] }) {
    this.pkg = pkg;
    this.rpc = rpc;
    this.provider = loaded.provider;
    this.fallbacks = loaded.fallbacks;
  }

  /** Starts the text tower of a package; a package without one, or one that does not fit its manifest, is refused. */
  static async start(pkg: ModelPackage, provider = 'cpu'): Promise<TextEngine> {
    const t = pkg.text;
    if (!t) throw noTextEncoder(pkg);
    const rpc = new WorkerRpc<InferenceProtocol>(workerUrl('inference-worker'), 'text-encoder');
    try {
      const loaded = await rpc.request('loadText', { modelPath: t.modelPath, tokenizerPath: t.tokenizerPath, projectionPath: t.projectionPath, spec: t.spec, providers: providerOrder(provider) });
      return new TextEngine(pkg, rpc, loaded);
    } catch (e) {
      await rpc.terminate();
      const message = `model package ${pkg.dir}: ${(e as Error).message}`;
      throw e instanceof LightboxError ? new LightboxError(e.code, message) : new Error(message);
    }
  }

  get dim(): number {
    return this.pkg.text!.spec.dim;
  }

  /** n × dim vectors, one row per text. */
  async embed(texts: string[]): Promise<{ vectors: Float32Array; tokens: number[] }> {
    if (texts.length === 0) return { vectors: new Float32Array(0), tokens: [] };
    try {
      const r = await this.rpc.request('embedText', { texts });
      return { vectors: new Float32Array(r.data), tokens: r.tokens };
    } catch (e) {
      const message = `model package ${this.pkg.dir}: ${(e as Error).message}`;
      throw e instanceof LightboxError ? new LightboxError(e.code, message) : new Error(message);
    }
  }

  async close(): Promise<void> {
    await this.rpc.request('release', {}).catch(() => {});
    await this.rpc.terminate();
  }
}

export function noTextEncoder(pkg: ModelPackage): LightboxError {
  return new LightboxError('bad-request', `model ${pkg.manifest.name} (${pkg.dir}) has no text encoder: text search and zero-shot from prompts need a package with "textEncoder" (README, "Model packages")`);
}

/** One text tower at a time (the current package's), with its vectors cached by text. */
export class TextEmbedder {
  private engine: TextEngine | null = null;
  private starting: Promise<TextEngine> | null = null;
  private key = '';
  private readonly cache = new Map<string, Float32Array>();
  private readonly provider: string;

  constructor(provider = 'cpu') {
    this.provider = provider;
  }

  private async engineFor(pkg: ModelPackage): Promise<TextEngine> {
    if (!pkg.text) throw noTextEncoder(pkg);
    const key = pkg.text.sha256;
    if (this.key !== key) {
      const old = this.engine;
      this.engine = null;
      this.starting = null;
      this.cache.clear();
      this.key = key;
      await old?.close();
    }
    if (this.engine) return this.engine;
    // Concurrent callers share one start; a failed start is retried by the next call.
    this.starting ??= TextEngine.start(pkg, this.provider).then(
      (e) => { if (this.key === key) this.engine = e; else void e.close(); return e; },
      (e: unknown) => { this.starting = null; throw e; },
    );
    return this.starting;
  }

  /** Unit vectors (zero for a text the model has no words for), one per text, in order. */
  async embed(pkg: ModelPackage, texts: readonly string[]): Promise<Float32Array[]> {
    const engine = await this.engineFor(pkg);
    const missing = [...new Set(texts.filter((t) => !this.cache.has(t)))];
    if (missing.length) {
      const { vectors } = await engine.embed(missing);
      const dim = engine.dim;
      missing.forEach((t, i) => this.cache.set(t, vectors.slice(i * dim, (i + 1) * dim)));
      while (this.cache.size > CACHE_LIMIT) this.cache.delete(this.cache.keys().next().value!);
    }
    return texts.map((t) => this.cache.get(t)!);
  }

  /** The provider the text session runs on, once started. */
  get providerInUse(): string | null {
    return this.engine?.provider ?? null;
  }

  async close(): Promise<void> {
    const e = this.engine ?? (await this.starting?.catch(() => null)) ?? null;
    this.engine = null;
    this.starting = null;
    this.key = '';
    await e?.close();
  }
}
