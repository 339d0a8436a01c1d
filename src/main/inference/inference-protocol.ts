// The protocols of the inference and preprocessing workers (see worker-rpc.ts): plain structured-clone data;
// tensors travel as transferred ArrayBuffers, so a batch is never copied on the way.
import type { ImageEncoderSpec, TextEncoderSpec } from './model-package.ts';

export interface LoadRequest { modelPath: string; providers: string[]; inputName: string; outputName: string; intraOpThreads?: number }
export interface Loaded { provider: string; fallbacks: ProviderFallback[]; inputShape: number[] }
export interface RunResult { data: ArrayBuffer; dims: number[]; ms: number }

/** A package's text tower: its ONNX file, tokenizer.json and optional projection matrix, as the manifest names them. */
export interface TextLoadRequest { modelPath: string; tokenizerPath: string; projectionPath: string | null; spec: TextEncoderSpec; providers: string[] }
/** n × dim text vectors (L2-normalised if the manifest asks; a text the model maps to nothing stays all zeros). */
export interface TextRunResult { data: ArrayBuffer; n: number; dim: number; tokens: number[]; ms: number }

export interface ProviderFallback {
  provider: string;
  reason: string;
}

/** inference-worker.ts: owns the onnxruntime session. */
export interface InferenceProtocol {
  /** Creates the session on the first provider that loads; a model whose tensor names differ is refused. */
  load: { request: LoadRequest; reply: Loaded };
  run: { request: { data: ArrayBuffer; dims: number[] }; reply: RunResult };
  /** Bare session.run throughput on one random batch of the given shape. */
  bench: { request: { dims: number[]; runs: number }; reply: { ms: number } };
  release: { request: Record<string, never>; reply: Record<string, never> };
  /** Creates the text session and tokenizer; a tokenizer, tensor name or output shape that does not fit is refused. */
  loadText: { request: TextLoadRequest; reply: { provider: string; fallbacks: ProviderFallback[] } };
  /** Tokenises and embeds texts with the loaded text tower. */
  embedText: { request: { texts: string[] }; reply: TextRunResult };
}

/** Providers to try, in order, for a request: `auto` means the platform's accelerators, then CPU. */
export function providerOrder(requested: string, platform: NodeJS.Platform = process.platform): string[] {
  if (requested === 'cpu') return ['cpu'];
  if (requested !== 'auto') return [requested, 'cpu'];
  if (platform === 'win32') return ['cuda', 'dml', 'cpu'];
  if (platform === 'darwin') return ['coreml', 'cpu'];
  return ['cuda', 'cpu'];
}

/** One frame for a preprocessing worker to read, decode and preprocess. */
export interface PrepTask { file: string; frame: number }
/** A preprocessed batch: tasks.length input slots; failed slots are left empty and listed. */
export interface PrepResult { data: ArrayBuffer; failures: { index: number; reason: string }[]; ms: number }

/** prep-worker.ts: reads, decodes and preprocesses frames into one input tensor. */
export interface PrepProtocol {
  prep: { request: { spec: ImageEncoderSpec; tasks: PrepTask[] }; reply: PrepResult };
}
