// demo:readers — three simulated readers of known accuracy (0.95, 0.80, 0.60) read the demo set's chest
// radiographs (study level, group "finding", 20 % repeats); the study is unblinded and its agreement and
// reference standard printed. Usage: npm run demo:readers [-- --project <dir>] (default: the demo project).
import fs from 'node:fs';
import path from 'node:path';
import { Lightbox } from '../src/main/app.ts';
import type { DemoTruth } from '../src/main/demo/demo-data.ts';
import { defaultDemoProject, ensureDemoProject } from '../src/main/demo/demo-project.ts';
import { DEMO_READERS, simulateReads } from '../src/main/readers/simulate-readers.ts';

const at = process.argv.indexOf('--project');
const dir = path.resolve(at > 0 && process.argv[at + 1] ? process.argv[at + 1]! : defaultDemoProject());
await ensureDemoProject(dir);
const truth = JSON.parse(fs.readFileSync(path.join(dir, 'demo-truth.json'), 'utf8')) as DemoTruth;
const app = Lightbox.open(dir);
try {
  const rows = app.store.db.prepare('SELECT st.study_uid, i.sop_uid FROM studies st JOIN series s ON s.study_pk = st.id JOIN instances i ON i.series_pk = s.id').raw().all() as [string, string][];
  const classOf = new Map<string, string>();
  for (const [study, sop] of rows) if (truth.instances[sop]?.kind === 'cxr') classOf.set(study, truth.instances[sop]!.class);
  const known = new Set((await app.invoke('readers.list', {})).readers.map((r) => r.name));
  for (const r of DEMO_READERS) if (!known.has(r.name)) await app.invoke('readers.create', { name: r.name });
  const study = await app.invoke('reading.create', {
    name: `simulated readers ${new Date().toISOString()}`, group: 'finding', items: [...classOf.keys()].sort(),
    readers: DEMO_READERS.map((r) => r.name), seed: 1, repeatShare: 0.2,
  });
  await simulateReads(app.invoke.bind(app), study.id, DEMO_READERS, (uid) => classOf.get(uid)!, ['normal', 'cardiomegaly', 'effusion', 'nodule']);
  await app.invoke('reading.unblind', { study: study.id });
  const a = await app.invoke('reading.agreement', { study: study.id });
  const ref = await app.invoke('reading.reference', { study: study.id, rule: 'majority' });
  const f = (v: number | null): string => (v === null ? '—' : v.toFixed(3));
  console.log(`study ${study.id}: ${study.items} radiographs, readers ${DEMO_READERS.map((r) => `${r.name} (accuracy ${r.accuracy})`).join(', ')}`);
  for (const l of a.levels) {
    console.log(`${l.level}: Fleiss ${f(l.fleiss.value)} [${f(l.fleiss.ci.low)}, ${f(l.fleiss.ci.high)}], alpha ${f(l.alpha.value)}; ` +
      l.pairs.map((p) => `${p.a}/${p.b} kappa ${f(p.kappa.value)} [${f(p.kappa.ci.low)}, ${f(p.kappa.ci.high)}]`).join('; '));
  }
  const basis = new Map<string, number>();
  for (const x of ref.items) basis.set(x.basis, (basis.get(x.basis) ?? 0) + 1);
  console.log(`reference (majority): ${[...basis].map(([b, n]) => `${b} ${n}`).join(', ')}; adjudication queue ${ref.queue.length}`);
  console.log(`see it again: lightbox agreement --project ${dir} --study ${study.id}`);
} finally {
  await app.close();
}
