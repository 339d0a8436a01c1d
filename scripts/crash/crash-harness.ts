// The crash harness: SIGKILL the workstation at seeded random moments while it labels (through the HTTP API, as
// the UI does), imports and embeds (through the CLI), then check what must survive a crash:
//  - every label the API acknowledged is in label_state, with its event in the log;
//  - PRAGMA integrity_check is ok;
//  - the derived label state equals a replay of the log;
//  - the project reopens and an interrupted job finishes on the next run with the same counts as an uninterrupted one.
// Used by `npm run test:crash` (long, ≥ 100 cycles) and a small run in the unit tests.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { mulberry32 } from '../../src/shared/random.ts';
import { Lightbox } from '../../src/main/app.ts';
import { generateDemoData } from '../../src/main/demo/demo-data.ts';
import { ensureDemoProject } from '../../src/main/demo/demo-project.ts';
import { exited, serve } from '../../test/support/serve.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
export type CycleKind = 'label' | 'import' | 'embed';

export interface CrashOptions {
  cycles: number;
  seed: number;
  /** Images in the demo set labelled, and in the second folder that import cycles index. */
  demoImages?: number;
  importImages?: number;
  workDir?: string;
  log?: (s: string) => void;
}

export interface CrashReport {
  cycles: number;
  byKind: Record<CycleKind, number>;
  acknowledgedLabels: number;
  lostLabels: number;
  integrityFailures: number;
  replayMismatches: number;
  reopenFailures: number;
  finalMismatches: number;
  seconds: number;
  problems: string[];
}

type Ack = { level: string; itemId: number; labels: string[] };

function cli(args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  return spawn(process.execPath, [path.join(ROOT, 'bin/lightbox.mjs'), ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
}

function run(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = cli(args, env);
    let stdout = ''; let stderr = '';
    c.stdout!.on('data', (d: Buffer) => { stdout += d.toString(); });
    c.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
    c.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Starts a CLI job and SIGKILLs it after `ms` (or when it ends by itself). */
async function killAfter(args: string[], env: NodeJS.ProcessEnv, ms: number): Promise<void> {
  const c = cli(args, env);
  c.stdout!.resume(); c.stderr!.resume();
  const t = setTimeout(() => c.kill('SIGKILL'), ms);
  await exited(c);
  clearTimeout(t);
}

export async function runCrashCycles(o: CrashOptions): Promise<CrashReport> {
  const log = o.log ?? (() => {});
  const t0 = performance.now();
  const rng = mulberry32(o.seed);
  const work = o.workDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'lightbox-crash-'));
  const project = path.join(work, 'project');
  const env = { ...process.env, LIGHTBOX_HOME: path.join(work, 'home') };
  await ensureDemoProject(project, { count: o.demoImages ?? 40 });
  const second = path.join(work, 'second-folder');
  generateDemoData(second, { count: o.importImages ?? 300, ctSeries: 2, seed: o.seed + 1 });

  const app0 = Lightbox.open(project);
  const studies = (app0.store.db.prepare('SELECT id FROM studies ORDER BY id').pluck().all() as number[]).slice(0, 200);
  await app0.close();

  const problems: string[] = [];
  const report: CrashReport = {
    cycles: 0, byKind: { label: 0, import: 0, embed: 0 }, acknowledgedLabels: 0, lostLabels: 0,
    integrityFailures: 0, replayMismatches: 0, reopenFailures: 0, finalMismatches: 0, seconds: 0, problems,
  };
  /** The last acknowledged value per item; the item of a request in flight at the kill may hold either value. */
  const acked = new Map<number, string[]>();
  const uncertain = new Map<number, string[][]>();
  const choices = ['normal', 'cardiomegaly', 'effusion', 'nodule'];

  const labelCycle = async (): Promise<void> => {
    const host = await serve(project, env);
    const child = host.child;
    const post = (name: string, body: unknown): Promise<{ ok: boolean; result?: { item: { itemId: number; groups: { key: string; labels?: string[] | null }[] } } }> => host.call(name, body);
    const killAt = 1 + Math.floor(rng() * 30);
    const killDuring = rng() < 0.7;
    for (let n = 1; ; n++) {
      const id = studies[Math.floor(rng() * studies.length)]!;
      const label = choices[Math.floor(rng() * choices.length)]!;
      const req = post('labels.set', { level: 'study', itemId: id, group: 'finding', labels: [label] });
      if (n === killAt) {
        if (killDuring) {
          child.kill('SIGKILL');
          uncertain.set(id, [...(uncertain.get(id) ?? []), [label]]);
          await req.catch(() => {});
        } else {
          const r = await req;
          if (r.ok) acked.set(id, finding(r.result!.item));
          report.acknowledgedLabels++;
          setTimeout(() => child.kill('SIGKILL'), Math.floor(rng() * 20));
        }
        break;
      }
      const r = await req;
      if (!r.ok) { problems.push(`labels.set answered ${JSON.stringify(r)}`); break; }
      acked.set(id, finding(r.result!.item));
      uncertain.delete(id);
      report.acknowledgedLabels++;
    }
    await exited(child);
  };

  const check = async (cycle: number, kind: CycleKind): Promise<void> => {
    const db = new Database(path.join(project, 'lightbox.db'), { readonly: true });
    try {
      const ok = db.pragma('integrity_check', { simple: true });
      if (ok !== 'ok') { report.integrityFailures++; problems.push(`cycle ${cycle} (${kind}): integrity_check says ${String(ok)}`); }
      const uid = db.prepare('SELECT study_uid FROM studies WHERE id = ?').pluck();
      const state = db.prepare("SELECT labels FROM label_state WHERE level = 'study' AND item_uid = ? AND group_key = 'finding'").pluck();
      for (const [id, labels] of acked) {
        const row = state.get(uid.get(id)) as string | undefined;
        const now = row === undefined ? null : JSON.stringify(JSON.parse(row));
        const allowed = [labels, ...(uncertain.get(id) ?? [])].map((l) => JSON.stringify(l));
        if (now === null || !allowed.includes(now)) {
          report.lostLabels++;
          problems.push(`cycle ${cycle} (${kind}): study ${id} was acknowledged as ${JSON.stringify(labels)} but holds ${now}`);
        }
      }
    } finally {
      db.close();
    }
    try {
      const app = Lightbox.open(project);
      try {
        const derived = app.labels.repo.derivedState();
        const replayed = app.labels.repo.replay();
        if (JSON.stringify([...derived].sort()) !== JSON.stringify([...replayed].sort())) {
          report.replayMismatches++;
          problems.push(`cycle ${cycle} (${kind}): label_state differs from a replay of label_events`);
        }
        await app.call('embed.status', {});
      } finally {
        await app.close();
      }
    } catch (e) {
      report.reopenFailures++;
      problems.push(`cycle ${cycle} (${kind}): the project does not reopen: ${e instanceof Error ? e.message : String(e)}`);
    }
  };

  const kinds: CycleKind[] = ['label', 'import', 'embed'];
  for (let cycle = 1; cycle <= o.cycles; cycle++) {
    const kind = kinds[(cycle - 1) % 3]!;
    if (kind === 'label') await labelCycle();
    else if (kind === 'import') await killAfter(['import', second, '--project', project, '--json'], env, 300 + Math.floor(rng() * 2500));
    else await killAfter(['embed', '--project', project, '--json'], env, 800 + Math.floor(rng() * 4000));
    report.byKind[kind]++;
    report.cycles = cycle;
    await check(cycle, kind);
    log(`crash: cycle ${cycle} ${kind}: ${problems.length} problem(s) so far`);
  }

  // Finally the interrupted jobs complete, and the index matches a clean import of the same folders.
  const imp = await run(['import', second, '--project', project, '--json'], env);
  const emb = await run(['embed', '--project', project, '--json'], env);
  if (imp.code !== 0 || emb.code !== 0) { report.finalMismatches++; problems.push(`final runs exited ${imp.code}/${emb.code}: ${imp.stderr.slice(-500)} ${emb.stderr.slice(-500)}`); }
  const clean = path.join(work, 'clean');
  await ensureDemoProject(clean, { count: o.demoImages ?? 40 });
  const cleanImp = await run(['import', second, '--project', clean, '--json'], env);
  const counts = (dir: string): string => {
    const db = new Database(path.join(dir, 'lightbox.db'), { readonly: true });
    try {
      return JSON.stringify(['patients', 'studies', 'series', 'instances'].map((t) => db.prepare(`SELECT count(*) FROM ${t}`).pluck().get()));
    } finally { db.close(); }
  };
  if (cleanImp.code !== 0 || counts(clean) !== counts(project)) { report.finalMismatches++; problems.push(`after the crashes the index holds ${counts(project)}, a clean import ${counts(clean)}`); }
  if (emb.code === 0) {
    const s = JSON.parse(emb.stdout.trim().split('\n').pop()!) as { embedded: number; skipped: number; failed: unknown[] };
    const db = new Database(path.join(project, 'lightbox.db'), { readonly: true });
    const images = db.prepare('SELECT count(*) FROM instances WHERE is_image = 1').pluck().get() as number;
    db.close();
    if (s.embedded + s.skipped + s.failed.length !== images) { report.finalMismatches++; problems.push(`final embed: ${images} images, ${s.embedded} embedded + ${s.skipped} skipped + ${s.failed.length} failed`); }
  }
  report.seconds = (performance.now() - t0) / 1000;
  return report;
}

function finding(item: { groups: { key: string; labels?: string[] | null }[] }): string[] {
  return item.groups.find((g) => g.key === 'finding')?.labels ?? [];
}
