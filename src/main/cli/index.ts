// `lightbox` — headless commands over the same services the workstation uses.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LightboxError, calls, formatIssues } from '../../shared/contract.ts';
import type { CallName, CallParsed, ExportSummary, ImportSummary, JobProgress } from '../../shared/contract.ts';
import { Lightbox } from '../app.ts';
import { Workstation } from '../workstation.ts';
import { defaultDemoProject, ensureDemoProject } from '../demo/demo-project.ts';
import { startHttpHost } from '../hosts/http-host.ts';
import type { JobResults } from '../jobs/index.ts';
import { explainStoreError } from '../project/project-store.ts';
import { STUDY_USAGE, runReaderCommand } from './study-commands.ts';
import { SEARCH_USAGE, runSearch } from './search-command.ts';
import { PACS_USAGE, runPacsCommand } from './pacs-commands.ts';
import { STORE_USAGE, runStoreCommand } from './store-commands.ts';

const USAGE = `usage: lightbox <command> [options]

  import <folder> --project <dir> [--json]   index a folder of DICOM files (recursive, incremental, resumable)
  info --project <dir> [--json]              counts for an existing project
  demo --project <dir> [--count N] [--json]  generate the synthetic demo set and import it
  embed --project <dir> [--model builtin|<package dir>] [--provider auto|cpu|cuda|dml|coreml] [--batch N] [--json]
                                             embed every image not yet embedded with this model (resumable;
                                             default: the project's active model, which --model then becomes)
  labels --project <dir> [--json]            counts per label and status (by hand, accepted, imported, flagged,
                                             suggested), per label group, with the suggestion source in use
  export --project <dir> --out <dir> [--format csv,jsonl,sr] [--split 70,15,15] [--seed N] [--folds K]
         [--stratify <group>] [--groups a,b] [--status accepted,flagged] [--levels study,series,image]
         [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--deidentify] [--dicom-copies] [--sr-folder <dir>] [--json]
                                             write the curated labels (CSV/JSONL/SR) with a manifest and SHA256SUMS;
                                             --out must not exist (the export appears complete or not at all)
  map --project <dir> [--level image|series|study] [--refit] [--sample N] [--json]
                                             compute or refresh the embedding map (new items are placed without
                                             refitting unless --refit); resumes an interrupted one
  import-labels --project <dir> <file.csv|file.jsonl|sr-folder> [--overwrite] [--json]
                                             record labels from an export or SRs, with provenance "imported"
${STUDY_USAGE}
${SEARCH_USAGE}
${PACS_USAGE}
${STORE_USAGE}
  serve [--project <dir>] [--port N]         serve the workstation UI on 127.0.0.1 (default: the demo project)

A project is a folder holding lightbox.db; it is created on first import.`;

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

interface Args { _: string[]; flags: Map<string, string | true> }

function parseArgs(argv: string[]): Args {
  const args: Args = { _: [], flags: new Map() };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a.startsWith('--')) {
      const [k, v] = a.slice(2).split('=', 2) as [string, string | undefined];
      if (v !== undefined) args.flags.set(k, v);
      else if (['json', 'help', 'deidentify', 'dicom-copies', 'overwrite'].includes(k)) args.flags.set(k, true);
      else if (i + 1 < argv.length) args.flags.set(k, argv[++i]!);
      else throw new LightboxError('bad-request', `--${k} needs a value`);
    } else args._.push(a);
  }
  return args;
}

function flag(args: Args, name: string): string | undefined {
  const v = args.flags.get(name);
  return typeof v === 'string' ? v : undefined;
}

function requireProject(args: Args): string {
  const p = flag(args, 'project');
  if (!p) throw new LightboxError('bad-request', '--project <dir> is required');
  return path.resolve(p);
}

function intFlag(args: Args, name: string, fallback: number, min: number, max: number): number {
  const v = flag(args, name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new LightboxError('bad-request', `--${name} must be a whole number from ${min} to ${max}, not "${v}"`);
  return n;
}

/** Checks command-line options with the same schema the API uses for that call, so the two never disagree. */
function callInput<N extends CallName>(name: N, raw: Record<string, unknown>, flagOf: (field: string) => string = (f) => f): CallParsed<N> {
  const parsed = calls[name].input.safeParse(raw);
  if (parsed.success) return parsed.data as CallParsed<N>;
  throw new LightboxError('bad-request', parsed.error.issues.map((i) => {
    const field = String(i.path[0] ?? '');
    const given = field ? raw[field] : undefined;
    // An option from a fixed set says which values it accepts.
    const message = i.code === 'invalid_value' ? `must be one of ${i.values.map(String).join(', ')}, not "${String(given)}"` : i.message;
    return field ? `--${flagOf(field)} ${message}` : message;
  }).join('; '));
}

function progressPrinter(json: boolean): (p: JobProgress) => void {
  if (json || !process.stderr.isTTY) {
    let last = 0;
    return (p) => {
      if (json) return;
      const now = Date.now();
      if (now - last > 2000 || p.phase === 'done') { last = now; process.stderr.write(`${p.message}\n`); }
    };
  }
  return (p) => {
    const eta = p.etaSeconds === null ? '' : `, ETA ${Math.ceil(p.etaSeconds)} s`;
    const rate = p.ratePerSecond ? `, ${p.ratePerSecond.toFixed(0)} ${p.kind === 'embed' ? 'images' : 'files'}/s` : '';
    process.stderr.write(`\r\x1b[K${p.message}${rate}${eta}`);
    if (p.phase === 'done' || p.phase === 'cancelled' || p.phase === 'failed') process.stderr.write('\n');
  };
}

type Counts = Pick<ImportSummary, 'patients' | 'studies' | 'series' | 'instances' | 'imageInstances' | 'nonImageInstances' | 'rejected'>;

function printSummary(summary: Counts, json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(summary)}\n`);
    return;
  }
  const s = summary;
  console.log(`patients ${s.patients}, studies ${s.studies}, series ${s.series}, instances ${s.instances} (${s.imageInstances} images, ${s.nonImageInstances} non-image)`);
  if (summary.rejected.length) {
    console.log(`${summary.rejected.length} file(s) rejected:`);
    for (const r of summary.rejected.slice(0, 50)) console.log(`  ${r.path}: ${r.reason}`);
    if (summary.rejected.length > 50) console.log(`  … and ${summary.rejected.length - 50} more (use --json for all)`);
  }
}

/**
 * Runs a job through the same calls the workstation makes (`<kind>.start`, then the runner's result), printing its
 * progress; Ctrl-C cancels it through `<kind>.cancel`, and the job ends at its next safe point.
 */
async function followJob<K extends 'import' | 'embed' | 'export' | 'map'>(
  app: Lightbox, kind: K, json: boolean,
  start: () => Promise<{ jobId: number }>, cancel: (jobId: number) => Promise<unknown>,
): Promise<JobResults[K]> {
  const printer = progressPrinter(json);
  const off = app.on((name, payload) => { if (name === 'job.progress' && (payload as JobProgress).kind === kind) printer(payload as JobProgress); });
  let jobId = 0;
  let interrupted = false;
  const onSigint = (): void => {
    interrupted = true;
    if (jobId) void cancel(jobId);
  };
  process.once('SIGINT', onSigint);
  try {
    ({ jobId } = await start());
    if (interrupted) await cancel(jobId);
    return await app.jobs.finished(kind, jobId);
  } finally {
    process.off('SIGINT', onSigint);
    off();
  }
}

async function runImport(projectDir: string, folder: string, json: boolean): Promise<void> {
  const app = Lightbox.open(projectDir, { create: true });
  try {
    const summary = await followJob(app, 'import', json,
      () => app.invoke('import.start', { folder: path.resolve(folder) }), (jobId) => app.invoke('import.cancel', { jobId }));
    printSummary(summary, json);
  } finally {
    await app.close();
  }
}

async function runEmbed(args: Args, json: boolean): Promise<number> {
  // Without --model: the project's active model (lightbox models use, or the workstation's Models panel).
  const model = flag(args, 'model');
  const input = callInput('embed.start', {
    ...(model === undefined ? {} : { model: model === 'builtin' ? model : path.resolve(model) }),
    provider: flag(args, 'provider') ?? 'auto',
    batch: intFlag(args, 'batch', 32, 1, 1024),
  });
  const app = Lightbox.open(requireProject(args));
  try {
    const s = await followJob(app, 'embed', json, () => app.invoke('embed.start', input), (jobId) => app.invoke('embed.cancel', { jobId }));
    if (json) {
      process.stdout.write(`${JSON.stringify(s)}\n`);
    } else {
      console.log(`${s.model} ${s.modelVersion} (${s.modelSha256.slice(0, 12)}) on ${s.provider}${s.providerFallback ? ` — ${s.providerFallback}` : ''}`);
      console.log(`embedded ${s.embedded}, skipped ${s.skipped} (already embedded), failed ${s.failed.length}, ${s.seriesVectors} series vectors, ${s.imagesPerSecond.toFixed(1)} images/s`);
      for (const f of s.failed.slice(0, 50)) console.log(`  ${f.path}: ${f.reason}`);
      console.log(`vectors: ${s.store}`);
    }
    return s.cancelled ? 130 : 0;
  } finally {
    await app.close();
  }
}

async function runMap(args: Args, json: boolean): Promise<number> {
  const input = callInput('map.start', { level: flag(args, 'level') ?? 'image', refit: args.flags.get('refit') === true, sampleSize: intFlag(args, 'sample', 3000, 10, 20_000) });
  const app = Lightbox.open(requireProject(args));
  try {
    const s = await followJob(app, 'map', json, () => app.invoke('map.start', input), (jobId) => app.invoke('map.cancel', { jobId }));
    if (json) process.stdout.write(`${JSON.stringify(s)}\n`);
    else console.log(`map of ${s.items} ${s.level} items: ${s.cancelled ? 'cancelled' : s.fitted ? `fitted on ${s.sample}` : `placed on the saved fit${s.resumed ? ' (resumed)' : ''}`} in ${s.seconds.toFixed(1)} s`);
    return s.cancelled ? 130 : 0;
  } finally {
    await app.close();
  }
}

async function runDemo(dir: string, count: number | undefined, json: boolean): Promise<void> {
  if (!json) process.stderr.write(`Generating the synthetic demo set in ${dir} …\n`);
  const summary = await ensureDemoProject(dir, {
    count,
    onGenerate: (d, t) => { if (!json && process.stderr.isTTY) process.stderr.write(`\r\x1b[Kdemo images ${d}/${t}`); },
    onImport: progressPrinter(json),
  });
  printSummary(summary, json);
}

async function runLabels(args: Args, json: boolean): Promise<void> {
  const app = Lightbox.open(requireProject(args));
  try {
    // Counts of suggested labels need current suggestions: wait for one refresh.
    app.labels.requestRefresh('cli');
    await app.labels.whenIdle();
    const stats = await app.invoke('labels.stats', {});
    const status = await app.invoke('labels.status', {});
    const out = {
      project: app.store.dir,
      events: stats.events,
      flagged: stats.flagged,
      model: status.model,
      /** Why there are no suggestions, when there are none (no embeddings yet, no schema). */
      message: status.message,
      /** A blinded read: suggested counts, agreement and accuracies are left out (null). */
      blinded: stats.blinded,
      groups: stats.groups.map((g) => {
        const st = status.groups.find((x) => x.key === g.key);
        return {
          key: g.key, name: g.name, level: g.level, items: g.items, labelled: g.labelled, unlabelled: g.unlabelled,
          source: st?.source ?? null, accuracies: st?.accuracies ?? null,
          labels: g.labels.map(({ label, name, manual, accepted, imported, flagged, suggested, agreement }) => ({ label, name, manual, accepted, imported, flagged, suggested, agreement })),
        };
      }),
    };
    if (json) {
      process.stdout.write(`${JSON.stringify(out)}\n`);
      return;
    }
    if (out.groups.length === 0) console.log('No label schema yet: define one in the workstation (Label → Schema) or with labels.setSchema.');
    else if (out.message) console.log(out.message);
    for (const g of out.groups) {
      console.log(`${g.name} (${g.key}, ${g.level}): ${g.labelled} of ${g.items} labelled; suggestions: ${g.source ?? 'none'}`);
      console.log('  label              by hand  accepted  imported  flagged  suggested  agreement');
      for (const l of g.labels) {
        console.log(`  ${l.name.padEnd(18)} ${String(l.manual).padStart(7)} ${String(l.accepted).padStart(9)} ${String(l.imported).padStart(9)} ${String(l.flagged).padStart(8)} ${(l.suggested === null ? 'hidden' : String(l.suggested)).padStart(10)}  ${l.agreement === null ? '–' : `${Math.round(l.agreement * 100)} %`}`);
      }
    }
    console.log(`${out.events} label events; ${out.flagged} items flagged for a second opinion`);
  } finally {
    await app.close();
  }
}

const csvList = (v: string | undefined): string[] => (v ? v.split(',').map((x) => x.trim()).filter(Boolean) : []);

const EXPORT_FLAGS: Record<string, string> = { formats: 'format', statuses: 'status', labelledFrom: 'from', labelledTo: 'to', dicomCopies: 'dicom-copies', srFolder: 'sr-folder' };

function exportOptions(args: Args): CallParsed<'export.preview'> {
  return callInput('export.preview', {
    formats: csvList(flag(args, 'format') ?? 'csv,jsonl'),
    groups: csvList(flag(args, 'groups')),
    statuses: csvList(flag(args, 'status') ?? 'accepted'),
    levels: csvList(flag(args, 'levels')),
    labelledFrom: flag(args, 'from') ?? '',
    labelledTo: flag(args, 'to') ?? '',
    split: csvList(flag(args, 'split')).map(Number),
    seed: intFlag(args, 'seed', 1, 0, 2 ** 31 - 1),
    folds: intFlag(args, 'folds', 0, 0, 50),
    stratify: flag(args, 'stratify') ?? '',
    deidentify: args.flags.get('deidentify') === true,
    dicomCopies: args.flags.get('dicom-copies') === true,
    srFolder: flag(args, 'sr-folder') ? path.resolve(flag(args, 'sr-folder')!) : '',
  }, (f) => EXPORT_FLAGS[f] ?? f);
}

function printExport(s: ExportSummary): void {
  console.log(`${s.cancelled ? 'Cancelled; nothing written to' : 'Exported to'} ${s.out}: ${s.rows} rows, ${s.items} items, ${s.patients} patients, ${s.studies} studies (${s.seconds.toFixed(2)} s)`);
  for (const [g, labels] of Object.entries(s.balance)) console.log(`  ${g}: ${Object.entries(labels).map(([l, n]) => `${l} ${n}`).join(', ')}`);
  for (const p of s.splits) {
    const bal = Object.entries(p.balance).map(([g, labels]) => `${g}: ${Object.entries(labels).map(([l, n]) => `${l} ${n}`).join(', ')}`).join('; ');
    console.log(`  ${p.name.padEnd(5)} ${String(p.patients).padStart(6)} patients ${String(p.items).padStart(7)} items  ${bal}`);
  }
  for (const f of s.files.filter((x) => !x.path.startsWith('dicom/') && !x.path.startsWith('sr/'))) console.log(`  ${f.path}  ${f.bytes} bytes  sha256 ${f.sha256}`);
  const sr = s.files.filter((f) => f.path.startsWith('sr/')).length;
  const copies = s.files.filter((f) => f.path.startsWith('dicom/')).length;
  if (sr) console.log(`  sr/: ${sr} structured report(s)`);
  if (copies) console.log(`  dicom/: ${copies} de-identified image(s)`);
  if (s.srSent) console.log(s.srSent.error || `  sent ${s.srSent.files} SR(s) to ${s.srSent.folder}`);
  for (const w of s.warnings) console.log(`  warning: ${w}`);
  for (const f of s.failures.slice(0, 50)) console.log(`  not exported: ${f.item}: ${f.reason}`);
  if (!s.cancelled) console.log('Verify with: sha256sum -c SHA256SUMS (in the export folder)');
}

async function runExport(args: Args, json: boolean): Promise<number> {
  const out = flag(args, 'out');
  if (!out) throw new LightboxError('bad-request', '--out <dir> is required (a folder that does not exist yet)');
  const options = exportOptions(args);
  const app = Lightbox.open(requireProject(args));
  try {
    const s = await followJob(app, 'export', json,
      () => app.invoke('export.start', { out: path.resolve(out), options }), (jobId) => app.invoke('export.cancel', { jobId }));
    if (json) process.stdout.write(`${JSON.stringify(s)}\n`);
    else printExport(s);
    return s.cancelled ? 130 : 0;
  } finally {
    await app.close();
  }
}

async function runImportLabels(args: Args, target: string | undefined, json: boolean): Promise<number> {
  if (!target) throw new LightboxError('bad-request', 'import-labels needs a file or folder: lightbox import-labels --project <dir> <labels.csv|labels.jsonl|sr-folder>');
  const app = Lightbox.open(requireProject(args));
  try {
    const s = await app.invoke('labels.import', { path: path.resolve(target), overwrite: args.flags.get('overwrite') === true });
    if (json) process.stdout.write(`${JSON.stringify(s)}\n`);
    else {
      console.log(`${s.source}: ${s.rows} entries; imported ${s.imported}, unchanged ${s.unchanged}, conflicts ${s.conflicts} (kept; use --overwrite to replace), errors ${s.errors.length}${s.reidentified ? '; mapped back through this project\'s de-identification key' : ''}`);
      for (const e of s.errors.slice(0, 50)) console.log(`  ${e.where}: ${e.reason}`);
    }
    return s.errors.length && !s.imported && !s.unchanged ? 1 : 0;
  } finally {
    await app.close();
  }
}

async function serve(projectDir: string, port: number): Promise<void> {
  const app = Workstation.open(projectDir, { create: true });
  const staticDir = path.join(repoRoot, 'out', 'renderer');
  if (!fs.existsSync(path.join(staticDir, 'index.html'))) {
    process.stderr.write(`note: no renderer build in ${staticDir}; run "npm run build" for the UI (the API works without it)\n`);
  }
  const host = await startHttpHost(app, { port, staticDir });
  console.log(`Lightbox is serving ${app.app.store.dir}`);
  console.log(`Open in a Chromium-based browser: ${host.startUrl}`);
  console.log(`API token: ${host.token}`);
  const stop = async (): Promise<void> => {
    await host.close();
    await app.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

export async function main(argv: string[]): Promise<number> {
  let args: Args;
  try {
    args = parseArgs(argv);
  } catch (e) {
    console.error(`lightbox: ${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const [cmd, ...rest] = args._;
  const json = args.flags.get('json') === true;
  try {
    switch (cmd) {
      case 'import': {
        const folder = rest[0];
        if (!folder) throw new LightboxError('bad-request', 'import needs a folder: lightbox import <folder> --project <dir>');
        await runImport(requireProject(args), folder, json);
        return 0;
      }
      case 'info': {
        const app = Lightbox.open(requireProject(args));
        let out: Counts & { rejectedFiles: number };
        try {
          const { rejectedFiles, ...rest2 } = await app.invoke('project.info', {});
          out = { ...rest2, rejected: (await app.invoke('import.report', { limit: 10_000 })).files, rejectedFiles };
        } finally {
          await app.close();
        }
        if (app.store.readOnly) console.error(`lightbox info: ${app.store.dir} is read-only here; opened for viewing (labelling, imports and exports need write access)`);
        if (json) process.stdout.write(`${JSON.stringify(out)}\n`);
        else printSummary(out, false);
        return 0;
      }
      case 'demo': {
        await runDemo(requireProject(args), args.flags.has('count') ? intFlag(args, 'count', 240, 1, 100000) : undefined, json);
        return 0;
      }
      case 'embed': return await runEmbed(args, json);
      case 'map': return await runMap(args, json);
      case 'labels': await runLabels(args, json); return 0;
      case 'export': return await runExport(args, json);
      case 'study': case 'agreement': return await runReaderCommand(cmd, rest, args.flags, requireProject(args));
      case 'import-labels': return await runImportLabels(args, rest[0], json);
      case 'search': return await runSearch(rest, args.flags, requireProject(args));
      case 'pacs': return await runPacsCommand(rest[0], args.flags, rest.slice(1));
      case 'store': return await runStoreCommand(rest[0], args.flags, requireProject(args));
      case 'serve': {
        const dir = flag(args, 'project') ? path.resolve(flag(args, 'project')!) : defaultDemoProject();
        if (!flag(args, 'project') && !fs.existsSync(path.join(dir, 'lightbox.db'))) await runDemo(dir, undefined, false);
        await serve(dir, intFlag(args, 'port', 0, 0, 65535));
        return -1; // keeps running
      }
      case undefined:
      case 'help':
        console.log(USAGE);
        return cmd === undefined ? 2 : 0;
      default:
        console.error(`lightbox: unknown command "${cmd}"\n\n${USAGE}`);
        return 2;
    }
  } catch (e) {
    // Expected failures (a locked, read-only or full project, a bad path) print one line naming the thing and the fix;
    // anything else is a bug and keeps its stack.
    const known = explainStoreError(e, flag(args, 'project') ? path.resolve(flag(args, 'project')!) : defaultDemoProject());
    if (known) {
      console.error(`lightbox ${cmd}: ${known.message}`);
      return known.code === 'bad-request' ? 2 : 1;
    }
    throw e;
  }
}
