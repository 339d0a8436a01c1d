// Model bring-up, verified end to end with what Debian has (python3-torch, python3-torchvision, python3-onnx):
// scripts/export-hf-model.py exports torchvision DenseNet-121 (random weights, seeded, classifier removed) into a
// Lightbox package; `lightbox embed` runs it (onnxruntime-node) on real DICOM files; and PyTorch runs the same
// model on the same files read by pydicom and preprocessed independently from the manifest
// (test/python/bringup_reference.py). The stored vectors must match PyTorch's to 1e-4 — so a bug in the export,
// in Lightbox's preprocessing or in the store fails here.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Lightbox } from '../../src/main/app.ts';
import { generateDemoProjectData } from '../../src/main/demo/demo-data.ts';
import { EmbeddingStore } from '../../src/main/inference/embedding-store.ts';
import { loadModelPackage } from '../../src/main/inference/model-package.ts';
import { TextEngine } from '../../src/main/inference/text-engine.ts';
import { FIXTURE_DIR, embedAll, tempDir } from '../helpers.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const PY = '/usr/bin/python3';
const HOME = tempDir('lightbox-home-');
const cli = (...args: string[]): string =>
  execFileSync(process.execPath, [path.join(ROOT, 'bin/lightbox.mjs'), ...args], { encoding: 'utf8', env: { ...process.env, LIGHTBOX_HOME: HOME }, stdio: ['ignore', 'pipe', 'pipe'] });
const py = (...args: string[]): string => {
  try {
    return execFileSync(PY, args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, OMP_NUM_THREADS: '2' } });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`${PY} ${args.join(' ')} failed: ${err.stderr || err.message}\n(needs Debian's python3-torch, python3-torchvision, python3-onnx and python3-pil; .ci/run installs them)`);
  }
};

const IMAGES = 15;

interface Reference { embeddings: Record<string, number[]>; broken: Record<string, Record<string, number[]>> }

/** Largest |a - b| over the keys both maps share, and how many they share. */
function maxDiff(a: Map<string, Float32Array>, b: Record<string, number[]>): { max: number; shared: number } {
  let max = 0;
  let shared = 0;
  for (const [k, v] of a) {
    const r = b[k];
    if (!r) continue;
    shared++;
    for (let i = 0; i < v.length; i++) max = Math.max(max, Math.abs(v[i]! - r[i]!));
  }
  return { max, shared };
}

describe('model bring-up: torchvision DenseNet-121 exported, embedded by lightbox embed, checked against PyTorch', () => {
  const pkg = path.join(tempDir('lightbox-pkg-'), 'densenet121');
  const project = tempDir();
  const src = tempDir('lightbox-src-');
  let manifest: ReturnType<typeof loadModelPackage>['manifest'];
  let stored: Map<string, Float32Array>;
  let ref: Reference;
  let summary: { embedded: number; failed: unknown[]; store: string; provider: string };

  beforeAll(() => {
    // The exporter's vision-only path: no transformers, no Python onnxruntime. A non-square input with a centre
    // crop so that the crop's offsets are exercised; the file's own VOI window, min/max where a file has none.
    py('scripts/export-hf-model.py', '--torchvision', 'densenet121', '--random-weights', '--seed', '0', '--height', '224', '--width', '192',
      '--resize', 'center-crop', '--intensity', 'voi-from-file', '--fallback', 'minmax', '--out', pkg);
    manifest = loadModelPackage(pkg).manifest; // the app's own loader accepts it (schema and SHA-256s)
    // Real DICOM: fixtures (64×64, enlarged: MONOCHROME1, RGB, a multi-frame) and demo radiographs and CT slices
    // (256×256, shrunk: antialiasing; CT with Rescale Intercept and a lung window).
    for (const f of ['syntax/explicit-le.dcm', 'syntax/explicit-be.dcm', 'photometric/monochrome1.dcm', 'photometric/rgb.dcm', 'multiframe/three-frames.dcm']) {
      fs.copyFileSync(path.join(FIXTURE_DIR, f), path.join(src, f.replace('/', '-')));
    }
    // Six CT slices of the series are enough (and keep the test short).
    const { dataDir } = generateDemoProjectData(tempDir(), { count: 4, ctSeries: 1, seed: 7 });
    fs.cpSync(dataDir, path.join(src, 'demo'), { recursive: true, filter: (f) => !/\/0(0[7-9]|[12]\d)\.dcm$/.test(f) });
    cli('import', src, '--project', project, '--json');
    summary = JSON.parse(cli('embed', '--project', project, '--model', pkg, '--provider', 'cpu', '--batch', '4', '--json').trim().split('\n').pop()!);
    // What Lightbox stored: rows.csv says which instance and frame each row of vectors.npy is.
    const { vectors } = EmbeddingStore.readSnapshot(summary.store, manifest.imageEncoder.output.dim);
    const dim = manifest.imageEncoder.output.dim;
    stored = new Map();
    for (const line of fs.readFileSync(path.join(summary.store, 'rows.csv'), 'utf8').trim().split('\n').slice(1)) {
      const [row, level, sop, , , frame] = line.split(',');
      if (level === 'image') stored.set(`${sop}:${frame}`, vectors.slice(Number(row) * dim, (Number(row) + 1) * dim));
    }
    const out = path.join(tempDir('lightbox-ref-'), 'ref.json');
    py('test/python/bringup_reference.py', '--package', pkg, '--torchvision', 'densenet121', '--seed', '0', '--dicom', src, '--out', out);
    ref = JSON.parse(fs.readFileSync(out, 'utf8')) as Reference;
  }, 240_000);

  it('exports a package the app loads: opset-17 ONNX with a dynamic batch, 1024-d, the manifest preprocessing', () => {
    expect(manifest.name).toBe('torchvision-densenet121');
    expect(manifest.imageEncoder.output.dim).toBe(1024);
    expect(manifest.imageEncoder.input).toMatchObject({ height: 224, width: 192, channels: 3, layout: 'NCHW', resize: 'center-crop', mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] });
    expect(manifest.imageEncoder.input.batch).toBeUndefined();
    expect(manifest.imageEncoder.intensity).toMatchObject({ mode: 'voi-from-file', fallback: 'minmax', invertMonochrome1: true });
    expect(manifest.description).toMatch(/random weights \(seed 0\)/);
  });

  it('lightbox embed stores every image, and the vectors equal PyTorch on the same DICOM to 1e-4', () => {
    expect(summary.failed).toEqual([]);
    expect(summary.provider).toBe('cpu');
    // 5 fixtures + 4 radiographs + 6 CT slices, one row each (the multi-frame file by its middle frame).
    expect(summary.embedded).toBe(IMAGES);
    expect(stored.size).toBe(IMAGES);
    expect(Object.keys(ref.embeddings).sort()).toEqual([...stored.keys()].sort());
    const { max, shared } = maxDiff(stored, ref.embeddings);
    expect(shared).toBe(IMAGES);
    expect(max).toBeLessThanOrEqual(1e-4);
  });

  it('the tolerance is meaningful: different images, or one preprocessing step done wrong, miss it by far', () => {
    // Two different images are far apart (a random network still maps them to different vectors)…
    const vs = [...stored.values()];
    let spread = 0;
    for (let i = 1; i < vs.length; i++) for (let j = 0; j < 1024; j++) spread = Math.max(spread, Math.abs(vs[i]![j]! - vs[0]![j]!));
    expect(spread).toBeGreaterThan(1e-2);
    // …and so is the same image with min/max instead of the file's window, or stretched instead of centre-cropped.
    for (const [name, broken] of Object.entries(ref.broken)) {
      const { max, shared } = maxDiff(stored, broken);
      expect(shared, name).toBe(IMAGES);
      expect(max, name).toBeGreaterThan(1e-3);
    }
  });
});

describe('model bring-up: a small CLIP-style two-tower (BPE tokenizer.json, EOT pooling, projection) checked against PyTorch', () => {
  const pkg = path.join(tempDir('lightbox-pkg-'), 'clip-tiny');
  const project = tempDir();
  const src = tempDir('lightbox-src-');
  // Words the tokenizer was trained on, capitals and punctuation, and a word it never saw (split into pieces).
  const TEXTS = ['a pleural effusion', 'Cardiomegaly, no effusion.', 'an enlarged heart', 'xyzzy pneumothorax in the left lower lobe'];
  let texts: { text: string; ids: number[]; embedding: number[] }[];
  let logitScale: number;
  let images: Reference;
  let stored: Map<string, Float32Array>;
  let lightboxText: { vectors: Float32Array; tokens: number[] };
  let search: { items: { score: number }[] }[];

  beforeAll(async () => {
    py('test/python/clip_tiny.py', 'export', '--seed', '0', '--out', pkg);
    for (const f of ['syntax/explicit-le.dcm', 'photometric/monochrome1.dcm', 'photometric/rgb.dcm', 'multiframe/three-frames.dcm']) {
      fs.copyFileSync(path.join(FIXTURE_DIR, f), path.join(src, f.replace('/', '-')));
    }
    const { dataDir } = generateDemoProjectData(tempDir(), { count: 4, ctSeries: 0, seed: 8 });
    fs.cpSync(dataDir, path.join(src, 'demo'), { recursive: true });
    cli('import', src, '--project', project, '--json');
    const summary = JSON.parse(cli('embed', '--project', project, '--model', pkg, '--provider', 'cpu', '--json').trim().split('\n').pop()!) as { store: string; embedded: number };
    expect(summary.embedded).toBe(8);
    const { vectors } = EmbeddingStore.readSnapshot(summary.store, 64);
    stored = new Map();
    for (const line of fs.readFileSync(path.join(summary.store, 'rows.csv'), 'utf8').trim().split('\n').slice(1)) {
      const [row, level, sop, , , frame] = line.split(',');
      if (level === 'image') stored.set(`${sop}:${frame}`, vectors.slice(Number(row) * 64, (Number(row) + 1) * 64));
    }
    const dir = tempDir('lightbox-ref-');
    py('test/python/bringup_reference.py', '--package', pkg, '--builder', 'test/python/clip_tiny.py:image_tower', '--seed', '0', '--dicom', src, '--out', path.join(dir, 'images.json'));
    images = JSON.parse(fs.readFileSync(path.join(dir, 'images.json'), 'utf8')) as Reference;
    py('test/python/clip_tiny.py', 'text', '--seed', '0', '--out', path.join(dir, 'text.json'), '--texts', ...TEXTS);
    ({ texts, logitScale } = JSON.parse(fs.readFileSync(path.join(dir, 'text.json'), 'utf8')) as { texts: typeof texts; logitScale: number });
    // The app's text path: the package's tokenizer.json through @huggingface/tokenizers, the ONNX text session in its worker.
    const engine = await TextEngine.start(loadModelPackage(pkg));
    try {
      lightboxText = await engine.embed(TEXTS);
    } finally {
      await engine.close();
    }
    // Free-text search through the API: the cosines of text and stored image vectors.
    const app = Lightbox.open(project);
    try {
      await embedAll(app, { model: pkg, provider: 'cpu' }); // nothing left to embed; makes the package the current one
      search = [];
      for (const text of TEXTS) {
        const r = await app.call('search.text', { text, level: 'image', k: 100 });
        if (!r.ok) throw new Error(r.error.message);
        search.push(r.result as { items: { score: number }[] });
      }
    } finally {
      await app.close();
    }
  }, 240_000);

  it('exports the text tower per the manifest the app reads: BPE tokenizer.json, length 77, EOT pooling, projection, exp(logit_scale)', () => {
    const m = loadModelPackage(pkg).manifest;
    expect(m.textEncoder).toMatchObject({ tokenizer: 'tokenizer.json', maxLength: 77, padding: 'max_length', pooling: 'eot', dim: 64, projection: { file: 'text_projection.f32', rows: 48 } });
    expect(m.textEncoder!.attentionMask).toBeUndefined(); // causal mask only, as CLIP
    expect(m.textEncoder!.logitScale).toBeCloseTo(logitScale, 6);
    expect(JSON.parse(fs.readFileSync(path.join(pkg, 'tokenizer.json'), 'utf8')).model.type).toBe('BPE');
  });

  it('image vectors stored by lightbox embed equal PyTorch on the same DICOM to 1e-4', () => {
    expect(stored.size).toBe(8);
    const { max, shared } = maxDiff(stored, images.embeddings);
    expect(shared).toBe(8);
    expect(max).toBeLessThanOrEqual(1e-4);
  });

  it('text vectors equal PyTorch with an independent BPE to 1e-4, and so do the search scores', () => {
    // Same token counts as the reference tokenizer (the ids themselves decide the vectors, checked next).
    expect(lightboxText.tokens).toEqual(texts.map((t) => t.ids.length));
    let max = 0;
    texts.forEach((t, i) => t.embedding.forEach((v, d) => { max = Math.max(max, Math.abs(v - lightboxText.vectors[i * 64 + d]!)); }));
    expect(max).toBeLessThanOrEqual(1e-4);
    // The texts are told apart (the tolerance means something).
    let spread = 0;
    for (let d = 0; d < 64; d++) spread = Math.max(spread, Math.abs(texts[0]!.embedding[d]! - texts[1]!.embedding[d]!));
    expect(spread).toBeGreaterThan(1e-2);
    // search.text: the cosine of each image to the text, against PyTorch's image and text vectors.
    texts.forEach((t, i) => {
      const expected = Object.values(images.embeddings).map((e) => e.reduce((s, v, d) => s + v * t.embedding[d]!, 0)).sort((a, b) => b - a);
      const got = search[i]!.items.map((h) => h.score);
      expect(got.length).toBe(8);
      got.forEach((s, j) => expect(Math.abs(s - expected[j]!)).toBeLessThanOrEqual(1e-4));
    });
  });
});
