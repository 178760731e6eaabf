// Coalesces sync requests, as kube-proxy's BoundedFrequencyRunner does: runs at most once
// per `minIntervalMs`, at least once per `maxIntervalMs` (a periodic full resync), and
// again after `retryIntervalMs` when a run fails. The clock is injectable for tests.

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface RunnerOptions {
  minIntervalMs: number;
  maxIntervalMs: number;
  retryIntervalMs: number;
  clock?: Clock;
}

/** `full` is true for the periodic resync and for retries after a failure. */
export type SyncFn = (full: boolean) => Promise<void>;

export class BoundedFrequencyRunner {
  private readonly clock: Clock;
  private lastRun = -Infinity;
  private timer: unknown;
  private timerAt = Infinity;
  private running = false;
  private pending = false;
  private pendingFull = false;
  private stopped = false;

  constructor(
    private readonly fn: SyncFn,
    private readonly opts: RunnerOptions,
  ) {
    this.clock = opts.clock ?? realClock;
  }

  /** Starts the periodic resync; the first run happens at once (full). */
  start(): void {
    this.stopped = false;
    this.pendingFull = true;
    this.schedule(0);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
  }

  /** Asks for a sync of what changed; coalesced with others within minInterval. */
  request(full = false): void {
    this.pending = true;
    if (full) this.pendingFull = true;
    if (this.running) return; // picked up when the current run finishes
    const due = Math.max(0, this.lastRun + this.opts.minIntervalMs - this.clock.now());
    this.schedule(due);
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    const at = this.clock.now() + delayMs;
    if (this.timer !== undefined && this.timerAt <= at) return; // an earlier run is already due
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = this.clock.setTimeout(() => void this.run(), delayMs);
  }

  private async run(): Promise<void> {
    this.timer = undefined;
    this.timerAt = Infinity;
    if (this.stopped) return;
    const full = this.pendingFull || this.clock.now() - this.lastRun >= this.opts.maxIntervalMs;
    this.pending = false;
    this.pendingFull = false;
    this.running = true;
    this.lastRun = this.clock.now();
    let failed = false;
    try {
      await this.fn(full);
    } catch {
      failed = true;
    } finally {
      this.running = false;
    }
    if (failed) {
      this.pendingFull = true;
      this.schedule(this.opts.retryIntervalMs);
    } else if (this.pending) {
      this.schedule(Math.max(0, this.lastRun + this.opts.minIntervalMs - this.clock.now()));
    } else {
      this.schedule(this.opts.maxIntervalMs);
    }
  }
}
