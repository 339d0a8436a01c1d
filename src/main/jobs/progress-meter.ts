// Rate and time left for a job: work per second of active time (pauses do not count), smoothed so one slow batch
// does not make the ETA jump. Until a few seconds of work are seen the plain average is the better estimate.

/** How quickly the smoothed rate follows a change: about this many seconds of work. */
const SMOOTHING_S = 5;

export class ProgressMeter {
  private activeMs = 0;
  private activeFrom: number | null;
  private sampleAt = 0;
  private sampleDone = 0;
  private smoothed = 0;
  /** The count when the current phase began: its rate counts from there. */
  private base = 0;
  private readonly now: () => number;

  constructor(now: () => number = () => performance.now()) {
    this.now = now;
    this.activeFrom = now();
  }

  /** Seconds of work so far (pauses excluded). */
  activeSeconds(): number {
    return (this.activeMs + (this.activeFrom === null ? 0 : this.now() - this.activeFrom)) / 1000;
  }

  pause(): void {
    if (this.activeFrom === null) return;
    this.activeMs += this.now() - this.activeFrom;
    this.activeFrom = null;
  }

  resume(): void {
    if (this.activeFrom === null) this.activeFrom = this.now();
  }

  /** A new phase counts different things (files found, then headers read): the rate starts over from `done`. */
  restart(done: number): void {
    this.activeMs = 0;
    this.activeFrom = this.activeFrom === null ? null : this.now();
    this.sampleAt = 0;
    this.sampleDone = 0;
    this.smoothed = 0;
    this.base = done;
  }

  /** Feeds the count done so far; returns items per second and seconds left (null while the rate is unknown). */
  sample(doneAll: number, total: number): { ratePerSecond: number; etaSeconds: number | null } {
    const t = this.activeSeconds();
    const done = doneAll - this.base;
    // total 0: counting how much there is (a folder walk), so there is no rate to promise.
    if (t <= 0 || done <= 0 || total <= 0) return { ratePerSecond: 0, etaSeconds: null };
    const dt = t - this.sampleAt;
    if (this.sampleAt < SMOOTHING_S || this.smoothed === 0) {
      this.smoothed = done / t;
    } else if (dt > 0) {
      // Exponential smoothing over time, not over calls: the weight of a sample grows with the time it covers.
      const w = 1 - Math.exp(-dt / SMOOTHING_S);
      this.smoothed += w * ((done - this.sampleDone) / dt - this.smoothed);
    }
    if (dt > 0) {
      this.sampleAt = t;
      this.sampleDone = done;
    }
    const rate = this.smoothed;
    return { ratePerSecond: rate, etaSeconds: rate > 0 && total >= doneAll ? (total - doneAll) / rate : null };
  }

  /** The plain average over the whole job (for summaries). */
  average(done: number): number {
    const t = this.activeSeconds();
    return t > 0 ? (done - this.base) / t : 0;
  }
}
