// The built-in encoder: a small, deterministic ONNX graph generated here (no committed binary) so that a fresh
// install can embed the demo set with no download. It is an honest baseline, not a foundation model: fixed
// filters (local means, Sobel edges, a difference-of-Gaussians blob detector) pooled on an 8×8 grid, standardised
// and weighted by class separation (Fisher ratio) on synthetic calibration images, then a fixed random projection
// to 256 dimensions.
// Its zero-shot head is the class centroids of calibration images rendered by the demo recipe with a seed the
// demo set does not use; its toy text tower (builtin-text.ts) maps captions of those classes onto the centroids. Bring a real model as a package (README).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { CXR_CLASSES, mulberry32, renderCxr } from '../demo/demo-data.ts';
import type { DecodedFrame } from '../dicom/pixels.ts';
import type { Manifest, ModelPackage } from './model-package.ts';
import { MANIFEST_FILE, PACKAGE_FORMAT, loadModelPackage, writeManifest } from './model-package.ts';
import type { GraphSpec, NodeSpec, TensorSpec } from './onnx-writer.ts';
import { writeOnnxModel } from './onnx-writer.ts';
import { imageSize, l2Normalize, preprocessFrame } from './preprocess.ts';
import { buildToyTextTower } from './builtin-text.ts';

export const BUILTIN_NAME = 'lightbox-builtin-baseline';
// 1.1: adds the toy text tower (builtin-text.ts); the image encoder and its embeddings are unchanged.
export const BUILTIN_VERSION = '1.1.0';
const SIZE = 224;
const GRID = 8;
const DIM = 256;
const CALIBRATION_SEED = 0x5eed;
const PER_CLASS = 40;

const PROMPTS: Record<string, string> = {
  normal: 'a chest radiograph with no abnormality',
  cardiomegaly: 'a chest radiograph showing an enlarged heart',
  effusion: 'a chest radiograph showing a pleural effusion',
  nodule: 'a chest radiograph showing a lung nodule',
};

type EncoderSpec = Manifest['imageEncoder'];
const ENCODER: EncoderSpec = {
  file: 'image_encoder.onnx',
  input: { name: 'pixel_values', layout: 'NCHW', height: SIZE, width: SIZE, channels: 1, dtype: 'float32', mean: [0.5], std: [0.25], resize: 'letterbox' },
  intensity: { mode: 'voi-from-file', percentiles: [1, 99], windows: {}, fallback: 'percentile', invertMonochrome1: true },
  output: { name: 'embedding', dim: DIM, l2Normalize: true },
};

function gaussian2d(size: number, sigma: number): Float32Array {
  const k = new Float32Array(size * size);
  const c = (size - 1) / 2;
  let s = 0;
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) s += k[y * size + x] = Math.exp(-((x - c) ** 2 + (y - c) ** 2) / (2 * sigma * sigma));
  for (let i = 0; i < k.length; i++) k[i]! /= s;
  return k;
}

const FEATURES = 5 * GRID * GRID;

/** The fixed feature extractor: [N,1,224,224] → [N,320]. */
function featureNodes(): { nodes: NodeSpec[]; initializers: TensorSpec[] } {
  const cell = SIZE / GRID;
  const sobel = Float32Array.from([-1, 0, 1, -2, 0, 2, -1, 0, 1, -1, -2, -1, 0, 0, 0, 1, 2, 1]).map((v) => v / 4);
  const dogSize = 17;
  const g1 = gaussian2d(dogSize, 2);
  const g2 = gaussian2d(dogSize, 4);
  const dog = g1.map((v, i) => v - g2[i]!);
  return {
    initializers: [
      { name: 'sobel', dims: [2, 1, 3, 3], data: sobel },
      { name: 'dog', dims: [1, 1, dogSize, dogSize], data: dog },
    ],
    nodes: [
      { op: 'AveragePool', inputs: ['pixel_values'], outputs: ['mean_grid'], attrs: { kernel_shape: [cell, cell], strides: [cell, cell] } },
      { op: 'Conv', inputs: ['pixel_values', 'sobel'], outputs: ['edges'], attrs: { pads: [1, 1, 1, 1] } },
      { op: 'Abs', inputs: ['edges'], outputs: ['edges_abs'] },
      { op: 'AveragePool', inputs: ['edges_abs'], outputs: ['edge_grid'], attrs: { kernel_shape: [cell, cell], strides: [cell, cell] } },
      { op: 'AveragePool', inputs: ['pixel_values'], outputs: ['half'], attrs: { kernel_shape: [2, 2], strides: [2, 2] } },
      { op: 'Conv', inputs: ['half', 'dog'], outputs: ['blobs'], attrs: { pads: [8, 8, 8, 8] } },
      { op: 'Relu', inputs: ['blobs'], outputs: ['blobs_pos'] },
      { op: 'MaxPool', inputs: ['blobs_pos'], outputs: ['blob_max'], attrs: { kernel_shape: [cell / 2, cell / 2], strides: [cell / 2, cell / 2] } },
      { op: 'AveragePool', inputs: ['blobs_pos'], outputs: ['blob_mean'], attrs: { kernel_shape: [cell / 2, cell / 2], strides: [cell / 2, cell / 2] } },
      { op: 'Concat', inputs: ['mean_grid', 'edge_grid', 'blob_max', 'blob_mean'], outputs: ['grid'], attrs: { axis: { int: 1 } } },
      { op: 'Flatten', inputs: ['grid'], outputs: ['features'], attrs: { axis: { int: 1 } } },
    ],
  };
}

/** Where the per-cell blob maxima sit in the feature vector (after 64 means and 2×64 edge cells). */
const BLOB_MAX = { start: 3 * GRID * GRID, end: 4 * GRID * GRID };
/** Features after the location-invariant one: the largest blob z-score over all cells (a nodule anywhere). */
const EXTENDED = FEATURES + 1;

interface Calibration { mean: Float32Array; std: Float32Array; weight: Float32Array; projection: Float32Array }

function graph(final: Calibration | null): Uint8Array {
  const f = featureNodes();
  const spec: GraphSpec = {
    name: BUILTIN_NAME,
    producer: 'lightbox builtin-model.ts',
    docString: 'Lightbox built-in baseline encoder: fixed filters pooled on an 8x8 grid, standardised, weighted, random projection. Not a foundation model.',
    nodes: [...f.nodes],
    initializers: [...f.initializers],
    inputs: [{ name: 'pixel_values', shape: ['batch', 1, SIZE, SIZE] }],
    outputs: [{ name: final ? 'embedding' : 'features', shape: ['batch', final ? DIM : FEATURES] }],
  };
  if (final) {
    spec.initializers.push(
      { name: 'feature_mean', dims: [FEATURES], data: final.mean },
      { name: 'feature_std', dims: [FEATURES], data: final.std },
      { name: 'blob_start', dims: [1], data: [BLOB_MAX.start], int64: true },
      { name: 'blob_end', dims: [1], data: [BLOB_MAX.end], int64: true },
      { name: 'axis1', dims: [1], data: [1], int64: true },
      { name: 'feature_weight', dims: [EXTENDED], data: final.weight },
      { name: 'projection', dims: [EXTENDED, DIM], data: final.projection },
    );
    spec.nodes.push(
      { op: 'Sub', inputs: ['features', 'feature_mean'], outputs: ['centred'] },
      { op: 'Div', inputs: ['centred', 'feature_std'], outputs: ['z'] },
      { op: 'Slice', inputs: ['z', 'blob_start', 'blob_end', 'axis1'], outputs: ['z_blob'] },
      { op: 'ReduceMax', inputs: ['z_blob'], outputs: ['z_blob_max'], attrs: { axes: [1], keepdims: { int: 1 } } },
      { op: 'Concat', inputs: ['z', 'z_blob_max'], outputs: ['z_ext'], attrs: { axis: { int: 1 } } },
      { op: 'Mul', inputs: ['z_ext', 'feature_weight'], outputs: ['weighted'] },
      { op: 'MatMul', inputs: ['weighted', 'projection'], outputs: ['embedding'] },
    );
  }
  return writeOnnxModel(spec);
}

/** Square root of the Fisher ratio (between-class over within-class variance) of one feature column. */
function separation(values: (i: number) => number, classes: number[], k: number): number {
  const n = classes.length;
  const sum = new Float64Array(k);
  const count = new Float64Array(k);
  let all = 0;
  for (let i = 0; i < n; i++) {
    const v = values(i);
    all += v;
    sum[classes[i]!]! += v;
    count[classes[i]!]!++;
  }
  const m = all / n;
  let total = 0;
  let within = 0;
  for (let i = 0; i < n; i++) {
    const v = values(i);
    total += (v - m) ** 2;
    within += (v - sum[classes[i]!]! / count[classes[i]!]!) ** 2;
  }
  if (!(total > 0)) return 0;
  return Math.min(20, Math.sqrt(Math.max(0, total - within) / Math.max(within, 1e-9 * total)));
}

function calibrate(features: Float32Array, classes: number[]): Calibration {
  const n = classes.length;
  const k = CXR_CLASSES.length;
  const mean = new Float32Array(FEATURES);
  const std = new Float32Array(FEATURES);
  for (let j = 0; j < FEATURES; j++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += features[i * FEATURES + j]!;
    const m = s / n;
    let v = 0;
    for (let i = 0; i < n; i++) v += (features[i * FEATURES + j]! - m) ** 2;
    mean[j] = round(m);
    std[j] = round(Math.max(Math.sqrt(v / n), 1e-3));
  }
  const z = (i: number, j: number): number => (features[i * FEATURES + j]! - mean[j]!) / std[j]!;
  const zBlobMax = (i: number): number => {
    let best = -Infinity;
    for (let j = BLOB_MAX.start; j < BLOB_MAX.end; j++) best = Math.max(best, z(i, j));
    return best;
  };
  // Weight each standardised feature by how well it separates the calibration classes.
  const weight = new Float32Array(EXTENDED);
  for (let j = 0; j < FEATURES; j++) weight[j] = round(Math.max(0.05, separation((i) => z(i, j), classes, k)));
  weight[FEATURES] = round(Math.max(0.05, separation(zBlobMax, classes, k)) * Math.sqrt(8));
  const rand = mulberry32(0xb17e);
  const projection = new Float32Array(EXTENDED * DIM);
  for (let i = 0; i < projection.length; i++) {
    const g = Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());
    projection[i] = round(g / Math.sqrt(EXTENDED));
  }
  return { mean, std, weight, projection };
}

/** Calibration images: the demo recipe's chest radiographs, from a seed the demo set never uses. */
function calibrationBatch(): { tensor: Float32Array; classes: number[] } {
  const rand = mulberry32(CALIBRATION_SEED);
  const size = imageSize(ENCODER.input);
  const classes: number[] = [];
  const tensor = new Float32Array(CXR_CLASSES.length * PER_CLASS * size);
  let i = 0;
  for (let k = 0; k < PER_CLASS; k++) {
    CXR_CLASSES.forEach((cls, c) => {
      const frame: DecodedFrame = {
        rows: 256, columns: 256, samplesPerPixel: 1, photometric: 'MONOCHROME2', bitsAllocated: 16, bitsStored: 12, signed: false,
        samples: renderCxr(cls, rand), rescaleSlope: 1, rescaleIntercept: 0, window: { center: 1700, width: 3000, fn: 'LINEAR' }, modality: 'DX', palette: null,
      };
      preprocessFrame(frame, ENCODER, tensor, i++);
      classes.push(c);
    });
  }
  return { tensor, classes };
}

async function run(model: Uint8Array, tensor: Float32Array, outputName: string): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(model, { executionProviders: ['cpu'] });
  try {
    const n = tensor.length / imageSize(ENCODER.input);
    const out = await s.run({ pixel_values: new ort.Tensor('float32', tensor, [n, 1, SIZE, SIZE]) });
    return (out[outputName] as ort.Tensor).data as Float32Array;
  } finally {
    await s.release();
  }
}

/** Four significant digits: keeps the generated bytes stable across CPUs whose float paths differ slightly. */
const round = (v: number): number => (v === 0 ? 0 : Number(v.toPrecision(4)));

/** Generates the package into `dir` (replacing whatever is there). */
export async function buildBuiltinModel(dir: string): Promise<void> {
  const { tensor, classes } = calibrationBatch();
  const features = await run(graph(null), tensor.slice(), 'features');
  const n = classes.length;
  const model = graph(calibrate(features, classes));
  const emb = await run(model, tensor, 'embedding');
  for (let i = 0; i < n; i++) l2Normalize(emb, i * DIM, DIM);
  const heads = new Float32Array(CXR_CLASSES.length * DIM);
  classes.forEach((c, i) => {
    for (let d = 0; d < DIM; d++) heads[c * DIM + d]! += emb[i * DIM + d]!;
  });
  for (let c = 0; c < CXR_CLASSES.length; c++) {
    l2Normalize(heads, c * DIM, DIM);
    for (let d = 0; d < DIM; d++) heads[c * DIM + d] = round(heads[c * DIM + d]!);
  }
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, ENCODER.file), model);
  fs.writeFileSync(path.join(dir, 'zero_shot.f32'), new Uint8Array(heads.buffer));
  const text = buildToyTextTower(dir, heads, { embeddings: emb, classes }, CXR_CLASSES, DIM);
  writeManifest(
    dir,
    {
      format: PACKAGE_FORMAT,
      name: BUILTIN_NAME,
      version: BUILTIN_VERSION,
      licence: 'Apache-2.0',
      description: 'Built-in baseline encoder generated by src/main/inference/builtin-model.ts: fixed filters pooled on an 8×8 grid, standardised, random projection to 256-d. Separates the synthetic demo classes; it is not a foundation model. Its text tower (builtin-text.ts) is a toy bag of words fitted to captions of the same synthetic classes. Bring MedImageInsight, BiomedCLIP or RAD-DINO as a package for real data.',
      imageEncoder: ENCODER,
      zeroShot: {
        file: 'zero_shot.f32',
        labels: CXR_CLASSES.map((c) => ({ name: c, prompt: PROMPTS[c]! })),
        logitScale: 20,
        source: `class centroids of ${PER_CLASS} synthetic calibration radiographs per class (demo recipe, seed ${CALIBRATION_SEED}); used for labels without a prompt`,
      },
      textEncoder: text.spec,
    },
    [ENCODER.file, 'zero_shot.f32', ...text.files],
  );
}

/** The built-in package under `<home>/models`, generated on first use and regenerated if it fails verification. */
export async function ensureBuiltinModel(home: string): Promise<ModelPackage> {
  const dir = path.join(home, 'models', `builtin-${BUILTIN_VERSION}`);
  if (fs.existsSync(path.join(dir, MANIFEST_FILE))) {
    try {
      return loadModelPackage(dir);
    } catch { /* damaged: rebuild below */ }
  }
  const tmp = fs.mkdtempSync(path.join(fs.existsSync(home) ? home : os.tmpdir(), '.builtin-'));
  try {
    await buildBuiltinModel(tmp);
    fs.mkdirSync(path.dirname(dir), { recursive: true });
    fs.rmSync(dir, { recursive: true, force: true });
    fs.renameSync(tmp, dir);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  return loadModelPackage(dir);
}
