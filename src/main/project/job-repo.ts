// The jobs table: one row per job run, and the lease that makes each job kind single-writer per project.
//
// The lease is the job's own 'running' row, claimed in an IMMEDIATE transaction, rather than a lock file beside the
// database: SQLite's write lock already serialises the claim across processes (so "look for a holder, then insert"
// is atomic), the claim and the job row cannot disagree (no lock without a job, no second file to leave behind),
// the row is what crash recovery reads anyway (a holder that died is the same fact as an interrupted job), and the
// same claim works on a shared PostgreSQL store (SELECT … FOR UPDATE), where a lock file on one machine would not.
import fs from 'node:fs';
import type Database from 'better-sqlite3';

export type JobStatus = 'running' | 'done' | 'cancelled' | 'failed' | 'interrupted';

/** The process holding a lease: its pid and when it started (ms since the epoch), to tell it from a reused pid. */
export interface JobOwner { pid: number; processStartedMs: number }

export interface LeaseHolder { jobId: number; pid: number; startedAt: string }


/**
 * When a process started (ms since the epoch), where the system says (Linux /proc); null elsewhere. Boot time plus
 * the start tick of the process, at the usual 100 ticks per second.
 */
function processStartMs(pid: number): number | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count fields after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[19]);
    const btime = /^btime (\d+)$/m.exec(fs.readFileSync('/proc/stat', 'utf8'));
    return btime && Number.isFinite(ticks) ? Number(btime[1]) * 1000 + ticks * 10 : null;
  } catch {
    return null;
  }
}

/**
 * This process, as a lease owner. Its start time is read the way a later check reads it (from /proc where there is
 * one), so the two agree exactly; the wall clock may have been stepped since boot.
 */
export const thisProcess: JobOwner = { pid: process.pid, processStartedMs: processStartMs(process.pid) ?? Math.round(Date.now() - process.uptime() * 1000) };

/** Whether the process that claimed a lease is still running (and is that process, not a later one with its pid). */
export function ownerAlive(owner: JobOwner): boolean {
  if (owner.pid <= 0) return false; // rows from before leases were recorded: their process is long gone
  if (owner.pid === thisProcess.pid) return owner.processStartedMs === thisProcess.processStartedMs || owner.processStartedMs === 0;
  try {
    process.kill(owner.pid, 0);
  } catch (e) {
    // EPERM: the process exists but belongs to someone else; it still holds the project.
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const started = processStartMs(owner.pid);
  // Some kernels report btime a second off between reads; a reused pid started long after the holder did.
  return started === null || owner.processStartedMs === 0 || Math.abs(started - owner.processStartedMs) < 2000;
}

interface RunningRow { id: number; kind: string; pid: number; process_started_ms: number; started_at: string }

export class JobRepository {
  private readonly db: Database.Database;

  constructor(db: Database.Database) {
    this.db = db;
  }

  /**
   * Claims the lease on `kind` and records a running job for it, or names the live job holding it. Running rows
   * whose process is gone (a crash, kill -9) are marked interrupted on the way, so a dead holder never blocks.
   */
  claim(kind: string, params: object, owner: JobOwner = thisProcess): { jobId: number } | { holder: LeaseHolder } {
    const tx = this.db.transaction((): { jobId: number } | { holder: LeaseHolder } => {
      const rows = this.db.prepare("SELECT id, kind, pid, process_started_ms, started_at FROM jobs WHERE kind = ? AND status = 'running'").all(kind) as RunningRow[];
      for (const r of rows) {
        if (ownerAlive({ pid: r.pid, processStartedMs: r.process_started_ms })) return { holder: { jobId: r.id, pid: r.pid, startedAt: r.started_at } };
        this.db.prepare("UPDATE jobs SET status = 'interrupted' WHERE id = ?").run(r.id);
      }
      const ins = this.db
        .prepare("INSERT INTO jobs(kind, params, status, started_at, pid, process_started_ms) VALUES (?, ?, 'running', ?, ?, ?)")
        .run(kind, JSON.stringify(params), new Date().toISOString(), owner.pid, owner.processStartedMs);
      return { jobId: Number(ins.lastInsertRowid) };
    });
    // IMMEDIATE takes the write lock first (waiting out busy_timeout), so two processes cannot both see no holder.
    return tx.immediate();
  }

  /**
   * Running jobs whose process is gone are recorded as interrupted (so they can be resumed). One transaction with
   * the write lock, as a claim takes it: a job claimed meanwhile is never mistaken for an abandoned one, and a
   * project another program holds locked says so when it is opened.
   */
  markAbandoned(): void {
    this.db.transaction(() => {
      const rows = this.db.prepare("SELECT id, kind, pid, process_started_ms, started_at FROM jobs WHERE status = 'running'").all() as RunningRow[];
      const mark = this.db.prepare("UPDATE jobs SET status = 'interrupted' WHERE id = ?");
      for (const r of rows) if (!ownerAlive({ pid: r.pid, processStartedMs: r.process_started_ms })) mark.run(r.id);
    }).immediate();
  }

  update(id: number, done: number, total: number): void {
    this.db.prepare('UPDATE jobs SET done = ?, total = ? WHERE id = ?').run(done, total, id);
  }

  finish(id: number, status: 'done' | 'cancelled' | 'failed', error = ''): void {
    this.db.prepare('UPDATE jobs SET status = ?, finished_at = ?, error = ? WHERE id = ?').run(status, new Date().toISOString(), error, id);
  }

  /** The latest job of this kind that a crash or kill left unfinished, with its parameters. */
  interrupted<P extends object>(kind: string): { id: number; params: P } | null {
    const row = this.db
      .prepare("SELECT id, params FROM jobs WHERE kind = ? AND status = 'interrupted' ORDER BY id DESC LIMIT 1")
      .get(kind) as { id: number; params: string } | undefined;
    return row ? { id: row.id, params: JSON.parse(row.params) as P } : null;
  }

  /** Interrupted jobs of this kind (those whose parameters match, if given) are superseded by a new run. */
  supersedeInterrupted(kind: string, matches: (params: Record<string, unknown>) => boolean = () => true): void {
    const rows = this.db.prepare("SELECT id, params FROM jobs WHERE kind = ? AND status = 'interrupted'").all(kind) as { id: number; params: string }[];
    for (const r of rows) {
      if (matches(JSON.parse(r.params) as Record<string, unknown>)) this.finish(r.id, 'cancelled', 'resumed by a later job');
    }
  }
}
