// The one job runner: every long task (import, embedding, export, and the next ones) runs through it. It claims the
// kind's lease (one writer per kind and project, across processes), keeps the jobs row, reports job.progress with a
// smoothed rate and ETA at a throttled pace, pauses and cancels, and hands the result to whoever awaits it.
import { setImmediate as nextTurn } from 'node:timers/promises';
import { LightboxError } from '../../shared/contract.ts';
import type { JobProgress } from '../../shared/contract.ts';
import type { JobRepository, LeaseHolder } from '../project/job-repo.ts';
import { JOB_KINDS } from './job-kinds.ts';
import type { JobKind, JobResults } from './job-kinds.ts';
import { ProgressMeter } from './progress-meter.ts';

export type JobPhase = JobProgress['phase'];
/** What a job reports; the runner adds its id, kind, rate and ETA. */
export interface JobUpdate { phase: JobPhase; done: number; total: number; message: string }

/** What a running job sees of the runner. */
export interface JobContext {
  readonly jobId: number;
  /** Aborted when the job is cancelled (or the runner stops): stop at the next safe point. */
  readonly signal: AbortSignal;
  /** True once pause was asked for: finish the work in flight, then call `pausePoint`. */
  readonly pauseRequested: boolean;
  /** Reports progress, at most once per interval unless forced; a new phase starts the rate over. */
  progress(update: JobUpdate, force?: boolean): void;
  /** While a pause is asked for: reports 'paused' with this message and waits for resume or cancel. */
  pausePoint(message: string): Promise<void>;
  /** Seconds of work so far in this phase, pauses excluded. */
  activeSeconds(): number;
}

export interface JobSpec<K extends JobKind> {
  kind: K;
  /** Stored with the row: what an interrupted job needs to be resumed. */
  params: object;
  /** Interrupted jobs of this kind that this one takes over (default: all of them). */
  resumes?: ((params: Record<string, unknown>) => boolean) | undefined;
  /** Whether pause() applies (the job calls pausePoint). */
  pausable?: boolean | undefined;
  progressIntervalMs?: number | undefined;
  /** Reported as the job starts, before start() returns: what status calls show until the work reports. */
  initial?: JobUpdate | undefined;
  run: (job: JobContext) => Promise<JobEnd<JobResults[K]>>;
}

/** How a job ended: its result, whether it was cancelled, and the message of the final progress event. */
export interface JobEnd<R> { result: R; cancelled: boolean; message: string }

interface Running {
  jobId: number;
  kind: JobKind;
  controller: AbortController;
  pausable: boolean;
  pauseRequested: boolean;
  wake: (() => void) | null;
  last: JobProgress | null;
  /** The latest update, reported or held back by the throttle. */
  latest: JobUpdate | null;
  startedAt: string;
  result: Promise<unknown>;
}

function busy(kind: JobKind, h: LeaseHolder): LightboxError {
  const where = h.pid === process.pid ? `in this process (job ${h.jobId}, started ${h.startedAt})` : `in process ${h.pid} (started ${h.startedAt})`;
  return new LightboxError('busy', `${JOB_KINDS[kind].noun} is already running ${where}; wait for it or cancel it`);
}

export class JobRunner {
  private readonly jobs: JobRepository;
  private readonly emit: (p: JobProgress) => void;
  private readonly running = new Map<number, Running>();
  /** Finished jobs' results, for a `finished()` that comes after the end (the CLI awaits right after starting). */
  private readonly settled = new Map<number, { kind: JobKind; result: Promise<unknown> }>();

  constructor(jobs: JobRepository, emit: (p: JobProgress) => void) {
    this.jobs = jobs;
    this.emit = emit;
  }

  /**
   * Starts a job: claims its kind's lease and row now (throwing 'busy' with the holder named when another job of
   * the kind runs, here or in another process), and begins the work on the next turn, so the caller answers with
   * the job id first.
   */
  start<K extends JobKind>(spec: JobSpec<K>): { jobId: number; done: Promise<JobResults[K]> } {
    this.ensureIdle(spec.kind);
    const claim = this.jobs.claim(spec.kind, spec.params);
    if ('holder' in claim) throw busy(spec.kind, claim.holder);
    const jobId = claim.jobId;
    this.jobs.supersedeInterrupted(spec.kind, spec.resumes);
    const run: Running = {
      jobId, kind: spec.kind, controller: new AbortController(), pausable: spec.pausable ?? false,
      pauseRequested: false, wake: null, last: null, latest: null, startedAt: new Date().toISOString(), result: Promise.resolve(),
    };
    this.running.set(jobId, run);
    const done = this.execute(spec, run);
    run.result = done;
    this.settled.set(jobId, { kind: spec.kind, result: done });
    // Failures reach the awaiting caller and the progress events; an unawaited job must not crash the host.
    done.catch(() => {});
    return { jobId, done };
  }

  /** Throws 'busy' when a job of this kind runs in this process (before a caller changes what that job uses). */
  ensureIdle(kind: JobKind): void {
    for (const r of this.running.values()) {
      if (r.kind === kind) throw busy(kind, { jobId: r.jobId, pid: process.pid, startedAt: r.startedAt });
    }
  }

  private async execute<K extends JobKind>(spec: JobSpec<K>, run: Running): Promise<JobResults[K]> {
    const interval = spec.progressIntervalMs ?? 250;
    const meter = new ProgressMeter();
    let lastEmit = -Infinity;
    let phase: JobPhase | null = null;
    const publish = (u: JobUpdate, rate: { ratePerSecond: number; etaSeconds: number | null }): void => {
      const p: JobProgress = { jobId: run.jobId, kind: run.kind, ...u, ...rate };
      run.last = p;
      this.emit(p);
    };
    const ctx: JobContext = {
      jobId: run.jobId,
      signal: run.controller.signal,
      get pauseRequested() { return run.pauseRequested; },
      progress: (u, force = false) => {
        run.latest = u;
        if (u.phase !== phase && u.phase !== 'paused') {
          if (phase !== null) meter.restart(u.done);
          phase = u.phase;
        }
        const now = performance.now();
        if (!force && now - lastEmit < interval) return;
        lastEmit = now;
        publish(u, meter.sample(u.done, u.total));
        this.jobs.update(run.jobId, u.done, u.total);
      },
      pausePoint: async (message) => {
        if (!run.pauseRequested || run.controller.signal.aborted) return;
        meter.pause();
        publish({ phase: 'paused', done: run.latest?.done ?? 0, total: run.latest?.total ?? 0, message }, { ratePerSecond: 0, etaSeconds: null });
        await new Promise<void>((resolve) => { run.wake = resolve; });
        run.wake = null;
        meter.resume();
      },
      activeSeconds: () => meter.activeSeconds(),
    };
    const title = JOB_KINDS[run.kind].title;
    // Before the first await: start() has not returned yet, so status calls see the job from its first moment.
    if (spec.initial) ctx.progress(spec.initial, true);
    try {
      await nextTurn();
      const { result, cancelled, message } = await spec.run(ctx);
      this.jobs.finish(run.jobId, cancelled ? 'cancelled' : 'done');
      const total = run.latest?.total ?? 0;
      this.jobs.update(run.jobId, cancelled ? run.latest?.done ?? 0 : total, total);
      publish({ phase: cancelled ? 'cancelled' : 'done', done: cancelled ? run.latest?.done ?? 0 : total, total, message }, { ratePerSecond: 0, etaSeconds: cancelled ? null : 0 });
      return result;
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      this.jobs.finish(run.jobId, 'failed', message);
      publish({ phase: 'failed', done: 0, total: 0, message: `${title} failed: ${message}` }, { ratePerSecond: 0, etaSeconds: null });
      throw e;
    } finally {
      this.running.delete(run.jobId);
    }
  }

  /** The result of a job started here: the summary when it ends (cancelled jobs too), its error when it fails. */
  finished<K extends JobKind>(kind: K, jobId: number): Promise<JobResults[K]> {
    const r = this.settled.get(jobId);
    if (r?.kind !== kind) throw new LightboxError('not-found', `job ${jobId}: no ${JOB_KINDS[kind].title.toLowerCase()} job of that id was started in this process`);
    // start() stored this promise from a spec of this kind, so it resolves with this kind's result.
    return r.result as Promise<JobResults[K]>;
  }

  /** The progress of the running job of a kind (null when none runs here). */
  current(kind: JobKind): JobProgress | null {
    for (const r of this.running.values()) if (r.kind === kind) return r.last;
    return null;
  }

  isPaused(kind: JobKind): boolean {
    for (const r of this.running.values()) if (r.kind === kind) return r.pauseRequested;
    return false;
  }

  /** The latest interrupted job of a kind (a crash or kill stopped it), unless one of that kind runs here now. */
  interrupted<P extends object>(kind: JobKind): { id: number; params: P } | null {
    return this.current(kind) ? null : this.jobs.interrupted<P>(kind);
  }

  pause(kind: JobKind, jobId: number): boolean {
    const run = this.find(kind, jobId);
    if (!run || !run.pausable || run.pauseRequested) return false;
    run.pauseRequested = true;
    return true;
  }

  resume(kind: JobKind, jobId: number): boolean {
    const run = this.find(kind, jobId);
    if (!run || !run.pauseRequested) return false;
    run.pauseRequested = false;
    run.wake?.();
    return true;
  }

  cancel(kind: JobKind, jobId: number): boolean {
    const run = this.find(kind, jobId);
    if (!run) return false;
    run.controller.abort();
    run.pauseRequested = false;
    run.wake?.();
    return true;
  }

  /** Cancels every running job and waits until each has stopped writing (before the store closes). */
  async stop(): Promise<void> {
    const all = [...this.running.values()];
    for (const r of all) this.cancel(r.kind, r.jobId);
    await Promise.all(all.map((r) => r.result.catch(() => {})));
  }

  private find(kind: JobKind, jobId: number): Running | undefined {
    const run = this.running.get(jobId);
    return run?.kind === kind ? run : undefined;
  }
}
