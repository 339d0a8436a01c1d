// bench:export — time to export --items labelled items (default 100,000) to CSV + JSONL + manifest + SHA256SUMS,
// through the same ExportService the CLI and UI use. The project is indexed straight into the store (one image per
// study, three studies per patient) and labelled through the label repository in batches (one 'set', 'accept' or
// 'bulk-accept' event per item with model provenance, some flagged, some noted): the export reads the same tables
// either way. Timed: a plain export, one with a 70/15/15 split and 5 folds, and one de-identified. Median of
// --repeats runs each. Ends with one JSON line.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Lightbox } from '../src/main/app.ts';
import type { NewEvent } from '../src/main/project/label-repo.ts';
import type { FileOutcome } from '../src/main/project/project-store.ts';
import { ExportOptions } from '../src/shared/contract.ts';
import { DEMO_SCHEMA } from '../src/shared/label-schema.ts';
import { numberArg } from './bench-data.ts';

const arg = numberArg;
const ITEMS = arg('items', 100_000);
const REPEATS = arg('repeats', 3);
const log = (s: string): void => { process.stderr.write(`${s}\n`); };
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'lightbox-bench-export-'));
process.env.LIGHTBOX_HOME = path.join(work, 'home');
const median = (a: number[]): number => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;

const app = Lightbox.open(path.join(work, 'project'), { create: true });
let t0 = performance.now();
for (let from = 0; from < ITEMS; from += 5000) {
  const batch: FileOutcome[] = [];
  for (let i = from; i < Math.min(ITEMS, from + 5000); i++) {
    const u = `2.25.${1000000 + i}`;
    const p = Math.floor(i / 3);
    batch.push({
      path: `/bench/P${p}/${i}.dcm`, root: '/bench', size: 1, mtimeMs: 0, status: 'imported',
      record: {
        patient: { patientId: `P${p}`, name: `Bench^${p}`, birthDate: '19600101', sex: i % 2 ? 'F' : 'M' },
        study: { studyUid: `${u}.1`, date: `2024${String(1 + (i % 12)).padStart(2, '0')}15`, time: '101500', description: 'XR CHEST', accession: `A${i}`, studyId: `${i}` },
        series: { seriesUid: `${u}.2`, modality: 'DX', bodyPart: 'CHEST', description: 'PA', seriesNumber: 1 },
        instance: { sopUid: `${u}.3`, sopClass: '1.2.840.10008.5.1.4.1.1.1.1', instanceNumber: 1, rows: 256, columns: 256, frames: 1, bitsAllocated: 16, photometric: 'MONOCHROME2', transferSyntax: '1.2.840.10008.1.2.1', isImage: true },
      },
    });
  }
  app.store.writeBatch(batch);
}
app.labels.setSchema({ schema: DEMO_SCHEMA });
const CLASSES = ['normal', 'cardiomegaly', 'effusion', 'nodule'];
const uids = app.store.db.prepare('SELECT study_uid FROM studies ORDER BY id').pluck().all() as string[];
const sha = 'c'.repeat(64);
app.embeddings.repo.ensureModel({ sha256: sha, name: 'bench-model', version: '1', dim: 8, packageDir: '', storeDir: path.join(work, 'store') });
for (let from = 0; from < uids.length; from += 10_000) {
  const events: NewEvent[] = [];
  uids.slice(from, from + 10_000).forEach((uid, j) => {
    const i = from + j;
    const cls = CLASSES[(i * 7) % 4]!;
    const value = cls === 'normal' ? ['normal'] : ['abnormal', cls];
    const kind = i % 3;
    events.push({
      annotator: 'bench@host', action: kind === 0 ? 'set' : kind === 1 ? 'accept' : 'bulk-accept', level: 'study', itemUid: uid, group: 'finding', field: 'labels',
      value, previous: null, source: kind === 0 ? 'manual' : kind === 1 ? 'suggestion' : 'bulk',
      ...(kind ? { suggested: cls, suggestionSource: 'adapter', modelSha256: sha, modelDetail: 'bench-model: adapter', score: 0.5 + (i % 50) / 100 } : {}),
    });
    if (i % 20 === 0) events.push({ annotator: 'bench@host', action: 'flag', level: 'study', itemUid: uid, group: '', field: 'flagged', value: true, previous: false, source: 'manual' });
    if (i % 50 === 0) events.push({ annotator: 'bench@host', action: 'note', level: 'study', itemUid: uid, group: '', field: 'note', value: `check, "again" ${i}`, previous: '', source: 'manual' });
  });
  app.labels.repo.appendMany(events);
}
log(`indexed and labelled ${ITEMS} studies in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

async function timed(name: string, options: Record<string, unknown>): Promise<{ seconds: number; rows: number; bytes: number }> {
  const runs: number[] = [];
  let rows = 0;
  let bytes = 0;
  for (let r = 0; r < REPEATS; r++) {
    const out = path.join(work, `${name.replace(/[^a-z0-9]+/gi, '-')}-${r}`);
    t0 = performance.now();
    const s = await app.exports.start({ out, options: ExportOptions.parse(options) }).done;
    runs.push((performance.now() - t0) / 1000);
    rows = s.rows;
    bytes = s.files.reduce((a, f) => a + f.bytes, 0);
    fs.rmSync(out, { recursive: true, force: true });
  }
  log(`${name}: ${rows} rows, ${(bytes / 2 ** 20).toFixed(1)} MB, median ${median(runs).toFixed(2)} s (${runs.map((x) => x.toFixed(2)).join(', ')})`);
  return { seconds: Number(median(runs).toFixed(3)), rows, bytes };
}

const all = ['accepted', 'flagged'];
const plain = await timed('csv+jsonl+manifest', { formats: ['csv', 'jsonl'], statuses: all });
const split = await timed('with split 70/15/15 and 5 folds', { formats: ['csv', 'jsonl'], statuses: all, split: [70, 15, 15], folds: 5 });
const deid = await timed('de-identified', { formats: ['csv', 'jsonl'], statuses: all, deidentify: true });
await app.close();
fs.rmSync(work, { recursive: true, force: true });
console.log(JSON.stringify({
  name: 'export-csv-jsonl-manifest', items: ITEMS, rows: plain.rows, value: plain.seconds, unit: 's', target: 5,
  withSplitSeconds: split.seconds, deidentifiedSeconds: deid.seconds, megabytes: Number((plain.bytes / 2 ** 20).toFixed(1)), repeats: REPEATS, cpus: os.availableParallelism(),
}));
