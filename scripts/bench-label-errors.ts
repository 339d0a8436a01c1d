// npm run bench:label-errors [-- --count N --flip P --seed S]
// How well the *likely label errors* queue finds wrong labels: on the demo set (N studies, default 240) every study
// is labelled with its true finding except a seeded P % (default 10) given another label on purpose; once the
// suggestions are fresh, the errors queue is read whole and compared with the planted errors. Reports precision
// (planted among listed), recall (listed among planted), precision of the first 10, and the queue's length; the
// anchor is a queue listing labelled items at random (precision = P %). Prints one JSON line at the end.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { mulberry32 } from '../src/main/demo/demo-data.ts';
import { numberArg } from './bench-data.ts';
import { call, labelledDemo } from './bench-demo.ts';

const COUNT = numberArg('count', 240);
const FLIP = numberArg('flip', 10) / 100;
const SEED = numberArg('seed', 11);
const CLASSES = ['normal', 'cardiomegaly', 'effusion', 'nodule'];
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'lightbox-bench-errors-'));
process.env.LIGHTBOX_HOME = path.join(work, 'home');

const { app, classOf } = await labelledDemo(path.join(work, 'demo'), COUNT);
const rand = mulberry32(SEED);
const planted = new Set<number>();
for (const [id, t] of classOf) {
  let label = t;
  if (rand() < FLIP) {
    const others = CLASSES.filter((c) => c !== t);
    label = others[Math.floor(rand() * others.length)]!;
    planted.add(id);
  }
  await call(app, 'labels.set', { level: 'study', itemId: id, group: 'finding', labels: [label] });
}
await app.labels.whenFresh();
await app.labels.whenIdle();
const listed = (await call(app, 'labels.queue', { group: 'finding', queue: 'errors', limit: 500 })).items.map((i) => i.itemId);
const hits = listed.filter((id) => planted.has(id)).length;
const top10 = listed.slice(0, 10);
const precision = listed.length ? hits / listed.length : 0;
const recall = planted.size ? hits / planted.size : 0;
const status = app.labels.suggestions.status().groups.find((g) => g.key === 'finding')!;
await app.close();
fs.rmSync(work, { recursive: true, force: true });
process.stderr.write(`${classOf.size} studies, ${planted.size} planted errors; queue lists ${listed.length}: ${hits} planted (precision ${(precision * 100).toFixed(0)} %, recall ${(recall * 100).toFixed(0)} %); source ${status.source}\n`);
console.log(JSON.stringify({
  name: 'label-errors-precision', studies: classOf.size, planted: planted.size, listed: listed.length,
  value: Number(precision.toFixed(3)), unit: 'precision', recall: Number(recall.toFixed(3)),
  precisionAt10: top10.length ? Number((top10.filter((id) => planted.has(id)).length / top10.length).toFixed(3)) : null,
  source: status.source,
  anchor: { name: 'labelled items listed at random', value: Number((planted.size / classOf.size).toFixed(3)), unit: 'precision' },
}));
