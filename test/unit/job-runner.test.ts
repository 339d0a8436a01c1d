// The job runner in one process: the lease and its stale-holder rules, progress (throttle, rate, ETA), pause,
// cancel, failure, and awaiting a result.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { JobRunner, ProgressMeter } from '../../src/main/jobs/index.ts';
import type { JobContext } from '../../src/main/jobs/index.ts';
import { ProjectStore } from '../../src/main/project/project-store.ts';
import type { ImportSummary, JobProgress } from '../../src/shared/contract.ts';
import { tempDir } from '../helpers.ts';

const summary = (cancelled = false): ImportSummary => ({
  patients: 0, studies: 0, series: 0, instances: 0, imageInstances: 0, nonImageInstances: 0, rejected: [],
  scannedFiles: 0, newFiles: 0, unchangedFiles: 0, nonDicomFiles: 0, cancelled,
});

function setup(): { store: ProjectStore; runner: JobRunner; events: JobProgress[] } {
  const store = ProjectStore.open(tempDir(), { create: true });
  const events: JobProgress[] = [];
  return { store, runner: new JobRunner(store.jobs, (p) => events.push(p)), events };
}

/** A child process that stays alive until killed, and its pid. */
async function liveProcess(): Promise<{ pid: number; kill: () => Promise<void> }> {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  await new Promise((r) => child.once('spawn', r));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return { pid: child.pid!, kill: () => { child.kill('SIGKILL'); return exited; } };
}

const runningRow = (store: ProjectStore, kind: string, pid: number, processStartedMs: number): number =>
  Number(store.db.prepare("INSERT INTO jobs(kind, params, status, started_at, pid, process_started_ms) VALUES (?, '{}', 'running', ?, ?, ?)")
    .run(kind, new Date().toISOString(), pid, processStartedMs).lastInsertRowid);
const statusOf = (store: ProjectStore, id: number): string => store.db.prepare('SELECT status FROM jobs WHERE id = ?').pluck().get(id) as string;

/** A job of any kind that fails (its result type never matters). */
const fail = (): Promise<never> => Promise.reject(new Error('not meant to run'));

/** A job that reports `n` steps and waits for `gate` between them when given one. */
function steps(n: number, gate?: () => Promise<void>) {
  return async (job: JobContext) => {
    for (let i = 1; i <= n && !job.signal.aborted; i++) {
      await gate?.();
      await job.pausePoint(`paused at ${i - 1}`);
      job.progress({ phase: 'reading', done: i, total: n, message: `step ${i}` }, i === n);
    }
    return { result: summary(job.signal.aborted), cancelled: job.signal.aborted, message: job.signal.aborted ? 'stopped' : 'all done' };
  };
}

describe('the lease on a job kind', () => {
  it('a live holder in another process refuses a second job by name, and nothing is written', async () => {
    const { store, runner } = setup();
    const holder = await liveProcess();
    try {
      // A start time of 0 (unknown) trusts the pid alone.
      const held = runningRow(store, 'embed', holder.pid, 0);
      const before = store.db.prepare('SELECT count(*) FROM jobs').pluck().get();
      expect(() => runner.start({ kind: 'embed', params: {}, run: fail }))
        .toThrow(new RegExp(`embedding is already running in process ${holder.pid} \\(started .+\\); wait for it or cancel it`));
      expect(store.db.prepare('SELECT count(*) FROM jobs').pluck().get()).toBe(before);
      expect(statusOf(store, held)).toBe('running');
      // Once the holder is killed, the next job takes over and the old one is recorded as interrupted.
      await holder.kill();
      await runner.start({ kind: 'embed', params: {}, run: fail }).done.catch(() => {});
      expect(statusOf(store, held)).toBe('cancelled'); // interrupted, then superseded by the new run
    } finally {
      await holder.kill();
      store.close();
    }
  });

  it.skipIf(!fs.existsSync('/proc/self/stat'))('a holder whose pid now belongs to a later process (pid reuse) does not block', async () => {
    const { store, runner } = setup();
    const other = await liveProcess();
    try {
      const held = runningRow(store, 'import', other.pid, 1); // started in 1970: not this process
      await runner.start({ kind: 'import', params: {}, run: steps(1) }).done;
      expect(statusOf(store, held)).toBe('cancelled');
    } finally {
      await other.kill();
      store.close();
    }
  });

  it('opening a project marks only jobs whose process is gone as interrupted', async () => {
    const dir = tempDir();
    const first = ProjectStore.open(dir, { create: true });
    const alive = await liveProcess();
    const live = runningRow(first, 'embed', alive.pid, 0);
    const dead = runningRow(first, 'import', 2 ** 22 + 12345, 0); // above any pid_max: no such process
    first.close();
    const again = ProjectStore.open(dir);
    try {
      expect(statusOf(again, live)).toBe('running');
      expect(statusOf(again, dead)).toBe('interrupted');
      expect(again.info().interruptedImport?.jobId).toBe(dead);
    } finally {
      await alive.kill();
      again.close();
    }
  });

  it('a second job of a kind in the same process is refused; another kind runs alongside', async () => {
    const { store, runner } = setup();
    let open!: () => void;
    const gate = new Promise<void>((r) => { open = r; });
    const a = runner.start({ kind: 'import', params: {}, run: steps(2, () => gate) });
    expect(() => runner.start({ kind: 'import', params: {}, run: steps(1) })).toThrow(/an import is already running in this process \(job \d+, started .+\); wait for it or cancel it/);
    const b = runner.start({ kind: 'export', params: {}, run: fail });
    await b.done.catch(() => {});
    open();
    expect((await a.done).cancelled).toBe(false);
    await runner.stop();
    store.close();
  });
});

describe('running a job', () => {
  it('reports throttled progress, the final word, and the result through finished()', async () => {
    const { store, runner, events } = setup();
    const { jobId } = runner.start({ kind: 'import', params: { root: '/x' }, progressIntervalMs: 60_000, run: steps(50) });
    expect(runner.current('import')).toBeNull(); // nothing reported yet: the work starts on the next turn
    const s = await runner.finished('import', jobId);
    expect(s.cancelled).toBe(false);
    // The first update, the forced last one, and the final event: the 47 in between were held back.
    expect(events.map((e) => e.message)).toEqual(['step 1', 'step 50', 'all done']);
    expect(events.at(-1)).toMatchObject({ jobId, kind: 'import', phase: 'done', done: 50, total: 50, etaSeconds: 0 });
    expect(store.db.prepare('SELECT status, done, total FROM jobs WHERE id = ?').get(jobId)).toEqual({ status: 'done', done: 50, total: 50 });
    expect(runner.current('import')).toBeNull();
    expect(() => runner.finished('embed', jobId)).toThrow(/no embedding job of that id/);
    store.close();
  });

  it('pauses at the job\'s next safe point, resumes, and cancels through the signal', async () => {
    const { store, runner, events } = setup();
    let release!: () => void;
    let step = Promise.resolve();
    const gate = (): Promise<void> => step;
    step = new Promise((r) => { release = r; });
    const { jobId, done } = runner.start({ kind: 'import', params: {}, pausable: true, progressIntervalMs: 0, run: steps(5, gate) });
    expect(runner.pause('embed', jobId)).toBe(false); // not an embedding job
    expect(runner.pause('import', jobId)).toBe(true);
    expect(runner.pause('import', jobId)).toBe(false); // already paused
    release();
    await expect.poll(() => events.some((e) => e.phase === 'paused')).toBe(true);
    expect(events.at(-1)).toMatchObject({ phase: 'paused', message: 'paused at 0' });
    expect(runner.isPaused('import')).toBe(true);
    expect(runner.resume('import', jobId)).toBe(true);
    expect(runner.cancel('import', jobId)).toBe(true);
    expect((await done).cancelled).toBe(true);
    expect(events.at(-1)).toMatchObject({ phase: 'cancelled', message: 'stopped' });
    expect(statusOf(store, jobId)).toBe('cancelled');
    expect(runner.cancel('import', jobId)).toBe(false);
    store.close();
  });

  it('a failing job is recorded failed, reported with its kind, and rejects', async () => {
    const { store, runner, events } = setup();
    const { jobId, done } = runner.start({ kind: 'export', params: {}, run: () => Promise.reject(new Error('disk full')) });
    await expect(done).rejects.toThrow('disk full');
    expect(events.at(-1)).toMatchObject({ phase: 'failed', message: 'Export failed: disk full' });
    expect(store.db.prepare('SELECT status, error FROM jobs WHERE id = ?').get(jobId)).toEqual({ status: 'failed', error: 'disk full' });
    store.close();
  });
});

describe('rate and time left', () => {
  it('counts active time only, and smooths a change of pace', () => {
    let t = 0;
    const m = new ProgressMeter(() => t);
    t = 1000;
    expect(m.sample(10, 100)).toEqual({ ratePerSecond: 10, etaSeconds: 9 });
    m.pause();
    t = 60_000; // a minute paused does not slow the rate
    m.resume();
    t = 61_000;
    expect(m.sample(20, 100).ratePerSecond).toBeCloseTo(10);
    // Steady at 10/s for a while, then one second at 100/s: the estimate moves towards 100, not all the way.
    for (let s = 3; s <= 10; s++) { t = 59_000 + s * 1000; m.sample(s * 10, 1000); }
    t += 1000;
    const r = m.sample(200, 1000).ratePerSecond;
    expect(r).toBeGreaterThan(10);
    expect(r).toBeLessThan(100);
    // Counting how much there is (no total yet) promises nothing.
    expect(new ProgressMeter(() => t).sample(5, 0)).toEqual({ ratePerSecond: 0, etaSeconds: null });
  });
});
