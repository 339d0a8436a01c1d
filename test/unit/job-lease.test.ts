// One writer per job kind and project, across processes: two `lightbox embed` (or `import`) runs at once on one
// project must end with one success, one clear "already running" refusal, and a store exactly as one run writes it.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateDemoData, generateDemoProjectData } from '../../src/main/demo/demo-data.ts';
import { ensureBuiltinModel } from '../../src/main/inference/builtin-model.ts';
import { EmbeddingStore } from '../../src/main/inference/embedding-store.ts';
import { tempDir } from '../helpers.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const HOME = tempDir('lightbox-home-');
const env = { ...process.env, LIGHTBOX_HOME: HOME };
const cli = (...args: string[]): string =>
  execFileSync(process.execPath, [path.join(ROOT, 'bin/lightbox.mjs'), ...args], { encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'pipe'] });

interface Run { code: number | null; stdout: string; stderr: string }
function start(...args: string[]): { pid: number; exited: Promise<Run> } {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin/lightbox.mjs'), ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  return { pid: child.pid!, exited: new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr }))) };
}

/** Waits until the project's database shows a running job of this kind (the first run holds the lease). */
async function runningJob(project: string, kind: string): Promise<void> {
  for (;;) {
    try {
      const db = new Database(path.join(project, 'lightbox.db'), { readonly: true, fileMustExist: true });
      try {
        if ((db.prepare('SELECT count(*) FROM jobs WHERE kind = ? AND status = ?').pluck().get(kind, 'running') as number) > 0) return;
      } finally {
        db.close();
      }
    } catch { /* not created or migrated yet */ }
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * Stops a process (SIGSTOP) at a moment it holds no write transaction, so it stays the live lease holder for as long
 * as the test needs without blocking the database: another process's commits would otherwise wait on it.
 */
async function freeze(pid: number, project: string): Promise<() => void> {
  for (;;) {
    process.kill(pid, 'SIGSTOP');
    const db = new Database(path.join(project, 'lightbox.db'), { timeout: 0 });
    try {
      db.exec('BEGIN IMMEDIATE');
      db.exec('ROLLBACK');
      return () => process.kill(pid, 'SIGCONT');
    } catch {
      process.kill(pid, 'SIGCONT'); // caught inside a commit: let it finish and try again
      await new Promise((r) => setTimeout(r, 5));
    } finally {
      db.close();
    }
  }
}

/** Runs `args` twice on one project at once: the second starts while the first holds the lease. */
async function twoAtOnce(project: string, kind: string, args: string[]): Promise<{ first: Run; second: Run }> {
  const first = start(...args);
  await runningJob(project, kind);
  const thaw = await freeze(first.pid, project);
  let second: Run;
  try {
    second = await start(...args).exited;
  } finally {
    thaw();
  }
  return { first: await first.exited, second };
}

/** Each image row's vector, by SOP Instance UID, as the project's database and store say. */
function vectorsBySop(project: string): Map<string, number[]> {
  const db = new Database(path.join(project, 'lightbox.db'), { readonly: true });
  const rows = db.prepare("SELECT i.sop_uid AS uid, e.row AS row, m.store_dir AS dir, m.dim AS dim FROM embeddings e JOIN instances i ON i.id = e.item_pk JOIN embedding_models m ON m.id = e.model_pk WHERE e.level = 'image'").all() as { uid: string; row: number; dir: string; dim: number }[];
  db.close();
  const out = new Map<string, number[]>();
  if (!rows.length) return out;
  const store = EmbeddingStore.open(rows[0]!.dir, rows[0]!.dim);
  const all = store.loadAll();
  const dim = rows[0]!.dim;
  // rows.csv must name the image each vector belongs to, too.
  const csv = fs.readFileSync(path.join(rows[0]!.dir, 'rows.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(','));
  for (const r of rows) {
    expect(csv[r.row]?.[2], `rows.csv line for row ${r.row}`).toBe(r.uid);
    out.set(r.uid, Array.from(all.subarray(r.row * dim, (r.row + 1) * dim)));
  }
  expect(csv.length).toBe(store.count);
  return out;
}

beforeAll(async () => {
  await ensureBuiltinModel(HOME);
}, 60_000);

describe('one writer per job kind across processes', () => {
  it('two embed runs at once: one succeeds, the other is refused by name, and the store matches a single run', async () => {
    const project = tempDir();
    const { dataDir } = generateDemoProjectData(project, { count: 160, ctSeries: 0 });
    cli('import', dataDir, '--project', project, '--json');
    // The same index in a second project, embedded by one process alone: the reference.
    const reference = tempDir();
    fs.copyFileSync(path.join(project, 'lightbox.db'), path.join(reference, 'lightbox.db'));
    cli('embed', '--project', reference, '--provider', 'cpu', '--batch', '8', '--json');

    const { first, second } = await twoAtOnce(project, 'embed', ['embed', '--project', project, '--provider', 'cpu', '--batch', '8', '--json']);
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(/embedding is already running in process \d+ \(started .+\); wait for it or cancel it/);
    expect(second.stdout).toBe('');
    expect(first.code).toBe(0);
    expect((JSON.parse(first.stdout) as { embedded: number }).embedded).toBe(160);

    const got = vectorsBySop(project);
    const want = vectorsBySop(reference);
    expect(got.size).toBe(160);
    // The refused run appended nothing: one vector per image, as in the single run.
    expect(fs.readFileSync(path.join(project, 'embeddings', fs.readdirSync(path.join(project, 'embeddings'))[0]!, 'rows.csv'), 'utf8').trim().split('\n')).toHaveLength(161);
    for (const [uid, v] of want) {
      const g = got.get(uid);
      expect(g, uid).toBeDefined();
      let diff = 0;
      for (let d = 0; d < v.length; d++) diff = Math.max(diff, Math.abs(v[d]! - g![d]!));
      expect(diff, uid).toBeLessThan(1e-4);
    }
  }, 180_000);

  it('two imports at once: one indexes everything, the other is refused by name, not "database is locked"', async () => {
    const src = tempDir();
    generateDemoData(src, { count: 300, ctSeries: 0 });
    const project = tempDir();
    const { first, second } = await twoAtOnce(project, 'import', ['import', src, '--project', project, '--json']);
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(/an import is already running in process \d+ \(started .+\); wait for it or cancel it/);
    expect(second.stderr).not.toMatch(/database is locked/);
    expect(first.code).toBe(0);
    expect((JSON.parse(first.stdout) as { instances: number }).instances).toBe(300);
    const db = new Database(path.join(project, 'lightbox.db'), { readonly: true });
    expect(db.prepare('SELECT count(*) FROM instances').pluck().get()).toBe(300);
    expect(db.prepare("SELECT count(*) FROM jobs WHERE status = 'running'").pluck().get()).toBe(0);
    db.close();
  }, 120_000);
});
