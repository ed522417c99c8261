/**
 * Waiting between retries: exponential with full jitter, capped, and cut short by an abort (the
 * operator stopping). One Backoff per loop, reset when the loop succeeds again.
 */

export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
}

export class Backoff {
  private attempt = 0;

  constructor(private readonly options: BackoffOptions = { baseMs: 250, maxMs: 10_000 }) {}

  /** Failures in a row so far. */
  get failures(): number {
    return this.attempt;
  }

  /** The next delay: a random time up to base x 2^failures, at most maxMs (and at least base / 2). */
  next(): number {
    const ceiling = Math.min(this.options.maxMs, this.options.baseMs * 2 ** Math.min(this.attempt, 20));
    this.attempt++;
    return Math.max(this.options.baseMs / 2, Math.random() * ceiling);
  }

  reset(): void {
    this.attempt = 0;
  }

  /** Sleeps the next delay; resolves early (never rejects) when `signal` aborts. */
  wait(signal?: AbortSignal): Promise<void> {
    return sleep(this.next(), signal);
  }
}

/** Resolves after `ms`, or as soon as `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
