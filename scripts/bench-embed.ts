// npm run bench:embed [-- --count N --rows R --batch B --provider auto|cpu|cuda --prep W --threads T --heavy|--densenet]
// End-to-end embedding throughput (read + decode + preprocess + infer + store) against bare session.run on the
// same model, batch size and machine, measured side by side in one run; API round-trips through the loopback
// host while the job runs; resident memory over the job; preprocessing cost per image (read + decode + resize +
// normalise in one prep worker, nothing else running). Prints one JSON line at the end.
// --heavy swaps the tiny built-in encoder for a generated convolutional one (~1 GMAC per image, closer to the cost
// of a real foundation model) to show how much of the gap is fixed per-image preprocessing cost.
// --densenet exports torchvision DenseNet-121 with random weights (scripts/export-hf-model.py, Debian's PyTorch)
// into the run's temp folder: a real foundation-model-sized CNN (2.9 GMAC per 224² image). Default count 256.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Lightbox } from '../src/main/app.ts';
import { startHttpHost } from '../src/main/hosts/http-host.ts';
import { loadModelPackage, writeManifest } from '../src/main/inference/model-package.ts';
import type { ModelPackage } from '../src/main/inference/model-package.ts';
import { writeOnnxModel } from '../src/main/inference/onnx-writer.ts';
import { PrepPool } from '../src/main/inference/prep-pool.ts';
import { calls } from '../src/shared/contract.ts';
import { argValue, writeBenchSlices } from './bench-data.ts';

const arg = argValue;
const heavy = process.argv.includes('--heavy');
const densenet = process.argv.includes('--densenet');
const count = Number(arg('count', densenet ? '256' : '5000'));
const rows = Number(arg('rows', '256'));
const batch = Number(arg('batch', '32'));
const provider = arg('provider', 'auto');
const prep = Number(arg('prep', '0'));
const threads = Number(arg('threads', '0'));
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'lightbox-bench-embed-'));
process.env.LIGHTBOX_HOME = work;
const log = (s: string): void => { process.stderr.write(`${s}\n`); };

writeBenchSlices(path.join(work, 'data'), count, rows);
const app = Lightbox.open(path.join(work, 'project'), { create: true });
await app.imports.run({ folder: path.join(work, 'data') });
log(`generated and imported ${count} CT slices of ${rows}×${rows}`);

/** A package with a strided 3×3 convolution then 3×3 convolutions to 64 channels at 112×112: about 0.7 GMAC per image. */
async function heavyModel(): Promise<ModelPackage> {
  const dir = path.join(work, 'heavy-model');
  fs.mkdirSync(dir, { recursive: true });
  const weights = (n: number, scale: number): Float32Array => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898) * scale);
  fs.writeFileSync(path.join(dir, 'image_encoder.onnx'), writeOnnxModel({
    name: 'bench-heavy',
    producer: 'bench-embed.ts',
    inputs: [{ name: 'pixel_values', shape: ['batch', 1, 224, 224] }],
    outputs: [{ name: 'embedding', shape: ['batch', 256] }],
    initializers: [
      { name: 'w1', dims: [32, 1, 3, 3], data: weights(32 * 9, 0.3) },
      { name: 'w2', dims: [64, 32, 3, 3], data: weights(64 * 32 * 9, 0.05) },
      { name: 'w3', dims: [64, 64, 3, 3], data: weights(64 * 64 * 9, 0.03) },
      { name: 'proj', dims: [1024, 256], data: weights(1024 * 256, 0.03) },
    ],
    nodes: [
      { op: 'Conv', inputs: ['pixel_values', 'w1'], outputs: ['c1'], attrs: { pads: [1, 1, 1, 1], strides: [2, 2] } },
      { op: 'Relu', inputs: ['c1'], outputs: ['r1'] },
      { op: 'Conv', inputs: ['r1', 'w2'], outputs: ['c2'], attrs: { pads: [1, 1, 1, 1] } },
      { op: 'Relu', inputs: ['c2'], outputs: ['r2'] },
      { op: 'Conv', inputs: ['r2', 'w3'], outputs: ['c3'], attrs: { pads: [1, 1, 1, 1] } },
      { op: 'Relu', inputs: ['c3'], outputs: ['r3'] },
      { op: 'AveragePool', inputs: ['r3'], outputs: ['p'], attrs: { kernel_shape: [28, 28], strides: [28, 28] } },
      { op: 'Flatten', inputs: ['p'], outputs: ['f'], attrs: { axis: { int: 1 } } },
      { op: 'MatMul', inputs: ['f', 'proj'], outputs: ['embedding'] },
    ],
  }));
  const builtin = await app.embeddings.resolveModel('builtin');
  const { files: _files, zeroShot: _zs, ...rest } = builtin.manifest;
  writeManifest(dir, { ...rest, name: 'bench-heavy', description: 'benchmark-only convolutional encoder' }, ['image_encoder.onnx']);
  return loadModelPackage(dir);
}

/** torchvision DenseNet-121, random weights (seed 0), exported by the repo's exporter into the run's folder. */
function densenetModel(): ModelPackage {
  const dir = path.join(work, 'densenet121');
  const t0 = performance.now();
  execFileSync('/usr/bin/python3', [path.join(import.meta.dirname, 'export-hf-model.py'), '--torchvision', 'densenet121', '--random-weights', '--seed', '0', '--out', dir], { stdio: ['ignore', 'ignore', 'inherit'] });
  log(`exported DenseNet-121 (random weights) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return loadModelPackage(dir);
}

const pkg = densenet ? densenetModel() : heavy ? await heavyModel() : await app.embeddings.resolveModel('builtin');
const modelArg = densenet || heavy ? pkg.dir : 'builtin';
const spec = pkg.manifest.imageEncoder;

// Preprocessing cost per image: one prep worker on the same files, nothing else running.
const files = fs.readdirSync(path.join(work, 'data'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.dcm')).sort().map((f) => path.join(work, 'data', f));
const prepPool = new PrepPool(1);
const prepSample = files.slice(0, Math.min(files.length, Math.max(batch, 128)));
const tasks = (f: string[]): { file: string; frame: number }[] => f.map((file) => ({ file, frame: 0 }));
let prepMs = 0;
await prepPool.prep(spec, tasks(prepSample.slice(0, 4))); // warm-up
for (let i = 0; i < prepSample.length; i += batch) prepMs += (await prepPool.prep(spec, tasks(prepSample.slice(i, i + batch)))).ms;
await prepPool.close();
const prepPerImage = prepMs / prepSample.length;
log(`preprocessing: ${prepPerImage.toFixed(2)} ms per image (${spec.input.width}×${spec.input.height}×${spec.input.channels}, one worker, ${prepSample.length} images)`);

// Anchor: bare session.run in the inference worker, same model, provider, threads and batch, random input; once
// before the job and once after it, so a machine shared with other work is seen in the spread.
const engine = await app.embeddings.engineFor(pkg, provider, threads);
const runs = densenet ? Math.max(4, Math.ceil(count / batch / 2)) : Math.max(20, Math.min(300, Math.ceil(count / batch)));
const bareBefore = await engine.benchBare(batch, runs);
log(`bare session.run (${engine.provider}, batch ${batch}, ${runs} runs): ${bareBefore.toFixed(1)} images/s`);

// Round-trips through the real host (HTTP + token) while the job runs.
const host = await startHttpHost(app, {});
const rtt: number[] = [];
// --no-poll: no API traffic during the job (to see what the polling itself costs on a small machine).
let polling = !process.argv.includes('--no-poll');
const poll = (async () => {
  while (polling) {
    const t = performance.now();
    const r = await fetch(`${host.url}/api/call/embed.status`, { method: 'POST', headers: { authorization: `Bearer ${host.token}`, 'content-type': 'application/json' }, body: '{}' });
    await r.json();
    rtt.push(performance.now() - t);
    await new Promise((res) => setTimeout(res, 20));
  }
})();

const rss: number[] = [];
app.on((name) => { if (name === 'job.progress') rss.push(process.memoryUsage().rss / 2 ** 20); });
const job = await app.embeddings.start(calls['embed.start'].input.parse({ model: modelArg, provider, batch }), { ...(prep > 0 ? { prepWorkers: prep } : {}), threads, progressIntervalMs: 100 });
const runsBefore = { ...engine.runs };
const summary = await job.done;
const inJob = { calls: engine.runs.calls - runsBefore.calls, images: engine.runs.images - runsBefore.images, ms: engine.runs.ms - runsBefore.ms };
polling = false;
await poll;
await host.close();
const bareAfter = await engine.benchBare(batch, runs);
log(`bare session.run after the job: ${bareAfter.toFixed(1)} images/s`);
const bare = (bareBefore + bareAfter) / 2;
await app.close();

/** Whole images/s where that reads well, one decimal below 100 (DenseNet-121 on a CPU). */
const round = (v: number): number => (v >= 100 ? Math.round(v) : Number(v.toFixed(1)));
const sorted = [...rtt].sort((a, b) => a - b);
const pct = (p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;
const tenth = Math.max(1, Math.floor(rss.length / 10));
const median = (a: number[]): number => [...a].sort((x, y) => x - y)[a.length >> 1] ?? 0;
const rssStart = median(rss.slice(0, tenth));
const rssEnd = median(rss.slice(-tenth));
const rssMid = median(rss.slice((rss.length >> 1) - (tenth >> 1), (rss.length >> 1) + tenth - (tenth >> 1)));
log(`end to end: ${summary.embedded} embedded, ${summary.failed.length} failed, ${summary.imagesPerSecond.toFixed(1)} images/s (${((100 * summary.imagesPerSecond) / bare).toFixed(0)}% of bare)`);
const jobSeconds = summary.imagesPerSecond > 0 ? count / summary.imagesPerSecond : 0;
const runMsPerImage = inJob.images ? inJob.ms / inJob.images : 0;
log(`in the job: session.run ${runMsPerImage.toFixed(1)} ms per image (bare: ${(1000 / bare).toFixed(1)}), the inference worker busy ${((100 * inJob.ms) / 1000 / jobSeconds).toFixed(0)}% of the job's ${jobSeconds.toFixed(1)} s`);
log(`API round-trips during the job: ${rtt.length}, p50 ${pct(0.5).toFixed(1)} ms, p99 ${pct(0.99).toFixed(1)} ms`);
log(`RSS over the job: ${rssStart.toFixed(0)} MB at the start, ${rssEnd.toFixed(0)} MB at the end, peak ${Math.max(...rss).toFixed(0)} MB`);
fs.rmSync(work, { recursive: true, force: true });
console.log(JSON.stringify({
  name: 'embed-end-to-end', model: summary.model, provider: summary.provider, images: count, rows, batch,
  input: `${spec.input.width}x${spec.input.height}x${spec.input.channels}`, threads: threads || 'default', prepWorkers: prep || 'default',
  value: round(summary.imagesPerSecond), unit: 'images/s',
  anchor: { name: 'bare session.run, same model/batch/provider (mean of before and after the job)', value: round(bare), unit: 'images/s', before: round(bareBefore), after: round(bareAfter) },
  ratio: Number((summary.imagesPerSecond / bare).toFixed(3)),
  prepMsPerImage: Number(prepPerImage.toFixed(2)),
  inJob: { runMsPerImage: Number(runMsPerImage.toFixed(2)), bareMsPerImage: Number((1000 / bare).toFixed(2)), workerBusy: Number((inJob.ms / 1000 / jobSeconds).toFixed(3)) },
  apiRoundTripMs: { count: rtt.length, p50: Number(pct(0.5).toFixed(1)), p99: Number(pct(0.99).toFixed(1)) },
  rssMb: { start: Math.round(rssStart), middle: Math.round(rssMid), end: Math.round(rssEnd), peak: Math.round(Math.max(...rss)), samples: rss.length },
  cpus: os.availableParallelism(),
}));
