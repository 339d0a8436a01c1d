// bench:reading — what one read costs a reader as a study grows: reading.next + reading.item + reading.read per
// position, for studies of 1,000 to 20,000 items (study rows inserted straight into a scratch project: only their
// UIDs matter here). A reader's next item follows a cursor over their own reads, so the cost per read should stay
// flat; the old next() rescanned every read (quadratic over a session). reading.read's cost is mostly its durable
// commit. `--quick`: 1,000 and 5,000 only. Ends with one JSON line of figures.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Lightbox } from '../src/main/app.ts';
import { DEMO_SCHEMA } from '../src/shared/label-schema.ts';
import { call } from './bench-demo.ts';

const sizes = process.argv.includes("--quick") ? [1000, 5000] : [1000, 5000, 20000];
const figures: Record<string, number> = {};
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lightbox-bench-reading-'));
process.env.LIGHTBOX_HOME = path.join(dir, 'home');
const app = Lightbox.open(path.join(dir, 'project'), { create: true });
try {
  app.labels.setSchema({ schema: DEMO_SCHEMA });
  const db = app.store.db;
  const patient = Number(db.prepare("INSERT INTO patients(patient_key) VALUES ('bench')").run().lastInsertRowid);
  const add = db.prepare('INSERT INTO studies(study_uid, patient_pk) VALUES (?, ?)');
  const total = Math.max(...sizes);
  db.transaction(() => { for (let i = 0; i < total; i++) add.run(`2.25.${i + 1}`, patient); })();
  await call(app, 'readers.create', { name: 'bench' });
  for (const n of sizes) {
    const items = Array.from({ length: n }, (_, i) => `2.25.${i + 1}`);
    const s = await call(app, 'reading.create', { name: `bench ${n}`, group: 'finding', items, readers: ['bench'] });
    const t0 = performance.now();
    let reads = 0, nextMs = 0;
    for (;;) {
      const tn = performance.now();
      const next = await call(app, 'reading.next', { study: s.id });
      nextMs += performance.now() - tn;
      if (!next) break;
      await call(app, 'reading.read', { study: s.id, position: next.position, label: 'normal' });
      reads++;
    }
    const ms = performance.now() - t0;
    figures[`next_us_${n}`] = Math.round((nextMs * 1000) / n);
    if (reads !== n) throw new Error(`bench:reading: read ${reads} of ${n} positions`);
    figures[`us_per_read_${n}`] = Math.round((ms * 1000) / n);
    const t1 = performance.now();
    await call(app, 'reading.status', { study: s.id });
    figures[`status_ms_${n}`] = Math.round((performance.now() - t1) * 10) / 10;
    console.error(`${n} items: ${(ms / 1000).toFixed(1)} s for every read, ${figures[`us_per_read_${n}`]} µs a read (next + read)`);
  }
  // How much dearer reading.next is on the largest study than on the smallest: ~1 when it does not grow with n.
  figures.next_growth = Math.round((figures[`next_us_${sizes.at(-1)}`]! / figures[`next_us_${sizes[0]}`]!) * 100) / 100;
} finally {
  await app.close();
  fs.rmSync(dir, { recursive: true, force: true });
}
console.log(JSON.stringify(figures));
