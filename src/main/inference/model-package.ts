// Model packages: a folder holding manifest.json, image_encoder.onnx and optional zero-shot / text-encoder files.
// Everything the app needs to run a model (preprocessing, tensor names, output handling) comes from the manifest:
// there are no model-specific code paths. A package is checked before any session is created — schema, file
// presence and SHA-256 of every file — and every problem names the package, the field and what to do.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { LightboxError } from '../../shared/contract.ts';

export const MANIFEST_FILE = 'manifest.json';
export const PACKAGE_FORMAT = 'lightbox-model/1';

const Sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'must be a lowercase hex SHA-256');
const FileName = z.string().regex(/^[A-Za-z0-9._-]+$/, 'must be a plain file name inside the package (no folders, no "..")').refine((s) => s !== '.' && s !== '..', 'must be a file name');
const Window = z.object({ center: z.number(), width: z.number().positive() }).strict();

export const ImageInput = z
  .object({
    name: z.string().min(1),
    layout: z.enum(['NCHW', 'NHWC']),
    height: z.number().int().min(8).max(4096),
    width: z.number().int().min(8).max(4096),
    channels: z.union([z.literal(1), z.literal(3)]),
    dtype: z.literal('float32'),
    /** Per channel, applied after intensities are mapped to 0..1: (v - mean) / std. */
    mean: z.array(z.number()).min(1).max(3),
    std: z.array(z.number().positive()).min(1).max(3),
    resize: z.enum(['stretch', 'letterbox', 'center-crop']),
    /** A fixed batch size the graph was exported with; omit for a dynamic batch axis. */
    batch: z.number().int().min(1).max(1024).optional(),
  })
  .strict()
  .refine((i) => i.mean.length === i.channels && i.std.length === i.channels, { message: 'mean and std need one value per channel', path: ['mean'] });

export const Intensity = z
  .object({
    /**
     * How greyscale modality values (after Rescale Slope/Intercept) become 0..1:
     * voi-from-file: the file's first Window Center/Width (and VOI LUT Function), else `fallback`;
     * fixed-window: `windows[modality]` (or `windows.default`), else `fallback`;
     * percentile: clip to the `percentiles` of the image (1st-99th, as MedImageInsight does);
     * minmax: the image's own range.
     */
    mode: z.enum(['voi-from-file', 'fixed-window', 'percentile', 'minmax']),
    percentiles: z.tuple([z.number().min(0).max(100), z.number().min(0).max(100)]).default([1, 99]),
    windows: z.record(z.string(), Window).default({}),
    fallback: z.enum(['percentile', 'minmax']).default('percentile'),
    /** MONOCHROME1 stores bright as low values; invert so that dense is bright, as it is displayed. */
    invertMonochrome1: z.boolean().default(true),
  })
  .strict()
  .refine((i) => i.percentiles[0] < i.percentiles[1], { message: 'the low percentile must be below the high one', path: ['percentiles'] });

export const ImageEncoder = z
  .object({
    file: FileName,
    input: ImageInput,
    intensity: Intensity,
    output: z.object({ name: z.string().min(1), dim: z.number().int().min(2).max(16384), l2Normalize: z.boolean() }).strict(),
  })
  .strict();

export const ZeroShotHead = z
  .object({
    /** Float32 little-endian, one row of `output.dim` values per label, in label order. */
    file: FileName,
    labels: z.array(z.object({ name: z.string().min(1).max(200), prompt: z.string().max(1000) }).strict()).min(1).max(10000),
    /** Multiplies cosine similarities before the softmax (CLIP's logit scale). */
    logitScale: z.number().positive(),
    /** Where the text embeddings came from (text encoder run offline, class centroids, ...). */
    source: z.string().max(1000).default(''),
  })
  .strict();

export const TextEncoder = z
  .object({
    /** The ONNX text tower. Its inputs are token ids (and optionally an attention mask / token type ids). */
    file: FileName,
    /** A Hugging Face `tokenizer.json` (BPE, WordPiece or Unigram), run with @huggingface/tokenizers. */
    tokenizer: FileName,
    inputIds: z.string().min(1),
    attentionMask: z.string().min(1).optional(),
    /** BERT-style towers (BiomedCLIP) also take token type ids; they are all zero for one text. */
    tokenTypeIds: z.string().min(1).optional(),
    /** The element type of the id, mask and type inputs the graph was exported with. */
    idsDtype: z.enum(['int64', 'int32']).default('int64'),
    output: z.string().min(1),
    /** The context length: 77 for CLIP (MedImageInsight), 256 for BiomedCLIP. */
    maxLength: z.number().int().min(1).max(4096),
    /** max_length pads every text to maxLength (graphs exported with a fixed length need it); longest pads to the batch's longest. */
    padding: z.enum(['max_length', 'longest']).default('max_length'),
    /** The id written into padded positions; default: the tokenizer's [PAD] / <pad> / <|endoftext|> token, else 0. */
    padId: z.number().int().min(0).optional(),
    /** Cut texts longer than maxLength (keeping the final special token, so EOT pooling still finds it); false refuses them. */
    truncation: z.boolean().default(true),
    /**
     * How the output becomes one vector per text: none — the graph already pools ([batch, dim]); eot — the last
     * non-padding token of [batch, length, hidden] (CLIP's end-of-text); cls — the first token (BERT's [CLS]);
     * mean — the mean over non-padding tokens.
     */
    pooling: z.enum(['none', 'eot', 'cls', 'mean']).default('none'),
    /** Float32 little-endian [hidden × dim] matrix applied after pooling (CLIP's text_projection) when the graph lacks it. */
    projection: z.object({ file: FileName, rows: z.number().int().min(1).max(65536) }).strict().optional(),
    /** The text vector's size; must be the image encoder's output dim (one shared space). */
    dim: z.number().int().min(2).max(16384),
    l2Normalize: z.boolean().default(true),
    /** Multiplies cosine similarities for zero-shot from prompts: exp(logit_scale) of a CLIP model (100 for most). */
    logitScale: z.number().positive().default(100),
  })
  .strict();
export type TextEncoderSpec = z.infer<typeof TextEncoder>;

export const Manifest = z
  .object({
    format: z.literal(PACKAGE_FORMAT),
    name: z.string().min(1).max(200),
    version: z.string().min(1).max(50),
    licence: z.string().min(1).max(200),
    description: z.string().max(5000).default(''),
    /** SHA-256 of every other file in the package. */
    files: z.record(FileName, Sha256),
    imageEncoder: ImageEncoder,
    zeroShot: ZeroShotHead.optional(),
    textEncoder: TextEncoder.optional(),
  })
  .strict()
  .refine((m) => !m.textEncoder || m.textEncoder.dim === m.imageEncoder.output.dim, { message: 'must equal imageEncoder.output.dim: text and image vectors share one space', path: ['textEncoder', 'dim'] });
export type Manifest = z.infer<typeof Manifest>;
export type ImageEncoderSpec = z.infer<typeof ImageEncoder>;

export interface ModelPackage {
  dir: string;
  manifest: Manifest;
  /** Identifies the embeddings this package produces: the encoder's bytes plus everything that shapes its input. */
  sha256: string;
  encoderPath: string;
  zeroShot: { labels: { name: string; prompt: string }[]; logitScale: number; embeddings: Float32Array; source: string } | null;
  /** The text tower's files and spec, when the package has one (checked here; the session is made in the worker). */
  text: { spec: TextEncoderSpec; modelPath: string; tokenizerPath: string; projectionPath: string | null; sha256: string } | null;
}

export function sha256File(file: string): string {
  const h = crypto.createHash('sha256');
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
    }
  } finally {
    fs.closeSync(fd);
  }
  return h.digest('hex');
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/** The model hash embeddings are keyed by: SHA-256 over the encoder file's hash and the canonical encoder spec. */
export function modelHash(manifest: Manifest): string {
  const encoderSha = manifest.files[manifest.imageEncoder.file] ?? '';
  return crypto.createHash('sha256').update(`${encoderSha}\n${canonical(manifest.imageEncoder)}`).digest('hex');
}

const bad = (dir: string, what: string): LightboxError =>
  new LightboxError('bad-request', `model package ${dir}: ${what}`);

/** Reads and verifies a package; throws a `bad-request` error naming the field or file at fault. */
export function loadModelPackage(dirIn: string): ModelPackage {
  const dir = path.resolve(dirIn);
  const manifestPath = path.join(dir, MANIFEST_FILE);
  let raw: string;
  try {
    raw = fs.readFileSync(manifestPath, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw bad(dir, code === 'ENOENT' ? `no ${MANIFEST_FILE}; a package is a folder with ${MANIFEST_FILE} and image_encoder.onnx (see README, "Model packages")` : `cannot read ${MANIFEST_FILE} (${code})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (e) {
    throw bad(dir, `${MANIFEST_FILE} is not valid JSON (${(e as Error).message})`);
  }
  const parsed = Manifest.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.length ? issue.path.join('.') : '(manifest)';
    throw bad(dir, `${MANIFEST_FILE} field "${field}": ${issue.message}`);
  }
  const manifest = parsed.data;
  const referenced = [manifest.imageEncoder.file, manifest.zeroShot?.file, manifest.textEncoder?.file, manifest.textEncoder?.tokenizer, manifest.textEncoder?.projection?.file].filter((f): f is string => !!f);
  for (const f of referenced) {
    if (!(f in manifest.files)) throw bad(dir, `${MANIFEST_FILE} field "files" has no SHA-256 for ${f}`);
  }
  for (const [f, expected] of Object.entries(manifest.files)) {
    const p = path.join(dir, f);
    if (!fs.existsSync(p)) throw bad(dir, `${f} is listed in "files" but missing from the folder`);
    const actual = sha256File(p);
    if (actual !== expected) throw bad(dir, `${f} has SHA-256 ${actual.slice(0, 12)}…, the manifest says ${expected.slice(0, 12)}…; the file is corrupt or was changed — copy the package again`);
  }
  let zeroShot: ModelPackage['zeroShot'] = null;
  if (manifest.zeroShot) {
    const z0 = manifest.zeroShot;
    const buf = fs.readFileSync(path.join(dir, z0.file));
    const dim = manifest.imageEncoder.output.dim;
    if (buf.length !== z0.labels.length * dim * 4) {
      throw bad(dir, `zeroShot.file ${z0.file} holds ${buf.length} bytes; ${z0.labels.length} labels × ${dim} float32 need ${z0.labels.length * dim * 4}`);
    }
    const embeddings = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length));
    zeroShot = { labels: z0.labels, logitScale: z0.logitScale, embeddings, source: z0.source };
  }
  let text: ModelPackage['text'] = null;
  if (manifest.textEncoder) {
    const t = manifest.textEncoder;
    if (t.projection) {
      const size = fs.statSync(path.join(dir, t.projection.file)).size;
      if (size !== t.projection.rows * t.dim * 4) {
        throw bad(dir, `textEncoder.projection.file ${t.projection.file} holds ${size} bytes; ${t.projection.rows} rows × ${t.dim} float32 need ${t.projection.rows * t.dim * 4}`);
      }
    }
    const files = [t.file, t.tokenizer, t.projection?.file].filter((f): f is string => !!f).map((f) => manifest.files[f]);
    text = {
      spec: t,
      modelPath: path.join(dir, t.file),
      tokenizerPath: path.join(dir, t.tokenizer),
      projectionPath: t.projection ? path.join(dir, t.projection.file) : null,
      sha256: crypto.createHash('sha256').update(`${files.join('\n')}\n${canonical(t)}`).digest('hex'),
    };
  }
  return { dir, manifest, sha256: modelHash(manifest), encoderPath: path.join(dir, manifest.imageEncoder.file), zeroShot, text };
}

/** Size and mtime of the manifest and every file: changes when the package on disk changes, without hashing. */
export function packageStamp(pkg: ModelPackage): string {
  return [MANIFEST_FILE, ...Object.keys(pkg.manifest.files)]
    .map((f) => {
      try {
        const st = fs.statSync(path.join(pkg.dir, f));
        return `${f}:${st.size}:${st.mtimeMs}`;
      } catch {
        return `${f}:missing`;
      }
    })
    .join('|');
}

/** Writes a manifest whose `files` lists the SHA-256 of every file named, as a package tool would. */
export function writeManifest(dir: string, manifest: Omit<Manifest, 'files'>, files: string[]): Manifest {
  const full = { ...manifest, files: Object.fromEntries(files.map((f) => [f, sha256File(path.join(dir, f))])) } as Manifest;
  Manifest.parse(full);
  fs.writeFileSync(path.join(dir, MANIFEST_FILE), `${JSON.stringify(full, null, 2)}\n`);
  return full;
}
