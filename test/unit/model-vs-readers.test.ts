// Model vs readers on the demo set: three simulated readers read 60 radiographs, the study is unblinded and its
// ties adjudicated, and reading.compare's figures — accuracy, sensitivity and specificity per class with Wilson
// intervals, the model's macro one-vs-rest AUC and ROC curves, per sub-task of the hierarchy — are recomputed by
// scikit-learn and statsmodels from the raw reads, the reference and the model's class probabilities, folding the
// hierarchy in Python independently. Also: the CLI's `study compare --json` prints the same, and the CSV export.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Lightbox } from '../../src/main/app.ts';
import { modelPredictions } from '../../src/main/labels/index.ts';
import { DEMO_READERS, simulateReads } from '../../src/main/readers/simulate-readers.ts';
import type { CallName, CallResult } from '../../src/shared/contract.ts';
import { comparisonCsv } from '../../src/shared/reader-compare.ts';
import { DEMO_SCHEMA } from '../../src/shared/label-schema.ts';
import { embedAll, openDemoProject, tempDir } from '../helpers.ts';

process.env.LIGHTBOX_HOME = tempDir('lightbox-home-');
const ROOT = path.resolve(import.meta.dirname, '../..');
const PY = '/usr/bin/python3';

let app: Lightbox;
let project: string;
let study = 0;
const truthOf = new Map<string, string>();

async function call<N extends CallName>(name: N, input: unknown): Promise<CallResult<N>> {
  const r = await app.call(name, input);
  if (!r.ok) throw new Error(`${name}: ${r.error.message}`);
  return r.result as CallResult<N>;
}

beforeAll(async () => {
  let truth;
  ({ app, truth, project } = await openDemoProject({ count: 60, ctSeries: 0 }));
  await embedAll(app, { provider: 'cpu' });
  app.labels.setSchema({ schema: DEMO_SCHEMA });
  const rows = app.store.db.prepare('SELECT st.study_uid, i.sop_uid FROM studies st JOIN series s ON s.study_pk = st.id JOIN instances i ON i.series_pk = s.id').raw().all() as [string, string][];
  for (const [uid, sop] of rows) truthOf.set(uid, truth.instances[sop]!.class);
  for (const r of DEMO_READERS) await call('readers.create', { name: r.name });
  study = (await call('reading.create', { name: 'compare', group: 'finding', items: [...truthOf.keys()].sort(), readers: DEMO_READERS.map((r) => r.name), seed: 3 })).id;
  await simulateReads(app.invoke.bind(app), study, DEMO_READERS, (u) => truthOf.get(u)!, ['normal', 'cardiomegaly', 'effusion', 'nodule'], 5);
  await call('reading.unblind', { study });
  // The ties go to an adjudicator who knows the truth.
  const ref = await call('reading.reference', { study, rule: 'majority' });
  for (const u of ref.queue) await call('reading.adjudicate', { study, itemUid: u, label: truthOf.get(u)! });
}, 240_000);
afterAll(async () => { await app?.close(); });

const SKLEARN = String.raw`
import json, sys
import numpy as np
from sklearn.metrics import accuracy_score, roc_auc_score, roc_curve
from statsmodels.stats.proportion import proportion_confint
d = json.load(sys.stdin)
keys = d['keys']; parent = d['parent']
def chain(v):
    out = [v]
    while parent.get(out[0]): out.insert(0, parent[out[0]])
    return out
def level_map(level, v):
    if level == 'label': return v
    if level == 'top': return chain(v)[0]
    p = level[6:]; c = chain(v)
    if p not in c: return None
    i = c.index(p)
    return c[i + 1] if i + 1 < len(c) else p
def wilson(k, n):
    lo, hi = proportion_confint(k, n, alpha=0.05, method='wilson')
    return [k / n, float(lo), float(hi)]
out = {}
for level, cats in d['levels'].items():
    items = [u for u in d['reference'] if level_map(level, d['reference'][u]) is not None]
    y = np.array([cats.index(level_map(level, d['reference'][u])) for u in items])
    res = {}
    for r, reads in d['reads'].items():
        mine = [i for i, u in enumerate(items) if u in reads]
        yt = y[mine]
        yp = np.array([cats.index(level_map(level, reads[items[i]])) if level_map(level, reads[items[i]]) is not None else -1 for i in mine])
        per = {}
        for c in range(len(cats)):
            pos = yt == c; neg = ~pos
            per[cats[c]] = {'sens': wilson(int(((yp == c) & pos).sum()), int(pos.sum())) if pos.sum() else None,
                            'spec': wilson(int(((yp != c) & neg).sum()), int(neg.sum())) if neg.sum() else None}
        res[r] = {'acc': wilson(int((yt == yp).sum()), len(yt)) if len(yt) else None, 'n': len(yt), 'per': per}
    for name, probs in d['probs'].items():
        rows = [d['uids'].index(u) for u in items]
        P = np.array(probs)[rows]
        cls_cat = [cats.index(level_map(level, k)) if level_map(level, k) is not None else -1 for k in keys]
        L = np.zeros((len(items), len(cats)))
        for c, j in enumerate(cls_cat):
            if j >= 0: L[:, j] += P[:, c]
        L = L / L.sum(axis=1, keepdims=True)
        yp = L.argmax(axis=1)
        aucs = {}
        for c in range(len(cats)):
            if 0 < (y == c).sum() < len(y): aucs[cats[c]] = float(roc_auc_score((y == c).astype(int), L[:, c]))
        per = {}
        for c in range(len(cats)):
            pos = y == c; neg = ~pos
            per[cats[c]] = {'sens': wilson(int(((yp == c) & pos).sum()), int(pos.sum())) if pos.sum() else None,
                            'spec': wilson(int(((yp != c) & neg).sum()), int(neg.sum())) if neg.sum() else None}
        present = sorted(set(y.tolist()))
        # scikit-learn's own multi-class macro needs every category present; binary is the AUC of the second.
        macro = None
        if len(cats) == 2 and len(present) == 2: macro = float(roc_auc_score(y, L[:, 1]))
        elif len(present) == len(cats): macro = float(roc_auc_score(y, L, multi_class='ovr', average='macro'))
        c0 = max(range(len(cats)), key=lambda c: (y == c).sum())
        fpr, tpr, _ = roc_curve((y == c0).astype(int), L[:, c0], drop_intermediate=False)
        res[name] = {'acc': wilson(int((y == yp).sum()), len(y)), 'n': len(y), 'per': per, 'aucs': aucs, 'macro_mean': float(np.mean(list(aucs.values()))), 'macro_sklearn': macro,
                     'roc': {'category': cats[c0], 'fpr': fpr.tolist(), 'tpr': tpr.tolist()}}
    out[level] = res
print(json.dumps(out))
`;

describe('reading.compare', () => {
  it('matches scikit-learn and statsmodels on every sub-task, for the readers and both model sources', async () => {
    const c = await call('reading.compare', { study, rule: 'majority', resamples: 200, seed: 1 });
    expect(c.pending).toBe(0);
    expect(c.items).toBe(60);
    expect(c.levels.map((l) => l.level)).toEqual(['label', 'top', 'under:abnormal']);
    const reference = new Map((await call('reading.reference', { study, rule: 'majority' })).items.map((x) => [x.itemUid, x.label!]));
    const g = DEMO_SCHEMA.groups[0]!;
    const preds = await modelPredictions(app.labels.repo, app.embeddings, g, reference, 5);
    expect(preds.adapter).not.toBeNull();
    expect(preds.zeroShot).not.toBeNull();
    const reads = await call('reading.reads', { study });
    const byReader: Record<string, Record<string, string>> = {};
    for (const r of reads.reads) if (!r.repeat) (byReader[r.reader] ??= {})[r.itemUid] = r.labels[0]!;
    const py = JSON.parse(execFileSync(PY, ['-c', SKLEARN], {
      encoding: 'utf8',
      input: JSON.stringify({
        keys: g.labels.map((l) => l.key), parent: Object.fromEntries(g.labels.map((l) => [l.key, l.parent ?? null])),
        levels: Object.fromEntries(c.levels.map((l) => [l.level, l.categories])), reference: Object.fromEntries(reference), reads: byReader,
        uids: preds.uids, probs: { 'adapter (out-of-fold)': chunk(preds.adapter!, g.labels.length), 'zero-shot': chunk(preds.zeroShot!, g.labels.length) },
      }),
    })) as Record<string, Record<string, { acc: number[] | null; n: number; per: Record<string, { sens: number[] | null; spec: number[] | null }>; aucs?: Record<string, number>; macro_mean?: number; macro_sklearn?: number | null; roc?: { category: string; fpr: number[]; tpr: number[] } }>>;
    const triple = (p: { value: number | null; low: number | null; high: number | null }): (number | null)[] => [p.value, p.low, p.high];
    let checked = 0;
    for (const l of c.levels) {
      for (const r of l.raters) {
        const want = py[l.level]![r.name]!;
        expect(r.n, `${l.level} ${r.name} n`).toBe(want.n);
        expect(triple(r.accuracy).map((v) => v!.toFixed(10))).toEqual(want.acc!.map((v) => v.toFixed(10)));
        for (const k of r.classes) {
          const w = want.per[k.category]!;
          if (w.sens) expect(triple(k.sensitivity).map((v) => v!.toFixed(10)), `${l.level} ${r.name} ${k.category} sensitivity`).toEqual(w.sens.map((v) => v.toFixed(10)));
          else expect(k.sensitivity.value).toBeNull();
          if (w.spec) expect(triple(k.specificity).map((v) => v!.toFixed(10))).toEqual(w.spec.map((v) => v.toFixed(10)));
          if (r.kind === 'model') expect(k.auc ?? null, `${l.level} ${r.name} ${k.category} auc`).toBeCloseTo(want.aucs![k.category] ?? (null as unknown as number), 10);
          checked++;
        }
        if (r.kind === 'model') {
          expect(r.macroAuc!.value!).toBeCloseTo(want.macro_mean!, 10);
          if (want.macro_sklearn !== null) expect(r.macroAuc!.value!).toBeCloseTo(want.macro_sklearn!, 10);
          expect(r.macroAuc!.low!).toBeLessThanOrEqual(r.macroAuc!.value!);
          expect(r.macroAuc!.high!).toBeGreaterThanOrEqual(r.macroAuc!.value!);
          const roc = l.roc.find((x) => x.rater === r.name && x.category === want.roc!.category)!;
          expect(roc.fpr.map((v) => v.toFixed(10))).toEqual(want.roc!.fpr.map((v) => v.toFixed(10)));
          expect(roc.tpr.map((v) => v.toFixed(10))).toEqual(want.roc!.tpr.map((v) => v.toFixed(10)));
        }
      }
    }
    expect(checked).toBeGreaterThan(50);
    // The more accurate simulated reader is the closer to the reference.
    const label = c.levels[0]!.raters;
    const acc = (n: string): number => label.find((r) => r.name === n)!.accuracy.value!;
    expect(acc('reader-a')).toBeGreaterThan(acc('reader-c'));
  }, 120_000);

  it('is refused while the study is blinded, naming the fix', async () => {
    const s = await call('reading.create', { name: 'blind', group: 'finding', items: [...truthOf.keys()].slice(0, 3), readers: ['reader-a'] });
    const r = await app.call('reading.compare', { study: s.id });
    expect(r.ok ? null : r.error.message).toMatch(/study \d+ is still blinded; unblind it first/);
  });

  it('reading.errors: the tree covers the items the model gets wrong, and finds a planted attribute', async () => {
    const c = await call('reading.compare', { study, resamples: 20 });
    for (const source of ['adapter', 'zero-shot'] as const) {
      const e = await call('reading.errors', { study, source, level: 'label', maxDepth: 3, minLeaf: 3 });
      const rater = c.levels[0]!.raters.find((r) => r.name === (source === 'adapter' ? 'adapter (out-of-fold)' : 'zero-shot'))!;
      expect(e.n).toBe(rater.n);
      expect(e.errors).toBe(rater.n - rater.accuracy.k);
      expect(e.nodes[0]).toMatchObject({ n: e.n, errors: e.errors, condition: null });
      for (const n of e.nodes) {
        if (n.children.length === 0) continue;
        const [rest, eq] = n.children.map((id) => e.nodes[id]!);
        expect(rest!.n + eq!.n).toBe(n.n);
        expect(rest!.errors + eq!.errors).toBe(n.errors);
        expect(Math.min(rest!.n, eq!.n)).toBeGreaterThanOrEqual(3);
        expect(eq!.depth).toBe(n.depth + 1);
        expect(new Set([...rest!.items, ...eq!.items])).toEqual(new Set(n.items));
      }
      expect(Math.max(...e.nodes.map((n) => n.depth))).toBeLessThanOrEqual(3);
      expect(e.attributes).toEqual(expect.arrayContaining(['manufacturer', 'view position', 'age band', 'study year', 'label: quality']));
      expect(e.ranking.map((r) => r.attribute).sort()).toEqual([...e.attributes].sort());
    }
    // Plant structure: the items the adapter gets wrong are labelled "rotated" in the project's quality group;
    // the tree's first split must be that label, with every error on its side.
    const e = await call('reading.errors', { study, source: 'adapter', level: 'label', minLeaf: 2 });
    const wrong = new Set(e.wrong);
    expect(wrong.size).toBe(e.errors);
    for (const u of wrong) {
      const id = app.labels.repo.idOf('study', u)!;
      await call('labels.set', { level: 'study', itemId: id, group: 'quality', labels: ['rotated'] });
    }
    const again = await call('reading.errors', { study, source: 'adapter', level: 'label', minLeaf: 2 });
    const root = again.nodes[0]!;
    // A two-valued attribute splits the same either way round ("rotated" or "(unlabelled)" against the rest).
    const [rest, eq] = root.children.map((id) => again.nodes[id]!);
    expect(eq!.condition!.attribute).toBe('label: quality');
    const rotated = eq!.condition!.value === 'rotated' ? eq! : rest!;
    expect(rotated).toMatchObject({ n: wrong.size, errors: wrong.size, errorRate: 1 });
    expect((rotated === eq ? rest : eq)!.errors).toBe(0);
    expect(again.ranking[0]!.attribute).toBe('label: quality');
    const bad = await app.call('reading.errors', { study, level: 'under:nothing' });
    expect(bad.ok ? null : bad.error.message).toMatch(/level: "under:nothing" is not a sub-task of group "finding" \(label, top, under:abnormal\)/);
  }, 120_000);

  it('exports as CSV with a row per level, rater and category; the CLI prints the same JSON', async () => {
    const c = await call('reading.compare', { study, resamples: 50 });
    const csv = comparisonCsv(c).trim().split('\n');
    const raters = c.levels.reduce((s, l) => s + l.raters.length * (1 + l.categories.length), 0);
    expect(csv.length).toBe(1 + raters);
    expect(csv[0]).toMatch(/^level,rater,kind,category,n,positives,accuracy/);
    expect(csv.find((l) => l.startsWith('top,reader-a,reader,all,'))).toBeDefined();
    await app.close();
    const out = execFileSync(process.execPath, [path.join(ROOT, 'bin/lightbox.mjs'), 'study', 'compare', '--project', project, '--study', String(study), '--resamples', '50', '--json'], { encoding: 'utf8', env: { ...process.env } });
    const cli = JSON.parse(out) as typeof c;
    expect(cli.levels.map((l) => l.raters.map((r) => [r.name, r.accuracy.value, r.macroAuc?.value ?? null]))).toEqual(c.levels.map((l) => l.raters.map((r) => [r.name, r.accuracy.value, r.macroAuc?.value ?? null])));
    const csvOut = execFileSync(process.execPath, [path.join(ROOT, 'bin/lightbox.mjs'), 'study', 'compare', '--project', project, '--study', String(study), '--resamples', '50', '--format', 'csv'], { encoding: 'utf8', env: { ...process.env } });
    expect(csvOut).toBe(comparisonCsv(c));
  }, 120_000);
});

function chunk(a: Float32Array, k: number): number[][] {
  return Array.from({ length: a.length / k }, (_, i) => Array.from(a.subarray(i * k, (i + 1) * k)));
}
