// Messages between main and the inference worker (plain structured-clone data; tensors travel as transferred
// ArrayBuffers, so a batch is never copied on the way).

// Every request carries an id its reply repeats; a reply is either ok with a body or a failure message.
export type WorkerRequest = { id: number } & (
  | { type: 'load'; modelPath: string; providers: string[]; inputName: string; outputName: string; intraOpThreads?: number }
  | { type: 'run'; data: ArrayBuffer; dims: number[] }
  | { type: 'bench'; dims: number[]; runs: number }
  | { type: 'release' }
);

export interface Loaded { provider: string; fallbacks: ProviderFallback[]; inputShape: number[] }
export interface RunResult { data: ArrayBuffer; dims: number[]; ms: number }

export type WorkerReply = { id: number } & ({ ok: true; body: unknown } | { ok: false; message: string });

export interface ProviderFallback {
  provider: string;
  reason: string;
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
