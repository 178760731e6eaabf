// Capped exponential backoff with jitter for re-listing and re-watching after errors, so a
// flapping API server is not hammered by every node at the same instant.

export interface BackoffOptions {
  /** First delay, ms (default 1000). */
  initialMs?: number;
  /** Largest delay, ms (default 30000). */
  maxMs?: number;
  /** Random extra fraction added to each delay, 0..1 (default 0.2). */
  jitter?: number;
}

export class Backoff {
  readonly initialMs: number;
  readonly maxMs: number;
  private readonly jitter: number;
  private current: number;

  constructor(options: BackoffOptions = {}) {
    this.initialMs = options.initialMs ?? 1000;
    this.maxMs = Math.max(this.initialMs, options.maxMs ?? 30_000);
    this.jitter = options.jitter ?? 0.2;
    this.current = this.initialMs;
  }

  /** The delay before the next attempt; each call doubles the following one, up to maxMs. */
  next(random: () => number = Math.random): number {
    const delay = Math.min(this.maxMs, Math.round(this.current * (1 + this.jitter * random())));
    this.current = Math.min(this.maxMs, this.current * 2);
    return delay;
  }

  reset(): void {
    this.current = this.initialMs;
  }
}
