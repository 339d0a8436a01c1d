// The worker thread that owns onnxruntime-node. session.run blocks the thread it is called on (upstream
// microsoft/onnxruntime#26968), so it never runs on the thread that answers the UI. Execution providers are tried
// in order; one that fails to load is reported with its reason and the next is tried, ending on CPU.
import * as ort from 'onnxruntime-node';
import { LightboxError } from '../../shared/contract.ts';
import type { InferenceProtocol, Loaded, LoadRequest, ProviderFallback, RunResult } from './inference-protocol.ts';
import { embedText, loadText, releaseText } from './text-session.ts';
import { serveRpc, transferring } from './worker-rpc.ts';

// Provider load failures are reported through the fallback list; keep onnxruntime's own logger to fatal errors.
ort.env.logLevel = 'fatal';

let session: ort.InferenceSession | null = null;
let inputName = '';
let outputName = '';

/** The model package is at fault (its tensor names, or no provider can load its ONNX file): the user's to fix. */
const refused = (message: string): LightboxError => new LightboxError('bad-request', message);

function reason(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0]!.slice(0, 500);
}

async function load(req: LoadRequest): Promise<Loaded> {
  inputName = req.inputName;
  outputName = req.outputName;
  const fallbacks: ProviderFallback[] = [];
  await session?.release();
  session = null;
  for (const provider of req.providers) {
    let s: ort.InferenceSession;
    try {
      s = await ort.InferenceSession.create(req.modelPath, {
        executionProviders: [provider],
        graphOptimizationLevel: 'all',
        // Fatal only: a provider that fails to load reaches the user through the fallback list instead.
        logSeverityLevel: 4,
        // Other threads (preprocessing, main) share the cores: spinning intra-op threads would steal their time.
        extra: { session: { intra_op: { allow_spinning: '0' } } },
        ...(req.intraOpThreads ? { intraOpNumThreads: req.intraOpThreads } : {}),
      });
    } catch (e) {
      fallbacks.push({ provider, reason: reason(e) });
      continue;
    }
    const problem = !s.inputNames.includes(inputName)
      ? `imageEncoder.input.name is "${inputName}" but the model's inputs are ${JSON.stringify(s.inputNames)}`
      : !s.outputNames.includes(outputName)
        ? `imageEncoder.output.name is "${outputName}" but the model's outputs are ${JSON.stringify(s.outputNames)}`
        : null;
    if (problem) {
      await s.release();
      throw refused(problem);
    }
    session = s;
    const meta = s.inputMetadata.find((m) => m.name === inputName);
    const inputShape = meta && meta.isTensor ? meta.shape.map((d) => (typeof d === 'number' ? d : -1)) : [];
    return { provider, fallbacks, inputShape };
  }
  throw refused(`no execution provider could load the model: ${fallbacks.map((f) => `${f.provider}: ${f.reason}`).join('; ')}`);
}

function live(): ort.InferenceSession {
  if (!session) throw new Error('inference-worker: no model loaded');
  return session;
}

/** Runs one after another: ort's run() defers to setImmediate, so a queued batch's clock would start early. */
let queue: Promise<unknown> = Promise.resolve();

function run(req: InferenceProtocol['run']['request']): Promise<RunResult> {
  const next = queue.then(() => runNow(req));
  queue = next.catch(() => {});
  return next;
}

async function runNow(req: InferenceProtocol['run']['request']): Promise<RunResult> {
  const s = live();
  const t0 = performance.now();
  const input = new ort.Tensor('float32', new Float32Array(req.data), req.dims);
  const out = await s.run({ [inputName]: input }, [outputName]);
  const y = out[outputName] as ort.Tensor;
  const data = (y.data as Float32Array).slice();
  const dims = [...y.dims];
  input.dispose();
  y.dispose();
  return { data: data.buffer, dims, ms: performance.now() - t0 };
}

/** Bare session.run throughput on one random batch of the given shape: the benchmark's anchor. */
async function bench(req: InferenceProtocol['bench']['request']): Promise<{ ms: number }> {
  const s = live();
  const n = req.dims.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = Math.random() * 2 - 1;
  const input = new ort.Tensor('float32', data, req.dims);
  (await s.run({ [inputName]: input }, [outputName]))[outputName]!.dispose(); // warm-up
  const t0 = performance.now();
  for (let i = 0; i < req.runs; i++) (await s.run({ [inputName]: input }, [outputName]))[outputName]!.dispose();
  return { ms: performance.now() - t0 };
}

serveRpc<InferenceProtocol>('inference-worker', {
  load,
  run: async (req) => {
    const r = await run(req);
    return transferring(r, [r.data]);
  },
  bench,
  release: async () => {
    await session?.release();
    session = null;
    await releaseText();
    return {};
  },
  loadText,
  embedText: async (req) => {
    const r = await embedText(req.texts);
    return transferring(r, [r.data]);
  },
});
