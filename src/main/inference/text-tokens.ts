// Text → token id tensors for a package's text encoder: the tokenizer.json run with @huggingface/tokenizers (pure JS:
// BPE for CLIP / MedImageInsight, WordPiece for BiomedCLIP's BiomedBERT, Unigram), then the manifest's context
// length, truncation and padding. Runs in the inference worker, next to the session that consumes the ids.
import fs from 'node:fs';
import path from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { LightboxError } from '../../shared/contract.ts';
import type { TextEncoderSpec } from './model-package.ts';

export interface TokenBatch {
  /** rows × length ids, row-major, padded with the pad id. */
  ids: number[];
  /** rows × length: 1 for a real token, 0 for padding. */
  mask: number[];
  rows: number;
  length: number;
  /** Real tokens per row (after truncation). */
  lengths: number[];
}

/** Reads a tokenizer.json; a file the library cannot use is the package's to fix, and the message names it. */
export function readTokenizer(file: string): Tokenizer {
  const name = path.basename(file);
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new LightboxError('bad-request', `textEncoder.tokenizer ${name} is not valid JSON (${(e as Error).message.split('\n')[0]}); a package needs the model's Hugging Face tokenizer.json`);
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) {
    throw new LightboxError('bad-request', `textEncoder.tokenizer ${name} is not a tokenizer.json (expected an object with "model", "normalizer", "pre_tokenizer", ...)`);
  }
  const tj = json as Record<string, unknown>;
  // The library wants every section present; a tokenizer.json saved by `tokenizers` has them, possibly null.
  for (const key of ['normalizer', 'pre_tokenizer', 'post_processor', 'decoder']) if (!(key in tj)) tj[key] = null;
  tj.added_tokens ??= [];
  let tok: Tokenizer;
  try {
    tok = new Tokenizer(tj, {});
    tok.encode('a');
  } catch (e) {
    throw new LightboxError('bad-request', `textEncoder.tokenizer ${name} cannot be used by @huggingface/tokenizers: ${(e as Error).message.split('\n')[0]}`);
  }
  return tok;
}

/** The id padding uses: the manifest's, else the tokenizer's own pad token, else 0. */
export function padIdOf(tok: Tokenizer, spec: TextEncoderSpec): number {
  if (spec.padId !== undefined) return spec.padId;
  for (const t of ['[PAD]', '<pad>', '<|endoftext|>', '</s>']) {
    const id = tok.token_to_id(t);
    if (id !== undefined) return id;
  }
  return 0;
}

export function encodeTexts(tok: Tokenizer, spec: TextEncoderSpec, padId: number, texts: readonly string[]): TokenBatch {
  const seqs = texts.map((text, i) => {
    const ids = tok.encode(text).ids.map(Number);
    if (ids.length === 0) throw new LightboxError('bad-request', `text ${i + 1} ("${text.slice(0, 80)}") has no tokens; give some words`);
    if (ids.length <= spec.maxLength) return ids;
    if (!spec.truncation) {
      throw new LightboxError('bad-request', `text ${i + 1} ("${text.slice(0, 80)}…") has ${ids.length} tokens; this model takes at most ${spec.maxLength} (textEncoder.maxLength): shorten it`);
    }
    // Keep the final token: it is the end-of-text / [SEP] marker that EOT pooling and BERT towers rely on.
    return [...ids.slice(0, spec.maxLength - 1), ids[ids.length - 1]!];
  });
  const length = spec.padding === 'max_length' ? spec.maxLength : Math.max(...seqs.map((s) => s.length));
  const ids = new Array<number>(seqs.length * length).fill(padId);
  const mask = new Array<number>(seqs.length * length).fill(0);
  seqs.forEach((s, r) => {
    for (let j = 0; j < s.length; j++) {
      ids[r * length + j] = s[j]!;
      mask[r * length + j] = 1;
    }
  });
  return { ids, mask, rows: seqs.length, length, lengths: seqs.map((s) => s.length) };
}

/**
 * One vector per text from the graph's output: as is (`none`, [rows, width]) or pooled from [rows, length, width]
 * at the last real token (`eot`), the first (`cls`) or over the real tokens (`mean`).
 */
export function poolOutput(data: Float32Array, dims: readonly number[], batch: TokenBatch, pooling: TextEncoderSpec['pooling']): { data: Float32Array; width: number } {
  const { rows } = batch;
  if (pooling === 'none') {
    if (dims.length !== 2 || dims[0] !== rows) throw new Error(`expected [${rows}, width], got [${dims.join(', ')}]`);
    return { data, width: dims[1]! };
  }
  if (dims.length !== 3 || dims[0] !== rows || dims[1] !== batch.length) throw new Error(`expected [${rows}, ${batch.length}, hidden] for pooling "${pooling}", got [${dims.join(', ')}]`);
  const width = dims[2]!;
  const len = batch.length;
  const out = new Float32Array(rows * width);
  for (let r = 0; r < rows; r++) {
    const n = batch.lengths[r]!;
    if (pooling === 'mean') {
      for (let j = 0; j < n; j++) for (let d = 0; d < width; d++) out[r * width + d]! += data[(r * len + j) * width + d]! / n;
    } else {
      const at = pooling === 'cls' ? 0 : n - 1;
      out.set(data.subarray((r * len + at) * width, (r * len + at + 1) * width), r * width);
    }
  }
  return { data: out, width };
}
