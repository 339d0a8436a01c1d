// The text side of a model package through its public surface: loadModelPackage → TextEngine (a real onnxruntime
// session and @huggingface/tokenizers in an inference worker). The built-in toy tower puts the demo prompts on
// their classes' image centroids; generated packages check BPE tokenizers, CLS / EOT pooling, a projection file,
// max_length padding and truncation; broken packages are refused with the file and field named.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuiltinModel } from '../../src/main/inference/builtin-model.ts';
import type { ModelPackage, TextEncoderSpec } from '../../src/main/inference/model-package.ts';
import { loadModelPackage, writeManifest } from '../../src/main/inference/model-package.ts';
import { writeOnnxModel } from '../../src/main/inference/onnx-writer.ts';
import { TextEmbedder, TextEngine } from '../../src/main/inference/text-engine.ts';
import { DEMO_SCHEMA } from '../../src/shared/label-schema.ts';
import { tempDir } from '../helpers.ts';

const HOME = tempDir('lightbox-text-home-');
let builtin: ModelPackage;
const engines: { close(): Promise<void> }[] = [];

beforeAll(async () => {
  builtin = await ensureBuiltinModel(HOME);
}, 60_000);
afterAll(async () => {
  for (const e of engines) await e.close();
});

const dot = (a: Float32Array, b: Float32Array, bo = 0): number => a.reduce((s, v, i) => s + v * b[bo + i]!, 0);

describe('the built-in toy text tower', () => {
  it('embeds each demo prompt nearest its own class centroid, in the worker, as unit vectors', async () => {
    const engine = await TextEngine.start(builtin);
    engines.push(engine);
    expect(engine.provider).toBe('cpu');
    const labels = DEMO_SCHEMA.groups[0]!.labels.filter((l) => l.key !== 'abnormal');
    const { vectors, tokens } = await engine.embed(labels.map((l) => l.prompt));
    const head = builtin.zeroShot!;
    const dim = builtin.manifest.imageEncoder.output.dim;
    labels.forEach((l, i) => {
      const v = vectors.subarray(i * dim, (i + 1) * dim);
      expect(Math.hypot(...v)).toBeCloseTo(1, 4);
      const scores = head.labels.map((_, c) => dot(v, head.embeddings, c * dim));
      expect(head.labels[scores.indexOf(Math.max(...scores))]!.name).toBe(l.key);
    });
    // [CLS] + words + [SEP]: "a normal chest radiograph" is 4 words.
    expect(tokens[0]).toBe(6);
  });

  it('a text of words the toy does not know embeds to zero, not to noise', async () => {
    const t = new TextEmbedder();
    engines.push(t);
    const [unknown, known] = await t.embed(builtin, ['a rotated chest radiograph', 'pleural fluid']);
    expect(unknown!.every((v) => v === 0)).toBe(true);
    expect(Math.hypot(...known!)).toBeCloseTo(1, 4);
  });
});

/** A package with the built-in image encoder and a generated text tower: tokens → rows of `table` ([batch, seq, hidden]). */
function textPackage(name: string, opts: { spec: Partial<TextEncoderSpec>; tokenizer: object | string; table: Float32Array; hidden: number; vocab: number; fixedLength?: number; projection?: Float32Array }): string {
  const dir = path.join(tempDir('lightbox-textpkg-'), name);
  fs.mkdirSync(dir);
  fs.copyFileSync(builtin.encoderPath, path.join(dir, 'image_encoder.onnx'));
  const seq = opts.fixedLength ?? 'sequence';
  fs.writeFileSync(path.join(dir, 'text.onnx'), writeOnnxModel({
    name, producer: 'text-encoder.test.ts', nodes: [{ op: 'Gather', inputs: ['table', 'ids'], outputs: ['hidden'], attrs: { axis: { int: 0 } } }],
    initializers: [{ name: 'table', dims: [opts.vocab, opts.hidden], data: opts.table }],
    inputs: [{ name: 'ids', shape: ['batch', seq], dtype: 'int64' }],
    outputs: [{ name: 'hidden', shape: ['batch', seq, opts.hidden] }],
  }));
  fs.writeFileSync(path.join(dir, 'tokenizer.json'), typeof opts.tokenizer === 'string' ? opts.tokenizer : JSON.stringify(opts.tokenizer));
  const files = ['image_encoder.onnx', 'text.onnx', 'tokenizer.json'];
  if (opts.projection) {
    fs.writeFileSync(path.join(dir, 'proj.f32'), new Uint8Array(opts.projection.buffer));
    files.push('proj.f32');
  }
  const dim = builtin.manifest.imageEncoder.output.dim;
  writeManifest(dir, {
    format: 'lightbox-model/1', name, version: '1', licence: 'test', description: '',
    imageEncoder: builtin.manifest.imageEncoder,
    textEncoder: { file: 'text.onnx', tokenizer: 'tokenizer.json', inputIds: 'ids', output: 'hidden', maxLength: 8, padding: 'longest', truncation: true, pooling: 'eot', dim, l2Normalize: true, logitScale: 100, idsDtype: 'int64', ...opts.spec },
  }, files);
  return dir;
}

/** A CLIP-like byte-pair tokenizer: characters, two merges, <|startoftext|> … <|endoftext|> around every text. */
const BPE_VOCAB = { '<|startoftext|>': 0, '<|endoftext|>': 1, h: 2, e: 3, a: 4, r: 5, t: 6, he: 7, heart: 8, ar: 9, art: 10 };
const bpeTokenizer = {
  version: '1.0', truncation: null, padding: null,
  added_tokens: ['<|startoftext|>', '<|endoftext|>'].map((content, id) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
  normalizer: { type: 'Lowercase' }, pre_tokenizer: { type: 'Whitespace' },
  post_processor: {
    type: 'TemplateProcessing',
    single: [{ SpecialToken: { id: '<|startoftext|>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '<|endoftext|>', type_id: 0 } }],
    pair: [],
    special_tokens: { '<|startoftext|>': { id: '<|startoftext|>', ids: [0], tokens: ['<|startoftext|>'] }, '<|endoftext|>': { id: '<|endoftext|>', ids: [1], tokens: ['<|endoftext|>'] } },
  },
  decoder: null,
  model: { type: 'BPE', vocab: BPE_VOCAB, merges: ['h e', 'a r', 'ar t', 'he art'], unk_token: null, dropout: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false },
};

/** Row i of the table is e_(i mod hidden) * (i+1): pooling at a token is recognisable from the vector. */
function oneHotTable(vocab: number, hidden: number): Float32Array {
  const t = new Float32Array(vocab * hidden);
  for (let i = 0; i < vocab; i++) t[i * hidden + (i % hidden)] = i + 1;
  return t;
}

describe('packages with a text encoder', () => {
  const vocab = Object.keys(BPE_VOCAB).length;
  const dim = 256;

  it('BPE tokens, EOT pooling at the last real token, a projection file and max_length padding', async () => {
    const hidden = 16;
    // The projection sends hidden unit h to image-space unit 10 + h.
    const projection = new Float32Array(hidden * dim);
    for (let h = 0; h < hidden; h++) projection[h * dim + 10 + h] = 1;
    const dir = textPackage('bpe-eot', { spec: { pooling: 'eot', projection: { file: 'proj.f32', rows: hidden }, padding: 'max_length', maxLength: 6 }, tokenizer: bpeTokenizer, table: oneHotTable(vocab, hidden), hidden, vocab, fixedLength: 6, projection });
    const engine = await TextEngine.start(loadModelPackage(dir));
    engines.push(engine);
    // "heart" → <s> heart </s>: EOT pooling takes </s> (id 1) whatever the text, so two texts agree; padded to 6.
    const { vectors, tokens } = await engine.embed(['heart', 'he art']);
    expect(tokens).toEqual([3, 4]);
    expect(vectors[0 * dim + 10 + 1]).toBeCloseTo(1, 6);
    expect(vectors[1 * dim + 10 + 1]).toBeCloseTo(1, 6);
    // Too long for 6 tokens: cut, keeping the end-of-text token last.
    const long = await engine.embed(['h e a r t h e a r t']);
    expect(long.tokens).toEqual([6]);
    expect(long.vectors[10 + 1]).toBeCloseTo(1, 6);
  });

  it('CLS pooling takes the first token; truncation off refuses a long text with the limit named', async () => {
    const dir = textPackage('bpe-cls', { spec: { pooling: 'cls', truncation: false, maxLength: 4 }, tokenizer: bpeTokenizer, table: oneHotTable(vocab, dim), hidden: dim, vocab });
    const engine = await TextEngine.start(loadModelPackage(dir));
    engines.push(engine);
    const { vectors } = await engine.embed(['art']);
    expect(vectors[0]).toBeCloseTo(1, 6); // <|startoftext|> is id 0 → unit 0
    await expect(engine.embed(['h e a r t'])).rejects.toThrow(/has 7 tokens; this model takes at most 4 \(textEncoder\.maxLength\)/);
  });

  it('refuses a bad tokenizer.json, a wrong tensor name and a wrong output shape, naming the file and field', async () => {
    const table = oneHotTable(vocab, dim);
    const notJson = textPackage('not-json', { spec: {}, tokenizer: '{"model": ', table, hidden: dim, vocab });
    await expect(TextEngine.start(loadModelPackage(notJson))).rejects.toThrow(/not-json: textEncoder\.tokenizer tokenizer\.json is not valid JSON/);
    const noModel = textPackage('no-model', { spec: {}, tokenizer: { normalizer: null }, table, hidden: dim, vocab });
    await expect(TextEngine.start(loadModelPackage(noModel))).rejects.toThrow(/textEncoder\.tokenizer tokenizer\.json cannot be used by @huggingface\/tokenizers: .*model/);
    const badName = textPackage('bad-name', { spec: { inputIds: 'input_ids' }, tokenizer: bpeTokenizer, table, hidden: dim, vocab });
    await expect(TextEngine.start(loadModelPackage(badName))).rejects.toThrow(/textEncoder\.inputIds is "input_ids" but the inputs of text\.onnx are \["ids"\]/);
    const wrongWidth = textPackage('wrong-width', { spec: {}, tokenizer: bpeTokenizer, table: oneHotTable(vocab, 32), hidden: 32, vocab });
    await expect(TextEngine.start(loadModelPackage(wrongWidth))).rejects.toThrow(/textEncoder\.file text\.onnx: output "hidden" does not fit the manifest: 32 values per text, but textEncoder\.dim is 256/);
    const notPooled = textPackage('not-pooled', { spec: { pooling: 'none' }, tokenizer: bpeTokenizer, table, hidden: dim, vocab });
    await expect(TextEngine.start(loadModelPackage(notPooled))).rejects.toThrow(/text\.onnx: output "hidden" does not fit the manifest: expected \[1, width\], got \[1, \d+, 256\]/);
    const e = await TextEngine.start(loadModelPackage(notJson)).catch((x: Error & { code?: string }) => x);
    expect((e as { code?: string }).code).toBe('bad-request');
  });

  it('a manifest whose text dim differs from the image dim, or a short projection file, is refused at load', () => {
    const dir = textPackage('dims', { spec: {}, tokenizer: bpeTokenizer, table: oneHotTable(vocab, dim), hidden: dim, vocab });
    const m = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
    m.textEncoder.dim = 128;
    fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(m));
    expect(() => loadModelPackage(dir)).toThrow(/field "textEncoder\.dim": must equal imageEncoder\.output\.dim/);
    m.textEncoder.dim = dim;
    m.textEncoder.projection = { file: 'tokenizer.json', rows: 4 };
    fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(m));
    expect(() => loadModelPackage(dir)).toThrow(/textEncoder\.projection\.file tokenizer\.json holds \d+ bytes; 4 rows × 256 float32 need 4096/);
  });

  it('a package without a text encoder says so when text is asked of it', async () => {
    const dir = path.join(tempDir('lightbox-textpkg-'), 'image-only');
    fs.mkdirSync(dir);
    fs.copyFileSync(builtin.encoderPath, path.join(dir, 'image_encoder.onnx'));
    writeManifest(dir, { format: 'lightbox-model/1', name: 'image-only', version: '1', licence: 'test', description: '', imageEncoder: builtin.manifest.imageEncoder }, ['image_encoder.onnx']);
    const pkg = loadModelPackage(dir);
    expect(pkg.text).toBeNull();
    await expect(new TextEmbedder().embed(pkg, ['x'])).rejects.toThrow(/model image-only .* has no text encoder: text search and zero-shot from prompts need a package with "textEncoder"/);
  });
});
