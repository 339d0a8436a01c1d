// The text tower's session, inside the inference worker (never on the thread that answers the UI): tokenizer,
// ONNX session, pooling, projection and normalisation, all as the package's manifest says. Loading runs one probe
// text, so a graph whose output has the wrong shape is refused at load with the file and field named, not at the
// first prompt.
import fs from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import type { Tokenizer } from '@huggingface/tokenizers';
import { LightboxError } from '../../shared/contract.ts';
import type { ProviderFallback, TextLoadRequest, TextRunResult } from './inference-protocol.ts';
import type { TextEncoderSpec } from './model-package.ts';
import { encodeTexts, padIdOf, poolOutput, readTokenizer } from './text-tokens.ts';

const refused = (message: string): LightboxError => new LightboxError('bad-request', message);
/** Texts per session.run: prompts come a few at a time; a long list is split so no tensor grows without bound. */
const BATCH = 64;

interface Loaded {
  session: ort.InferenceSession;
  tokenizer: Tokenizer;
  padId: number;
  spec: TextEncoderSpec;
  file: string;
  projection: Float32Array | null;
}

let text: Loaded | null = null;

function reason(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0]!.slice(0, 500);
}

function intTensor(spec: TextEncoderSpec, values: number[], dims: number[]): ort.Tensor {
  return spec.idsDtype === 'int32'
    ? new ort.Tensor('int32', Int32Array.from(values), dims)
    : new ort.Tensor('int64', BigInt64Array.from(values, (v) => BigInt(v)), dims);
}

async function embed(t: Loaded, texts: string[]): Promise<{ data: Float32Array<ArrayBuffer>; tokens: number[] }> {
  const { spec } = t;
  const out = new Float32Array(texts.length * spec.dim);
  const tokens: number[] = [];
  for (let start = 0; start < texts.length; start += BATCH) {
    const part = texts.slice(start, start + BATCH);
    const batch = encodeTexts(t.tokenizer, spec, t.padId, part);
    tokens.push(...batch.lengths);
    const dims = [batch.rows, batch.length];
    const feeds: Record<string, ort.Tensor> = { [spec.inputIds]: intTensor(spec, batch.ids, dims) };
    if (spec.attentionMask) feeds[spec.attentionMask] = intTensor(spec, batch.mask, dims);
    if (spec.tokenTypeIds) feeds[spec.tokenTypeIds] = intTensor(spec, new Array<number>(batch.ids.length).fill(0), dims);
    const res = await t.session.run(feeds, [spec.output]);
    const y = res[spec.output] as ort.Tensor;
    let pooled: { data: Float32Array; width: number };
    try {
      if (y.type !== 'float32') throw new Error(`its element type is ${y.type}, not float32`);
      pooled = poolOutput(y.data as Float32Array, y.dims, batch, spec.pooling);
      const want = t.projection ? spec.projection!.rows : spec.dim;
      if (pooled.width !== want) {
        throw new Error(t.projection
          ? `${pooled.width} values per text, but textEncoder.projection.rows is ${want}`
          : `${pooled.width} values per text, but textEncoder.dim is ${spec.dim} (set textEncoder.projection if the graph leaves out the projection)`);
      }
    } catch (e) {
      throw refused(`textEncoder.file ${t.file}: output "${spec.output}" does not fit the manifest: ${(e as Error).message}`);
    } finally {
      for (const f of Object.values(feeds)) f.dispose();
      y.dispose();
    }
    for (let r = 0; r < part.length; r++) {
      const o = (start + r) * spec.dim;
      if (t.projection) {
        const rows = spec.projection!.rows;
        for (let h = 0; h < rows; h++) {
          const v = pooled.data[r * rows + h]!;
          if (v === 0) continue;
          for (let d = 0; d < spec.dim; d++) out[o + d]! += v * t.projection[h * spec.dim + d]!;
        }
      } else out.set(pooled.data.subarray(r * spec.dim, (r + 1) * spec.dim), o);
      if (spec.l2Normalize) {
        let norm = 0;
        for (let d = 0; d < spec.dim; d++) norm += out[o + d]! ** 2;
        norm = Math.sqrt(norm);
        // A text the model has no words for comes out as (nearly) zero: leave it zero rather than amplify noise.
        for (let d = 0; d < spec.dim; d++) out[o + d] = norm > 1e-6 ? out[o + d]! / norm : 0;
      }
    }
  }
  return { data: out, tokens };
}

export async function loadText(req: TextLoadRequest): Promise<{ provider: string; fallbacks: ProviderFallback[] }> {
  await text?.session.release();
  text = null;
  const { spec } = req;
  const file = path.basename(req.modelPath);
  const tokenizer = readTokenizer(req.tokenizerPath);
  let projection: Float32Array | null = null;
  if (req.projectionPath) {
    const buf = fs.readFileSync(req.projectionPath);
    projection = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length));
  }
  const fallbacks: ProviderFallback[] = [];
  for (const provider of req.providers) {
    let s: ort.InferenceSession;
    try {
      s = await ort.InferenceSession.create(req.modelPath, { executionProviders: [provider], graphOptimizationLevel: 'all', logSeverityLevel: 4 });
    } catch (e) {
      fallbacks.push({ provider, reason: reason(e) });
      continue;
    }
    const names: [string, string | undefined][] = [['inputIds', spec.inputIds], ['attentionMask', spec.attentionMask], ['tokenTypeIds', spec.tokenTypeIds]];
    const missing = names.find(([, n]) => n !== undefined && !s.inputNames.includes(n));
    const problem = missing
      ? `textEncoder.${missing[0]} is "${missing[1]}" but the inputs of ${file} are ${JSON.stringify(s.inputNames)}`
      : !s.outputNames.includes(spec.output)
        ? `textEncoder.output is "${spec.output}" but the outputs of ${file} are ${JSON.stringify(s.outputNames)}`
        : null;
    if (problem) {
      await s.release();
      throw refused(problem);
    }
    const loaded: Loaded = { session: s, tokenizer, padId: padIdOf(tokenizer, spec), spec, file, projection };
    try {
      await embed(loaded, ['a']);
    } catch (e) {
      await s.release();
      if (e instanceof LightboxError) throw e;
      throw refused(`textEncoder.file ${file} failed on a probe text: ${reason(e)}`);
    }
    text = loaded;
    return { provider, fallbacks };
  }
  throw refused(`no execution provider could load ${file}: ${fallbacks.map((f) => `${f.provider}: ${f.reason}`).join('; ')}`);
}

export async function embedText(texts: string[]): Promise<TextRunResult> {
  if (!text) throw new Error('inference-worker: no text encoder loaded');
  const t0 = performance.now();
  const { data, tokens } = await embed(text, texts);
  return { data: data.buffer, n: texts.length, dim: text.spec.dim, tokens, ms: performance.now() - t0 };
}

export async function releaseText(): Promise<void> {
  await text?.session.release();
  text = null;
}
