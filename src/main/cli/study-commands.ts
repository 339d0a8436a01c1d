// `lightbox study create|status` and `lightbox agreement`: reader studies from the command line, through the
// same calls as the workstation (Lightbox.invoke), so validation and blinding are the API's.
import fs from 'node:fs';
import path from 'node:path';
import { LightboxError } from '../../shared/contract.ts';
import type { StudyAgreement } from '../../shared/contract.ts';
import { comparisonCsv } from '../../shared/reader-compare.ts';
import type { ErrorAnalysis, StudyComparison } from '../../shared/reader-compare.ts';
import { Lightbox } from '../app.ts';

export const STUDY_USAGE = `  study create --project <dir> --name <text> --group <single-choice group> --readers a,b,c
         [--items-file <file: one item UID a line>] [--seed N] [--repeat 0.2] [--json]
                                             a reading study (default items: every study of the project);
                                             readers not yet known are created
  study status --project <dir> [--study <id>] [--json]   progress per reader (every study without --study)
  study compare --project <dir> --study <id> [--rule majority|unanimous] [--resamples N] [--folds 5] [--json | --format csv]
                                             the model (out-of-fold adapter, zero-shot) and each reader against the
                                             reference: accuracy, sensitivity/specificity per class, macro AUC, CIs
  study errors --project <dir> --study <id> [--source adapter|zero-shot] [--level label|top|under:<key>]
         [--depth 3] [--min-leaf 5] [--json]   where the model errs: a decision tree over item attributes
  agreement --project <dir> --study <id> [--resamples N] [--seed N] [--json]
                                             agreement between the readers (unblinded studies only)`;

type Flags = ReadonlyMap<string, string | true>;
const text = (flags: Flags, name: string): string | undefined => {
  const v = flags.get(name);
  return typeof v === 'string' ? v : undefined;
};
function need(flags: Flags, name: string, what: string): string {
  const v = text(flags, name);
  if (v === undefined) throw new LightboxError('bad-request', `--${name} ${what} is required`);
  return v;
}
const num = (flags: Flags, name: string): number | undefined => {
  const v = text(flags, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new LightboxError('bad-request', `--${name} must be a number, not "${v}"`);
  return n;
};

async function allStudyUids(app: Lightbox): Promise<string[]> {
  const uids: string[] = [];
  for (let offset = 0; ; offset += 1000) {
    const page = await app.invoke('worklist.query', { limit: 1000, offset, sort: 'studyDate', direction: 'asc' });
    uids.push(...page.rows.map((r) => r.studyUid));
    if (page.rows.length < 1000) return uids;
  }
}

const fmt = (v: number | null): string => (v === null ? '—' : v.toFixed(3));
const withCI = (s: { value: number | null; ci: { low: number | null; high: number | null }; note: string | null }): string =>
  `${fmt(s.value)} [${fmt(s.ci.low)}, ${fmt(s.ci.high)}]${s.note ? ` (${s.note})` : ''}`;

function printAgreement(a: StudyAgreement): void {
  console.log(`study ${a.study}, group ${a.group}, ${a.items} items`);
  for (const l of a.levels) {
    console.log(`\n${l.level} (${l.categories.join(' / ')})`);
    console.log(`  Fleiss' kappa ${withCI(l.fleiss)}  n=${l.fleiss.n}`);
    console.log(`  Krippendorff's alpha ${withCI(l.alpha)}  n=${l.alpha.n}`);
    for (const p of l.pairs) console.log(`  ${p.a} vs ${p.b}: agreement ${withCI(p.percent)}, kappa ${withCI(p.kappa)}, quadratic ${withCI(p.kappaQuadratic)}`);
    for (const r of l.intra) if (r.percent.n > 0) console.log(`  ${r.reader} vs themselves (${r.percent.n} repeats): agreement ${withCI(r.percent)}, kappa ${withCI(r.kappa)}`);
  }
}

function printComparison(c: StudyComparison): void {
  console.log(`study ${c.study}, group ${c.group}: ${c.items} items with a reference (${c.rule})${c.pending ? `, ${c.pending} pending` : ''}; model ${c.model?.name ?? 'none'}`);
  for (const n of c.notes) console.log(`  note: ${n}`);
  for (const l of c.levels) {
    console.log(`\n${l.level} (${l.categories.join(' / ')}), n=${l.n}`);
    for (const r of l.raters) {
      const auc = r.macroAuc ? `, macro AUC ${fmt(r.macroAuc.value)} [${fmt(r.macroAuc.low)}, ${fmt(r.macroAuc.high)}]` : '';
      console.log(`  ${r.name.padEnd(24)} accuracy ${fmt(r.accuracy.value)} [${fmt(r.accuracy.low)}, ${fmt(r.accuracy.high)}]${auc}`);
      for (const k of r.classes) console.log(`    ${k.category.padEnd(16)} sensitivity ${fmt(k.sensitivity.value)} [${fmt(k.sensitivity.low)}, ${fmt(k.sensitivity.high)}]  specificity ${fmt(k.specificity.value)} [${fmt(k.specificity.low)}, ${fmt(k.specificity.high)}]`);
    }
  }
}

function printErrorTree(e: ErrorAnalysis): void {
  console.log(`study ${e.study}, ${e.source} at ${e.level}: ${e.errors} errors in ${e.n} items (${e.n ? ((100 * e.errors) / e.n).toFixed(1) : '—'} %)`);
  for (const n of e.notes) console.log(`  note: ${n}`);
  const walk = (id: number): void => {
    const n = e.nodes[id]!;
    const cond = n.condition ? `${n.condition.attribute} ${n.condition.equals ? '=' : '≠'} ${n.condition.value}` : 'all items';
    console.log(`${'  '.repeat(n.depth + 1)}${cond}: ${n.errors}/${n.n} wrong (${(100 * n.errorRate).toFixed(1)} %)`);
    for (const c of n.children) walk(c);
  };
  walk(0);
  console.log('  mutual information with the error: ' + e.ranking.slice(0, 6).map((r) => `${r.attribute} ${r.mutualInformation.toFixed(3)}`).join(', '));
}

/** Runs `study …` or `agreement`; returns the exit code. */
export async function runReaderCommand(cmd: 'study' | 'agreement', rest: readonly string[], flags: Flags, projectDir: string): Promise<number> {
  const json = flags.get('json') === true;
  const app = Lightbox.open(projectDir);
  try {
    if (cmd === 'agreement') {
      const study = num(flags, 'study');
      if (study === undefined) throw new LightboxError('bad-request', '--study <id> is required');
      const a = await app.invoke('reading.agreement', { study, resamples: num(flags, 'resamples') ?? 1000, seed: num(flags, 'seed') ?? 1 });
      if (json) console.log(JSON.stringify(a, null, 2));
      else printAgreement(a);
      return 0;
    }
    if (rest[0] === 'create') {
      const readers = need(flags, 'readers', 'a,b,c').split(',').map((r) => r.trim()).filter(Boolean);
      const known = new Set((await app.invoke('readers.list', {})).readers.map((r) => r.name));
      for (const r of readers) if (!known.has(r)) await app.invoke('readers.create', { name: r });
      const file = text(flags, 'items-file');
      const items = file
        ? fs.readFileSync(path.resolve(file), 'utf8').split(/\r?\n/).map((l) => l.trim()).filter(Boolean)
        : await allStudyUids(app);
      const s = await app.invoke('reading.create', {
        name: need(flags, 'name', '<text>'), group: need(flags, 'group', '<group key>'), items, readers,
        seed: num(flags, 'seed') ?? 1, repeatShare: num(flags, 'repeat') ?? 0,
      });
      if (json) console.log(JSON.stringify(s, null, 2));
      else console.log(`reading study ${s.id} "${s.name}": ${s.items} items, readers ${s.readers.join(', ')}, ${s.progress[0]!.total} reads each`);
      return 0;
    }
    if (rest[0] === 'status') {
      const id = num(flags, 'study');
      const list = id === undefined ? await app.invoke('reading.list', {}) : [await app.invoke('reading.status', { study: id })];
      if (json) console.log(JSON.stringify(list, null, 2));
      else for (const s of list) console.log(`${s.id} "${s.name}" (${s.group}, ${s.unblinded ? 'unblinded' : 'blinded'}): ${s.progress.map((p) => `${p.reader} ${p.done}/${p.total}`).join(', ')}`);
      return 0;
    }
    if (rest[0] === 'compare') {
      const study = num(flags, 'study');
      if (study === undefined) throw new LightboxError('bad-request', '--study <id> is required');
      const rule = text(flags, 'rule') ?? 'majority';
      if (rule !== 'majority' && rule !== 'unanimous') throw new LightboxError('bad-request', `--rule must be majority or unanimous, not "${rule}"`);
      const c = await app.invoke('reading.compare', { study, rule, resamples: num(flags, 'resamples') ?? 1000, seed: num(flags, 'seed') ?? 1, folds: num(flags, 'folds') ?? 5 });
      if (text(flags, 'format') === 'csv') process.stdout.write(comparisonCsv(c));
      else if (json) console.log(JSON.stringify(c, null, 2));
      else printComparison(c);
      return 0;
    }
    if (rest[0] === 'errors') {
      const study = num(flags, 'study');
      if (study === undefined) throw new LightboxError('bad-request', '--study <id> is required');
      const source = text(flags, 'source') ?? 'adapter';
      if (source !== 'adapter' && source !== 'zero-shot') throw new LightboxError('bad-request', `--source must be adapter or zero-shot, not "${source}"`);
      const e = await app.invoke('reading.errors', { study, source, level: text(flags, 'level') ?? 'label', maxDepth: num(flags, 'depth') ?? 3, minLeaf: num(flags, 'min-leaf') ?? 5 });
      if (json) console.log(JSON.stringify(e, null, 2));
      else printErrorTree(e);
      return 0;
    }
    throw new LightboxError('bad-request', `study needs create, status, compare or errors: lightbox study create|status|compare|errors --project <dir>`);
  } finally {
    await app.close();
  }
}
