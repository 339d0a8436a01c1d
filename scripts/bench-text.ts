// npm run bench:text [-- --count N --repeats R]
// The text side on the demo set (N studies, default 240) with the built-in package's toy text tower: the text
// worker's cold start, texts embedded per second (uncached), zero-shot accuracy from the demo schema's prompts
// against the package's precomputed head (the same labels without prompts) and chance, the time from saving a
// reworded prompt until refreshed suggestions are published, and search.text latency and precision of the first 20
// studies per finding. Prints one JSON line at the end.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEMO_SCHEMA } from '../src/shared/label-schema.ts';
import type { LabelSchema } from '../src/shared/label-schema.ts';
import { numberArg } from './bench-data.ts';
import { call, labelledDemo } from './bench-demo.ts';

const COUNT = numberArg('count', 240);
const REPEATS = numberArg('repeats', 5);
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'lightbox-bench-text-'));
process.env.LIGHTBOX_HOME = path.join(work, 'home');

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const round = (v: number, d = 3): number => Number(v.toFixed(d));

// labelledDemo sets the demo schema and waits for suggestions: the text worker starts there. Time a fresh one here.
const { app, classOf } = await labelledDemo(path.join(work, 'demo'), COUNT);
const pkg = await app.embeddings.resolveModel();
await app.embeddings.text.close();
let t0 = performance.now();
await app.embeddings.text.embed(pkg, ['a chest radiograph']);
const coldStartMs = performance.now() - t0;
const texts = Array.from({ length: 512 }, (_, i) => `a chest radiograph showing ${['an enlarged heart', 'a pleural effusion', 'a lung nodule', 'no abnormality'][i % 4]} number ${i}`);
t0 = performance.now();
await app.embeddings.text.embed(pkg, texts);
const textsPerSecond = texts.length / ((performance.now() - t0) / 1000);

async function accuracy(): Promise<number> {
  let right = 0;
  for (const [id, cls] of classOf) {
    const v = await call(app, 'labels.item', { level: 'study', itemId: id });
    if (v.groups.find((g) => g.key === 'finding')?.suggestion?.labels[0] === cls) right++;
  }
  return right / classOf.size;
}
async function setSchema(schema: LabelSchema): Promise<number> {
  const start = performance.now();
  await call(app, 'labels.setSchema', { schema });
  await app.labels.whenIdle();
  return performance.now() - start;
}

await setSchema(DEMO_SCHEMA);
const fromPrompts = await accuracy();
const promptless = structuredClone(DEMO_SCHEMA);
for (const l of promptless.groups[0]!.labels) l.prompt = '';
await setSchema(promptless);
const precomputedHead = await accuracy();

// Reword one prompt, R times (a new wording each time, so it is never cached), and wait for the refreshed suggestions.
const editMs: number[] = [];
for (let r = 0; r < REPEATS; r++) {
  const s = structuredClone(DEMO_SCHEMA);
  s.groups[0]!.labels.find((l) => l.key === 'effusion')!.prompt = `${'pleural fluid '.repeat(r + 1).trim()} on a chest radiograph`;
  editMs.push(await setSchema(s));
}

const queries: [string, string][] = [['pleural effusion', 'effusion'], ['an enlarged heart', 'cardiomegaly'], ['a lung nodule', 'nodule'], ['a normal chest radiograph', 'normal']];
const searchMs: number[] = [];
const precisionAt20: Record<string, number> = {};
for (let r = 0; r < REPEATS; r++) {
  for (const [text, cls] of queries) {
    const start = performance.now();
    const res = await call(app, 'search.text', { text, level: 'study', k: 20 });
    searchMs.push(performance.now() - start);
    precisionAt20[cls] = round(res.items.filter((h) => classOf.get(h.itemId) === cls).length / res.items.length);
  }
}
await app.close();
fs.rmSync(work, { recursive: true, force: true });
console.log(JSON.stringify({
  bench: 'text', studies: classOf.size, model: pkg.manifest.name,
  textWorkerColdStartMs: round(coldStartMs, 1), textsPerSecond: round(textsPerSecond, 0),
  zeroShotAccuracy: { fromPrompts: round(fromPrompts), precomputedHead: round(precomputedHead), chance: 0.25 },
  promptEditToSuggestionsMs: { median: round(median(editMs), 1), max: round(Math.max(...editMs), 1) },
  searchMs: { median: round(median(searchMs), 2), max: round(Math.max(...searchMs), 2) },
  searchPrecisionAt20: precisionAt20,
}));
