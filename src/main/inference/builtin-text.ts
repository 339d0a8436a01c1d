// The built-in baseline's text tower: a toy, generated here like the image encoder (no committed binary), so that
// the demo shows zero-shot from the schema's own prompts and every test run exercises the text path end to end
// (tokenizer.json → @huggingface/tokenizers → ONNX session in the inference worker → vectors in the image space).
// It is not a language model. The tokenizer is WordPiece over a ~100-word radiology vocabulary (whole words only);
// the encoder is a bag of words: each token has a small "concept" vector, the graph averages them over the real
// tokens and a projection maps the average into the image space. Concept vectors are fitted by ridge regression so
// that synthetic captions of the calibration classes ("a chest radiograph showing an enlarged heart", ...) land on
// their class's direction in the built-in image encoder's space (its centroid minus the mean of the centroids).
// Function words and unknown words have no vector, so a prompt
// made only of words the toy does not know embeds to zero (and gets no zero-shot head) instead of to noise.
import fs from 'node:fs';
import path from 'node:path';
import type { TextEncoderSpec } from './model-package.ts';
import type { GraphSpec } from './onnx-writer.ts';
import { writeOnnxModel } from './onnx-writer.ts';

export const TEXT_FILE = 'text_encoder.onnx';
export const TOKENIZER_FILE = 'tokenizer.json';

/** What a caption says, as weights over the calibration classes (abnormal: any of the three findings). */
type Concept = Record<string, number>;
const NORMAL: Concept = { normal: 1 };
const ABNORMAL: Concept = { cardiomegaly: 1, effusion: 1, nodule: 1 };

const PHRASES: [Concept, string[]][] = [
  [NORMAL, ['no abnormality', 'a normal chest', 'normal', 'no acute findings', 'clear lungs', 'unremarkable', 'no finding', 'healthy lungs and heart', 'normal heart size and clear lungs', 'no disease', 'a normal study']],
  [{ cardiomegaly: 1 }, ['an enlarged heart', 'cardiomegaly', 'an enlarged cardiac silhouette', 'a large heart', 'an increased cardiothoracic ratio', 'the heart is enlarged', 'cardiac enlargement', 'a big heart', 'heart enlargement']],
  [{ effusion: 1 }, ['a pleural effusion', 'pleural fluid', 'effusion', 'blunting of the costophrenic angle', 'fluid in the pleural space', 'a left pleural effusion', 'a right pleural effusion', 'layering fluid', 'pleural effusions', 'a meniscus of fluid']],
  [{ nodule: 1 }, ['a lung nodule', 'a pulmonary nodule', 'nodule', 'a small round opacity', 'a nodular opacity', 'a mass in the lung', 'a spot on the lung', 'lung nodules', 'a solitary pulmonary nodule', 'a round lesion']],
  [ABNORMAL, ['an abnormal chest', 'abnormal', 'an abnormality', 'abnormal findings', 'disease', 'a finding', 'pathology', 'an abnormal study']],
];
const FRAMES = ['{}', 'a chest radiograph showing {}', 'chest x-ray with {}', 'frontal chest radiograph: {}', 'pa chest film demonstrating {}', 'an x-ray of the chest with {}', 'radiograph shows {}', 'an image of {}', 'findings: {}', 'a chest radiograph with {}'];
/** Words that carry no finding: no vector of their own, so they neither help nor hurt a caption. */
const FUNCTION_WORDS = ['a', 'an', 'the', 'of', 'with', 'in', 'on', 'and', 'is', 'showing', 'shows', 'demonstrating', 'chest', 'radiograph', 'x', 'ray', '-', ':', ',', '.', 'film', 'image', 'frontal', 'pa', 'findings', 'study', 'photo', 'picture', 'scan', 'view'];
const SPECIAL = ['[PAD]', '[UNK]', '[CLS]', '[SEP]'];

/** Lower-case words and punctuation, as the tokenizer's BERT normaliser and pre-tokeniser split them. */
const words = (s: string): string[] => s.toLowerCase().match(/[a-z0-9]+|[^\sa-z0-9]/g) ?? [];

function captions(): { text: string; concept: Concept }[] {
  const out: { text: string; concept: Concept }[] = [];
  for (const [concept, phrases] of PHRASES) for (const p of phrases) for (const f of FRAMES) out.push({ text: f.replace('{}', p), concept });
  return out;
}

/** Solves (A + λI) X = B for symmetric positive A (n × n), B n × m, by Cholesky; float64. */
function ridgeSolve(a: Float64Array, b: Float64Array, n: number, m: number, lambda: number): Float64Array {
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * n + j]! + (i === j ? lambda : 0);
      for (let k = 0; k < j; k++) s -= l[i * n + k]! * l[j * n + k]!;
      l[i * n + j] = i === j ? Math.sqrt(s) : s / l[j * n + j]!;
    }
  }
  const x = new Float64Array(n * m);
  for (let c = 0; c < m; c++) {
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let s = b[i * m + c]!;
      for (let k = 0; k < i; k++) s -= l[i * n + k]! * y[k]!;
      y[i] = s / l[i * n + i]!;
    }
    for (let i = n - 1; i >= 0; i--) {
      let s = y[i]!;
      for (let k = i + 1; k < n; k++) s -= l[k * n + i]! * x[k * m + c]!;
      x[i * m + c] = s / l[i * n + i]!;
    }
  }
  return x;
}

/**
 * Per class, Σ⁻¹ (centroid − mean centroid) with Σ the within-class covariance of the calibration embeddings plus a
 * ridge (there are fewer images than dimensions), scaled to unit length.
 */
function discriminants(centroids: Float32Array, cal: { embeddings: Float32Array; classes: number[] }, k: number, dim: number): Float32Array {
  const n = cal.classes.length;
  const sigma = new Float64Array(dim * dim);
  const r = new Float64Array(dim);
  for (let i = 0; i < n; i++) {
    const c = cal.classes[i]!;
    for (let d = 0; d < dim; d++) r[d] = cal.embeddings[i * dim + d]! - centroids[c * dim + d]!;
    for (let a = 0; a < dim; a++) {
      const ra = r[a]!;
      if (ra === 0) continue;
      for (let b = 0; b <= a; b++) sigma[a * dim + b]! += (ra * r[b]!) / n;
    }
  }
  let trace = 0;
  for (let a = 0; a < dim; a++) {
    trace += sigma[a * dim + a]!;
    for (let b = 0; b < a; b++) sigma[b * dim + a] = sigma[a * dim + b]!;
  }
  const mean = new Float64Array(dim);
  for (let j = 0; j < k; j++) for (let d = 0; d < dim; d++) mean[d]! += centroids[j * dim + d]! / k;
  const rhs = new Float64Array(dim * k);
  for (let j = 0; j < k; j++) for (let d = 0; d < dim; d++) rhs[d * k + j] = centroids[j * dim + d]! - mean[d]!;
  const x = ridgeSolve(sigma, rhs, dim, k, 0.1 * (trace / dim));
  const out = new Float32Array(k * dim);
  for (let j = 0; j < k; j++) {
    let norm = 0;
    for (let d = 0; d < dim; d++) norm += x[d * k + j]! ** 2;
    norm = Math.sqrt(norm) || 1;
    for (let d = 0; d < dim; d++) out[j * dim + d] = x[d * k + j]! / norm;
  }
  return out;
}

const round = (v: number): number => (v === 0 ? 0 : Number(v.toPrecision(4)));

/**
 * Writes tokenizer.json and text_encoder.onnx into `dir` and returns the manifest's textEncoder entry.
 * `centroids` holds one unit row of `dim` values per class of `classes` (the image encoder's class centroids);
 * `calibration` the unit embeddings of the calibration images and each one's class index.
 */
export function buildToyTextTower(dir: string, centroids: Float32Array, calibration: { embeddings: Float32Array; classes: number[] }, classes: readonly string[], dim: number): { spec: TextEncoderSpec; files: string[] } {
  // Text vectors point along what sets a class apart from the others in this image encoder's space: the linear
  // discriminant of each class against the mean (within-class covariance of the calibration embeddings, ridged,
  // solved against centroid minus mean centroid). The raw centroids are close to each other (normal and nodule at
  // cosine ~0.9), so cosine ranking against them would mostly measure "is a chest radiograph".
  centroids = discriminants(centroids, calibration, classes.length, dim);
  const caps = captions();
  const vocabWords = [...new Set(caps.flatMap((c) => words(c.text)).concat(FUNCTION_WORDS))].sort();
  const vocab = new Map<string, number>(SPECIAL.map((t, i) => [t, i]));
  for (const w of vocabWords) if (!vocab.has(w)) vocab.set(w, vocab.size);
  const content = vocabWords.filter((w) => !FUNCTION_WORDS.includes(w));
  const col = new Map(content.map((w, i) => [w, i]));
  const n = content.length;
  const k = classes.length;
  // Design matrix: each caption's mean over its content words; targets: its concept as class weights (unit length
  // in the image space once projected through the centroids).
  const ata = new Float64Array(n * n);
  const atb = new Float64Array(n * k);
  for (const c of caps) {
    const ws = words(c.text).filter((w) => col.has(w));
    const row = new Float64Array(n);
    for (const w of ws) row[col.get(w)!]! += 1 / ws.length;
    const t = new Float64Array(k);
    classes.forEach((cls, j) => { t[j] = c.concept[cls] ?? 0; });
    // Scale the class weights so their projection is a unit vector.
    const v = new Float64Array(dim);
    for (let j = 0; j < k; j++) for (let d = 0; d < dim; d++) v[d]! += t[j]! * centroids[j * dim + d]!;
    const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0)) || 1;
    for (let j = 0; j < k; j++) t[j]! /= norm;
    for (let i = 0; i < n; i++) {
      if (row[i] === 0) continue;
      for (let j = 0; j < n; j++) ata[i * n + j]! += row[i]! * row[j]!;
      for (let j = 0; j < k; j++) atb[i * k + j]! += row[i]! * t[j]!;
    }
  }
  const w = ridgeSolve(ata, atb, n, k, 0.05);
  const table = new Float32Array(vocab.size * k);
  content.forEach((word, i) => {
    for (let j = 0; j < k; j++) table[vocab.get(word)! * k + j] = round(w[i * k + j]!);
  });
  const projection = Float32Array.from(centroids.subarray(0, k * dim), round);

  const graph: GraphSpec = {
    name: 'lightbox-builtin-text',
    producer: 'lightbox builtin-text.ts',
    docString: 'Lightbox built-in toy text tower: mean of per-word concept vectors over the real tokens, projected onto the image encoder\'s class centroids. Not a language model.',
    inputs: [
      { name: 'input_ids', shape: ['batch', 'sequence'], dtype: 'int64' },
      { name: 'attention_mask', shape: ['batch', 'sequence'], dtype: 'int64' },
    ],
    outputs: [{ name: 'text_embeds', shape: ['batch', dim] }],
    initializers: [
      { name: 'token_concepts', dims: [vocab.size, k], data: table },
      { name: 'projection', dims: [k, dim], data: projection },
      { name: 'axis1', dims: [1], data: [1], int64: true },
      { name: 'axis2', dims: [1], data: [2], int64: true },
      { name: 'one', dims: [1], data: [1] },
    ],
    nodes: [
      { op: 'Gather', inputs: ['token_concepts', 'input_ids'], outputs: ['tokens'], attrs: { axis: { int: 0 } } },
      { op: 'Cast', inputs: ['attention_mask'], outputs: ['mask'], attrs: { to: { int: 1 } } },
      { op: 'Unsqueeze', inputs: ['mask', 'axis2'], outputs: ['mask3'] },
      { op: 'Mul', inputs: ['tokens', 'mask3'], outputs: ['masked'] },
      { op: 'ReduceSum', inputs: ['masked', 'axis1'], outputs: ['summed'], attrs: { keepdims: { int: 0 } } },
      { op: 'ReduceSum', inputs: ['mask', 'axis1'], outputs: ['count'], attrs: { keepdims: { int: 1 } } },
      { op: 'Max', inputs: ['count', 'one'], outputs: ['count1'] },
      { op: 'Div', inputs: ['summed', 'count1'], outputs: ['mean'] },
      { op: 'MatMul', inputs: ['mean', 'projection'], outputs: ['text_embeds'] },
    ],
  };
  fs.writeFileSync(path.join(dir, TEXT_FILE), writeOnnxModel(graph));
  fs.writeFileSync(path.join(dir, TOKENIZER_FILE), `${JSON.stringify(tokenizerJson(vocab), null, 1)}\n`);
  return {
    files: [TEXT_FILE, TOKENIZER_FILE],
    spec: {
      file: TEXT_FILE,
      tokenizer: TOKENIZER_FILE,
      inputIds: 'input_ids',
      attentionMask: 'attention_mask',
      idsDtype: 'int64',
      output: 'text_embeds',
      maxLength: 64,
      padding: 'longest',
      truncation: true,
      pooling: 'none',
      dim,
      l2Normalize: true,
      logitScale: 20,
    },
  };
}

/** A WordPiece tokenizer.json (whole words only) with BERT's normaliser, pre-tokeniser and [CLS] … [SEP] template. */
function tokenizerJson(vocab: Map<string, number>): object {
  const special = (content: string): object => ({ id: vocab.get(content)!, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIAL.map(special),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }],
      pair: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }, { SpecialToken: { id: '[SEP]', type_id: 1 } }],
      special_tokens: Object.fromEntries(['[CLS]', '[SEP]'].map((t) => [t, { id: t, ids: [vocab.get(t)!], tokens: [t] }])),
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab: Object.fromEntries(vocab) },
  };
}
