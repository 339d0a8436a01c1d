// bench:labels — two figures for labelling.
// 1. Refresh latency at scale: a project of --items images (default 100,000; one study each) indexed straight into
//    the project store, with synthetic 256-d embeddings in four noisy clusters (decode and inference are not what
//    this measures). After --seed labels, each of --repeats rounds takes the head of the uncertain queue, sets its
//    true label through the API, and times until refreshed suggestions and the new queue order are available
//    (the worker's fast pass published, then labels.queue answered). Median and p95.
// 2. Label efficiency on the demo set (240 synthetic radiographs, built-in model): a simulated annotator who
//    accepts correct suggestions and corrects wrong ones, reported as human actions per correct label after 10 %,
//    25 % and 50 % of the set, against labelling one by one (1 action per label).
// Ends with one JSON line.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Lightbox } from '../src/main/app.ts';
import { mulberry32 } from '../src/main/demo/demo-data.ts';
import { EmbeddingStore } from '../src/main/inference/embedding-store.ts';
import type { RowMeta } from '../src/main/inference/embedding-store.ts';
import type { FileOutcome } from '../src/main/project/project-store.ts';
import { LABEL_SCHEMA_FORMAT } from '../src/shared/label-schema.ts';
import { numberArg } from './bench-data.ts';
import { call, labelledDemo } from './bench-demo.ts';

const arg = numberArg;
const ITEMS = arg('items', 100_000);
const SEED_LABELS = arg('seed', 200);
const REPEATS = arg('repeats', 30);
const DIM = 256;
const CLASSES = ['normal', 'cardiomegaly', 'effusion', 'nodule'];
const log = (s: string): void => { process.stderr.write(`${s}\n`); };
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'lightbox-bench-labels-'));
process.env.LIGHTBOX_HOME = path.join(work, 'home');

const quantile = (a: number[], q: number): number => { const s = [...a].sort((x, y) => x - y); return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0; };

// ---------- 1. refresh latency at scale ----------

async function latency(): Promise<{ median: number; p95: number; ackMedian: number; validateMs: number }> {
  const dir = path.join(work, 'big');
  const app = Lightbox.open(dir, { create: true });
  const rand = mulberry32(7);
  const t0 = performance.now();
  const truth = new Int32Array(ITEMS);
  for (let from = 0; from < ITEMS; from += 5000) {
    const batch: FileOutcome[] = [];
    for (let i = from; i < Math.min(ITEMS, from + 5000); i++) {
      const u = `2.25.${1000000 + i}`;
      batch.push({
        path: `/bench/${i}.dcm`, root: '/bench', size: 1, mtimeMs: 0, status: 'imported',
        record: {
          patient: { patientId: `P${i}`, name: `Bench^${i}`, birthDate: '', sex: '' },
          study: { studyUid: `${u}.1`, date: '20240101', time: '', description: 'XR CHEST', accession: '', studyId: '' },
          series: { seriesUid: `${u}.2`, modality: 'DX', bodyPart: 'CHEST', description: 'PA', seriesNumber: 1 },
          instance: { sopUid: `${u}.3`, sopClass: '1.2.840.10008.5.1.4.1.1.1.1', instanceNumber: 1, rows: 256, columns: 256, frames: 1, bitsAllocated: 16, photometric: 'MONOCHROME2', transferSyntax: '1.2.840.10008.1.2.1', isImage: true },
        },
      });
    }
    app.store.writeBatch(batch);
  }
  // Synthetic embeddings: four clusters with overlap, unit length, appended in the store's own format.
  const centres = CLASSES.map(() => Float32Array.from({ length: DIM }, () => rand() - 0.5));
  const storeDir = path.join(dir, 'embeddings', 'bench');
  const row = app.embeddings.repo.ensureModel({ sha256: 'b'.repeat(64), name: 'bench-synthetic-clusters', version: '1', dim: DIM, packageDir: '', storeDir });
  const store = EmbeddingStore.open(storeDir, DIM);
  const ids = app.store.db.prepare('SELECT id, sop_uid FROM instances ORDER BY id').raw().all() as [number, string][];
  for (let from = 0; from < ids.length; from += 10000) {
    const part = ids.slice(from, from + 10000);
    const v = new Float32Array(part.length * DIM);
    const meta: RowMeta[] = [];
    part.forEach(([id, sop], j) => {
      const c = Math.floor(rand() * CLASSES.length);
      truth[from + j] = c;
      let norm = 0;
      for (let d = 0; d < DIM; d++) { const x = centres[c]![d]! + (rand() - 0.5) * 1.6; v[j * DIM + d] = x; norm += x * x; }
      for (let d = 0; d < DIM; d++) v[j * DIM + d]! /= Math.sqrt(norm);
      meta.push({ level: 'image', sopUid: sop, seriesUid: '', studyUid: '', frame: 0, itemId: id });
    });
    const first = store.append(v, meta);
    app.embeddings.repo.record(row.id, part.map(([id], j) => ({ level: 'image', itemId: id, row: first + j, frame: 0 })), []);
  }
  log(`indexed and embedded ${ITEMS} synthetic images in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const truthOf = new Map(ids.map(([id], i) => [id, CLASSES[truth[i]!]!]));
  app.labels.setSchema({ schema: { format: LABEL_SCHEMA_FORMAT, groups: [{ key: 'finding', name: 'Finding', kind: 'single', level: 'image', description: '', labels: CLASSES.map((c, i) => ({ key: c, name: c, prompt: '', shortcut: String(i + 1) })) }] } });
  // Seed labels (spread over the set), then let the first validation run.
  for (let i = 0; i < SEED_LABELS; i++) {
    const [id] = ids[Math.floor((i * ids.length) / SEED_LABELS)]!;
    await call(app, 'labels.set', { level: 'image', itemId: id, group: 'finding', labels: [truthOf.get(id)!] });
  }
  let tv = performance.now();
  await app.labels.whenIdle();
  log(`seeded ${SEED_LABELS} labels; first refresh with validation ${(performance.now() - tv).toFixed(0)} ms; source ${app.labels.suggestions.status().groups[0]!.source}`);
  const fresh: number[] = [];
  const ack: number[] = [];
  const validate: number[] = [];
  for (let r = 0; r < REPEATS; r++) {
    const head = (await call(app, 'labels.queue', { group: 'finding', queue: 'uncertain', limit: 1 })).items[0]!;
    const start = performance.now();
    await call(app, 'labels.set', { level: 'image', itemId: head.itemId, group: 'finding', labels: [truthOf.get(head.itemId)!] });
    ack.push(performance.now() - start);
    await app.labels.whenFresh();
    const q = await call(app, 'labels.queue', { group: 'finding', queue: 'uncertain', limit: 20 });
    fresh.push(performance.now() - start);
    if (q.items.some((x) => x.itemId === head.itemId)) throw new Error('the labelled item is still queued');
    // A reader spends seconds per image; the validating pass (cross-validation) runs in that time.
    tv = performance.now();
    await app.labels.whenIdle();
    validate.push(performance.now() - tv);
  }
  const s = app.labels.suggestions.status().groups[0]!;
  log(`after ${s.labelled} labels: source ${s.source}, adapter CV accuracy ${s.accuracies.adapter?.toFixed(3)}`);
  log(`accept → refreshed suggestions + queue: median ${quantile(fresh, 0.5).toFixed(0)} ms, p95 ${quantile(fresh, 0.95).toFixed(0)} ms (ack alone median ${quantile(ack, 0.5).toFixed(1)} ms)`);
  await app.close();
  return { median: quantile(fresh, 0.5), p95: quantile(fresh, 0.95), ackMedian: quantile(ack, 0.5), validateMs: quantile(validate, 0.5) };
}

// ---------- 2. label efficiency on the demo set ----------

interface Checkpoint { fraction: number; labels: number; actions: number; actionsPerCorrectLabel: number; suggestionAccuracy: number }

async function efficiency(strategy: 'one-by-one' | 'page-review'): Promise<Checkpoint[]> {
  const dir = path.join(work, `demo-${strategy}`);
  const { app, classOf } = await labelledDemo(dir, 240);
  const total = classOf.size;
  const out: Checkpoint[] = [];
  let labels = 0;
  let actions = 0;
  let shown = 0;
  let right = 0;
  const marks = [0.1, 0.25, 0.5];
  const suggestionOf = async (id: number): Promise<string[] | null> => (await call(app, 'labels.item', { level: 'study', itemId: id })).groups.find((g) => g.key === 'finding')!.suggestion?.labels ?? null;
  while (marks.length) {
    // Active learning first (the 10 % most uncertain, one by one), then — for page review — pages of 20 from the
    // confident queue: one action accepts the page, one more per wrong suggestion corrected.
    const usePages = strategy === 'page-review' && labels >= 0.1 * total;
    const page = (await call(app, 'labels.queue', { group: 'finding', queue: usePages ? 'confident' : 'uncertain', limit: usePages ? 20 : 1 })).items;
    if (page.length === 0) break;
    const ok: { level: 'study'; itemId: number; labels: string[] }[] = [];
    for (const it of page) {
      const s = await suggestionOf(it.itemId);
      const t = classOf.get(it.itemId)!;
      shown++;
      if (s && s[0] === t) { right++; ok.push({ level: 'study', itemId: it.itemId, labels: s }); }
      else { await call(app, 'labels.set', { level: 'study', itemId: it.itemId, group: 'finding', labels: [t] }); actions++; labels++; }
    }
    if (ok.length) {
      if (usePages) { const r = await call(app, 'labels.acceptMany', { group: 'finding', items: ok }); actions++; labels += r.accepted; }
      else for (const it of ok) { await call(app, 'labels.accept', { group: 'finding', ...it }); actions++; labels++; }
    }
    await app.labels.whenFresh();
    while (marks.length && labels >= marks[0]! * total) {
      out.push({ fraction: marks.shift()!, labels, actions, actionsPerCorrectLabel: Number((actions / labels).toFixed(3)), suggestionAccuracy: Number((right / shown).toFixed(3)) });
    }
  }
  await app.labels.whenIdle();
  const s = app.labels.suggestions.status().groups.find((g) => g.key === 'finding')!;
  log(`${strategy}: ${out.map((c) => `${Math.round(c.fraction * 100)} %: ${c.actionsPerCorrectLabel} actions/label (suggestions right ${Math.round(c.suggestionAccuracy * 100)} %)`).join('; ')}; final source ${s.source}`);
  await app.close();
  return out;
}

const lat = await latency();
const oneByOne = await efficiency('one-by-one');
const pages = await efficiency('page-review');
fs.rmSync(work, { recursive: true, force: true });
console.log(JSON.stringify({
  name: 'labels-refresh-after-accept', items: ITEMS, seedLabels: SEED_LABELS, repeats: REPEATS,
  value: Math.round(lat.median), unit: 'ms', p95: Math.round(lat.p95), target: 300, ackMedianMs: Number(lat.ackMedian.toFixed(1)), validatingPassMedianMs: Math.round(lat.validateMs),
  efficiency: {
    anchor: { name: 'labelling one by one without suggestions', value: 1, unit: 'actions per correct label' },
    oneByOneWithSuggestions: oneByOne,
    pageReviewOfConfidentSuggestions: pages,
  },
  cpus: os.availableParallelism(),
}));
