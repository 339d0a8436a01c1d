// Embedding through the public surfaces: the CLI's JSON, the API calls, the store files other tools read.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lightbox } from '../../src/main/app.ts';
import { generateDemoProjectData } from '../../src/main/demo/demo-data.ts';
import type { DemoTruth } from '../../src/main/demo/demo-data.ts';
import { decodeFrame, openPixelSource } from '../../src/main/dicom/pixels.ts';
import { BUILTIN_VERSION, ensureBuiltinModel } from '../../src/main/inference/builtin-model.ts';
import { EmbeddingStore, HEADER_BYTES } from '../../src/main/inference/embedding-store.ts';
import { loadModelPackage, writeManifest } from '../../src/main/inference/model-package.ts';
import type { Manifest } from '../../src/main/inference/model-package.ts';
import type { PrepProtocol } from '../../src/main/inference/inference-protocol.ts';
import { WorkerRpc } from '../../src/main/inference/worker-rpc.ts';
import { mapIntensity } from '../../src/main/inference/preprocess.ts';
import { FIXTURE_DIR, embedAll, fixtures, importInto, openDemoProject, tempDir } from '../helpers.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const HOME = tempDir('lightbox-home-');
process.env.LIGHTBOX_HOME = HOME;
const cli = (...args: string[]): string =>
  execFileSync(process.execPath, [path.join(ROOT, 'bin/lightbox.mjs'), ...args], { encoding: 'utf8', env: { ...process.env, LIGHTBOX_HOME: HOME }, stdio: ['ignore', 'pipe', 'pipe'] });

interface EmbedJson {
  model: string; modelSha256: string; provider: string; embedded: number; skipped: number;
  failed: { instance: string; reason: string; path: string }[]; imagesPerSecond: number; providerFallback: string; seriesVectors: number; store: string;
}

beforeAll(async () => {
  await ensureBuiltinModel(HOME);
}, 60_000);

describe('lightbox embed on a folder of mixed real-world files', () => {
  const project = tempDir();
  const src = tempDir();
  let first: EmbedJson;
  const images = fixtures().filter((f) => f.expect === 'image').length;

  beforeAll(() => {
    fs.cpSync(FIXTURE_DIR, src, { recursive: true });
    // Indexed fine, undecodable later: a JPEG-LS codestream scrambled after its header, and a file that vanished.
    const ls = path.join(src, 'syntax/jpeg-ls.dcm');
    const buf = fs.readFileSync(ls);
    const soi = buf.indexOf(Buffer.from([0xff, 0xd8, 0xff]));
    buf.fill(0xff, soi + 2, soi + 40);
    fs.writeFileSync(ls, buf);
    cli('import', src, '--project', project, '--json');
    fs.rmSync(path.join(src, 'syntax/rle.dcm'));
    first = JSON.parse(cli('embed', '--project', project, '--json')) as EmbedJson;
  }, 60_000);

  it('prints the documented JSON object', () => {
    for (const k of ['model', 'modelSha256', 'provider', 'embedded', 'skipped', 'failed', 'imagesPerSecond']) expect(first).toHaveProperty(k);
    expect(first.model).toBe('lightbox-builtin-baseline');
    expect(first.modelSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(first.imagesPerSecond).toBeGreaterThan(0);
  });

  it('reports each undecodable image with its file and reason, and embeds all the others', () => {
    expect(first.embedded).toBe(images - 2);
    const reasons = new Map(first.failed.map((f) => [path.basename(f.path), f.reason]));
    expect(reasons.size).toBe(2);
    expect(reasons.get('jpeg-ls.dcm')).toMatch(/jpeg-ls\.dcm.*(JPEG-LS|decode)/);
    expect(reasons.get('rle.dcm')).toMatch(/rle\.dcm.*(cannot open|ENOENT)/);
    for (const f of first.failed) expect(f.instance).toMatch(/^[0-9.]+$/);
  });

  it('embeds nothing the second time', () => {
    const again = JSON.parse(cli('embed', '--project', project, '--json')) as EmbedJson;
    expect(again.embedded).toBe(0);
    expect(again.skipped).toBe(images - 2);
    expect(again.modelSha256).toBe(first.modelSha256);
  });

  it('writes a store numpy and pandas can read: a .npy of unit vectors and a rows.csv naming each row', () => {
    const npy = fs.readFileSync(path.join(first.store, 'vectors.npy'));
    expect(npy.subarray(1, 6).toString('latin1')).toBe('NUMPY');
    const header = npy.toString('latin1', 10, HEADER_BYTES);
    const m = /'shape': \((\d+), (\d+)\)/.exec(header)!;
    const rows = Number(m[1]);
    const dim = Number(m[2]);
    expect(npy.length).toBe(HEADER_BYTES + rows * dim * 4);
    const v = new Float32Array(npy.buffer, npy.byteOffset + HEADER_BYTES, rows * dim);
    let norm = 0;
    for (let d = 0; d < dim; d++) norm += v[d]! ** 2;
    expect(norm).toBeCloseTo(1, 4);
    const csv = fs.readFileSync(path.join(first.store, 'rows.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toBe('row,level,sop_instance_uid,series_instance_uid,study_instance_uid,frame,item_id');
    expect(csv.length - 1).toBe(rows);
    expect(csv[1]).toMatch(/^0,image,[0-9.]+,[0-9.]+,[0-9.]+,\d+,\d+$/);
  });

  it('ends on CPU with the reason shown when CUDA is asked for on a machine without it', () => {
    const out = JSON.parse(cli('embed', '--project', project, '--provider', 'cuda', '--json')) as EmbedJson;
    if (out.provider === 'cuda') return; // a machine with a working CUDA install
    expect(out.provider).toBe('cpu');
    expect(out.providerFallback).toMatch(/^cuda unavailable \(.+\); using cpu$/);
  });

  it('refuses a bad --provider with the accepted values', () => {
    expect(() => cli('embed', '--project', project, '--provider', 'tpu')).toThrow(/--provider must be one of auto, cpu, cuda/);
  });
});

describe('model packages', () => {
  let builtin: string;
  beforeAll(async () => {
    builtin = (await ensureBuiltinModel(HOME)).dir;
  });

  function variant(edit: (dir: string, m: Manifest) => Manifest | void): string {
    const dir = tempDir('lightbox-model-');
    fs.cpSync(builtin, dir, { recursive: true });
    const m = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as Manifest;
    const out = edit(dir, m);
    if (out) fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(out));
    return dir;
  }

  it('the built-in package verifies and documents itself', () => {
    const p = loadModelPackage(builtin);
    expect(p.manifest.licence).toBeTruthy();
    expect(p.manifest.imageEncoder.output.dim).toBe(256);
    expect(p.zeroShot?.labels.map((l) => l.name)).toEqual(['normal', 'cardiomegaly', 'effusion', 'nodule']);
  });

  it.each([
    ['a missing manifest', (d: string) => { fs.rmSync(path.join(d, 'manifest.json')); }, /no manifest\.json/],
    ['a manifest that is not JSON', (d: string) => { fs.writeFileSync(path.join(d, 'manifest.json'), '{ nope'); }, /not valid JSON/],
    ['a wrong layout', (_d: string, m: Manifest) => ({ ...m, imageEncoder: { ...m.imageEncoder, input: { ...m.imageEncoder.input, layout: 'NWHC' } } }), /field "imageEncoder\.input\.layout"/],
    ['a missing licence', (_d: string, m: Manifest) => { const { licence: _l, ...rest } = m; return rest as Manifest; }, /field "licence"/],
    ['a corrupt encoder file', (d: string) => { const f = path.join(d, 'image_encoder.onnx'); const b = fs.readFileSync(f); b[b.length >> 1]! ^= 0xff; fs.writeFileSync(f, b); }, /image_encoder\.onnx has SHA-256 .* corrupt/],
    ['a file path escaping the package', (_d: string, m: Manifest) => ({ ...m, imageEncoder: { ...m.imageEncoder, file: '../x.onnx' } }), /imageEncoder\.file/],
  ])('%s gives a clear error naming the field or file', (_name, edit, pattern) => {
    const dir = variant(edit as (d: string, m: Manifest) => Manifest | void);
    expect(() => loadModelPackage(dir)).toThrow(pattern);
  });

  it('a wrong tensor name fails at load with the model\'s real names, and the app keeps working', async () => {
    const dir = variant((d, m) => {
      const { files: _f, ...rest } = m;
      writeManifest(d, { ...rest, imageEncoder: { ...m.imageEncoder, input: { ...m.imageEncoder.input, name: 'image' } } }, Object.keys(m.files));
    });
    const project = tempDir();
    const app = Lightbox.open(project, { create: true });
    await importInto(app, path.join(FIXTURE_DIR, 'syntax'));
    try {
      const bad = await app.call('embed.start', { model: dir });
      expect(bad.ok).toBe(false);
      if (!bad.ok) expect(bad.error.message).toMatch(/input\.name is "image" but the model's inputs are \["pixel_values"\]/);
      // Found by onnxruntime inside the inference worker, it still reaches the user as the package's fault.
      if (!bad.ok) expect(bad.error.code).toBe('bad-request');
      const corrupt = await app.call('embed.start', { model: variant((d) => { fs.writeFileSync(path.join(d, 'zero_shot.f32'), 'x'); }) });
      expect(corrupt.ok).toBe(false);
      if (!corrupt.ok) expect(corrupt.error.code).toBe('bad-request');
      // Listen before starting, so the job cannot finish unseen.
      const finished = new Promise<void>((resolve) => app.on((n, p) => { if (n === 'job.progress' && (p as { phase: string }).phase === 'done') resolve(); }));
      const good = await app.call('embed.start', { model: 'builtin', provider: 'cpu' });
      expect(good.ok).toBe(true);
      await finished;
      const status = await app.call('embed.status', {});
      expect(status.ok && (status.result as { embedded: number }).embedded).toBeGreaterThan(0);
    } finally {
      await app.close();
    }
  }, 60_000);
});

describe('embedding the demo project', () => {
  let project: string;
  let app: Lightbox;
  let truth: DemoTruth;

  beforeAll(async () => {
    ({ app, project, truth } = await openDemoProject({ count: 120, ctSeries: 2 }));
    await embedAll(app, { provider: 'cpu', batch: 16 });
  }, 120_000);
  afterAll(async () => app.close());

  it('stores one vector per image and one per CT series', async () => {
    const r = await app.call('embed.status', {});
    expect(r.ok).toBe(true);
    const s = r.ok ? (r.result as { images: number; embedded: number; seriesVectors: number; failed: number; provider: string }) : null;
    expect(s?.embedded).toBe(120 + 2 * 24);
    expect(s?.images).toBe(s?.embedded);
    expect(s?.seriesVectors).toBe(2);
    expect(s?.failed).toBe(0);
    expect(s?.provider).toBe('cpu');
  });

  it('the built-in zero-shot head separates the demo classes (baseline, well above chance)', () => {
    const pkg = loadModelPackage(path.join(HOME, 'models', `builtin-${BUILTIN_VERSION}`));
    const head = pkg.zeroShot!;
    const dim = pkg.manifest.imageEncoder.output.dim;
    const db = new Database(path.join(project, 'lightbox.db'), { readonly: true });
    const rows = db.prepare("SELECT i.sop_uid AS uid, e.row AS row, m.store_dir AS dir FROM embeddings e JOIN instances i ON i.id = e.item_pk JOIN embedding_models m ON m.id = e.model_pk WHERE e.level = 'image'").all() as { uid: string; row: number; dir: string }[];
    db.close();
    const vectors = EmbeddingStore.open(rows[0]!.dir, dim).loadAll();
    let right = 0;
    let n = 0;
    for (const r of rows) {
      const t = truth.instances[r.uid];
      if (t?.kind !== 'cxr') continue;
      let best = -1;
      let bestScore = -Infinity;
      head.labels.forEach((_, c) => {
        let s = 0;
        for (let d = 0; d < dim; d++) s += vectors[r.row * dim + d]! * head.embeddings[c * dim + d]!;
        if (s > bestScore) { bestScore = s; best = c; }
      });
      n++;
      if (head.labels[best]!.name === t.class) right++;
    }
    expect(n).toBe(120);
    expect(right / n).toBeGreaterThan(0.75);
  });

  it('embeds pixels sent from the renderer and finds the image they came from first', async () => {
    const db = new Database(path.join(project, 'lightbox.db'), { readonly: true });
    const inst = db.prepare("SELECT i.id AS id, f.path AS path FROM instances i JOIN files f ON f.id = i.file_pk JOIN series s ON s.id = i.series_pk WHERE s.modality = 'DX' LIMIT 1 OFFSET 7").get() as { id: number; path: string };
    db.close();
    // What the viewer shows: the file's VOI window applied, 8 bits per pixel, as canvas RGBA.
    const frame = await decodeFrame(openPixelSource(inst.path), 0);
    const grey = mapIntensity(frame, { mode: 'voi-from-file', percentiles: [1, 99], windows: {}, fallback: 'percentile', invertMonochrome1: true });
    const rgba = new Uint8Array(grey.length * 4);
    grey.forEach((v, i) => rgba.fill(Math.round(v * 255), 4 * i, 4 * i + 3));
    const r = await app.call('embed.pixels', { width: frame.columns, height: frame.rows, channels: 4, data: Buffer.from(rgba).toString('base64'), neighbours: 5 });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const res = r.result as { dim: number; embedding: number[]; neighbours: { instanceId: number; score: number; studyId: number }[]; provider: string };
    expect(res.dim).toBe(256);
    expect(res.embedding).toHaveLength(256);
    expect(res.neighbours).toHaveLength(5);
    expect(res.neighbours[0]!.instanceId).toBe(inst.id);
    expect(res.neighbours[0]!.score).toBeGreaterThan(0.98);
    expect(res.neighbours[1]!.score).toBeLessThan(res.neighbours[0]!.score);
  });

  it('rejects pixels whose size does not match their dimensions, naming the call', async () => {
    const r = await app.call('embed.pixels', { width: 10, height: 10, channels: 1, data: Buffer.alloc(50).toString('base64') });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.message).toMatch(/embed\.pixels: 50 bytes for 10×10×1/);
    const big = await app.call('embed.pixels', { width: 600, height: 10, channels: 1, data: '' });
    expect(big.ok).toBe(false);
  });
});

describe('crash safety', () => {
  it('survives kill -9 mid-job: finished images are kept, the re-run embeds only the rest, no row twice', async () => {
    const project = tempDir();
    const { dataDir } = generateDemoProjectData(project, { count: 600, ctSeries: 0 });
    cli('import', dataDir, '--project', project, '--json');
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/lightbox.mjs'), 'embed', '--project', project, '--batch', '8', '--provider', 'cpu', '--json'], { stdio: 'ignore', env: { ...process.env, LIGHTBOX_HOME: HOME } });
    const dbFile = path.join(project, 'lightbox.db');
    let killedAt = -1;
    for (let i = 0; i < 2000 && killedAt < 0; i++) {
      await new Promise((r) => setTimeout(r, 10));
      try {
        const db = new Database(dbFile, { readonly: true, fileMustExist: true });
        const n = (db.prepare('SELECT count(*) FROM embeddings').pluck().get() as number | undefined) ?? 0;
        db.close();
        if (n >= 40) { child.kill('SIGKILL'); killedAt = n; }
      } catch { /* the schema is being migrated */ }
    }
    await new Promise((r) => child.once('exit', r));
    expect(killedAt).toBeGreaterThan(0);
    const again = JSON.parse(cli('embed', '--project', project, '--json')) as EmbedJson;
    expect(again.skipped).toBeGreaterThanOrEqual(killedAt);
    expect(again.skipped + again.embedded).toBe(600);
    expect(again.failed).toEqual([]);
    const db = new Database(dbFile, { readonly: true });
    expect(db.prepare('SELECT count(DISTINCT item_pk) FROM embeddings').pluck().get()).toBe(600);
    expect(db.prepare('SELECT count(DISTINCT row) FROM embeddings').pluck().get()).toBe(600);
    expect(db.prepare("SELECT count(*) FROM jobs WHERE kind = 'embed' AND status = 'running'").pluck().get()).toBe(0);
    db.close();
    const store = EmbeddingStore.open(again.store, 256);
    expect(store.count).toBeGreaterThanOrEqual(600);
  }, 120_000);

  it('a store cut short (torn write) is truncated back to whole rows on open', () => {
    const dir = tempDir();
    const s = EmbeddingStore.open(dir, 4);
    s.append(new Float32Array([1, 0, 0, 0, 0, 1, 0, 0]), [0, 1].map((i) => ({ level: 'image' as const, sopUid: `1.${i}`, seriesUid: '1', studyUid: '1', frame: 0, itemId: i })));
    fs.appendFileSync(path.join(dir, 'vectors.npy'), Buffer.alloc(6)); // half a row, never counted in the header
    fs.appendFileSync(path.join(dir, 'rows.csv'), '2,image,1.2,1,1,0,2\n'); // a row whose vector never landed
    const reopened = EmbeddingStore.open(dir, 4);
    expect(reopened.count).toBe(2);
    expect(fs.statSync(path.join(dir, 'vectors.npy')).size).toBe(HEADER_BYTES + 2 * 16);
    expect(fs.readFileSync(path.join(dir, 'rows.csv'), 'utf8').trim().split('\n')).toHaveLength(3);
    expect(Array.from(reopened.readRows([1]))).toEqual([0, 1, 0, 0]);
  });
});

describe('the Electron build', () => {
  const built = path.join(ROOT, 'out/main/prep-worker.js');
  // `npm test` builds before it tests; the bundled workers must decode as the sources do.
  it.skipIf(!fs.existsSync(built))('emits the workers beside main, and they decode compressed pixels', async () => {
    const spec = (await ensureBuiltinModel(HOME)).manifest.imageEncoder;
    // Spoken to through its protocol, as main speaks to it.
    const w = new WorkerRpc<PrepProtocol>(pathToFileURL(built), 'prep');
    try {
      const r = await w.request('prep', { spec, tasks: [{ file: path.join(FIXTURE_DIR, 'syntax/jpeg2000.dcm'), frame: 0 }, { file: path.join(FIXTURE_DIR, 'syntax/jpeg-extended.dcm'), frame: 0 }] });
      expect(r.failures).toEqual([]);
      expect(r.data.byteLength).toBe(2 * 224 * 224 * 4);
    } finally {
      await w.terminate();
    }
    expect(fs.existsSync(path.join(ROOT, 'out/main/inference-worker.js'))).toBe(true);
  });
});
