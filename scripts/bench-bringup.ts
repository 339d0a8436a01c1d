// npm run bench:bringup [-- --count N]
// Model bring-up figures with Debian's PyTorch: exporting torchvision DenseNet-121 (random weights) with
// scripts/export-hf-model.py, `lightbox embed` of N demo radiographs (default 16) with it on the CPU, and the parity
// of the stored vectors with PyTorch on the same DICOM preprocessed independently (test/python/bringup_reference.py).
// Prints one JSON line at the end.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateDemoProjectData } from '../src/main/demo/demo-data.ts';
import { EmbeddingStore } from '../src/main/inference/embedding-store.ts';
import { numberArg } from './bench-data.ts';

const COUNT = numberArg('count', 16);
const ROOT = path.resolve(import.meta.dirname, '..');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'lightbox-bench-bringup-'));
const env = { ...process.env, LIGHTBOX_HOME: path.join(work, 'home') };
const run = (cmd: string, args: string[]): string => execFileSync(cmd, args, { cwd: ROOT, encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'inherit'] });
const cli = (...args: string[]): string => run(process.execPath, [path.join(ROOT, 'bin/lightbox.mjs'), ...args]);

const pkg = path.join(work, 'densenet121');
let t0 = performance.now();
run('/usr/bin/python3', ['scripts/export-hf-model.py', '--torchvision', 'densenet121', '--random-weights', '--seed', '0', '--resize', 'center-crop', '--intensity', 'voi-from-file', '--fallback', 'minmax', '--out', pkg]);
const exportSeconds = (performance.now() - t0) / 1000;
const { dataDir } = generateDemoProjectData(path.join(work, 'demo'), { count: COUNT, ctSeries: 0 });
const project = path.join(work, 'project');
cli('import', dataDir, '--project', project, '--json');
t0 = performance.now();
const s = JSON.parse(cli('embed', '--project', project, '--model', pkg, '--provider', 'cpu', '--batch', '16', '--json').trim().split('\n').pop()!) as { store: string; imagesPerSecond: number; embedded: number };
const embedSeconds = (performance.now() - t0) / 1000;
const ref = path.join(work, 'ref.json');
run('/usr/bin/python3', ['test/python/bringup_reference.py', '--package', pkg, '--torchvision', 'densenet121', '--seed', '0', '--dicom', dataDir, '--out', ref]);
const want = (JSON.parse(fs.readFileSync(ref, 'utf8')) as { embeddings: Record<string, number[]> }).embeddings;
const { vectors } = EmbeddingStore.readSnapshot(s.store, 1024);
let maxAbsDiff = 0;
let compared = 0;
for (const line of fs.readFileSync(path.join(s.store, 'rows.csv'), 'utf8').trim().split('\n').slice(1)) {
  const [row, level, sop, , , frame] = line.split(',');
  const r = want[`${sop}:${frame}`];
  if (level !== 'image' || !r) continue;
  compared++;
  for (let d = 0; d < 1024; d++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(vectors[Number(row) * 1024 + d]! - r[d]!));
}
fs.rmSync(work, { recursive: true, force: true });
console.log(JSON.stringify({ bench: 'bringup', model: 'densenet121 (random weights)', input: '224x224', images: s.embedded, compared, exportSeconds: Number(exportSeconds.toFixed(1)), embedSeconds: Number(embedSeconds.toFixed(1)), embedImagesPerSecond: Number(s.imagesPerSecond.toFixed(1)), maxAbsDiff, cpus: os.cpus().length }));
