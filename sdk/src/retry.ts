/**
 * Retries of answers that say "not now": 429 (a rate limit, a function's concurrency cap, every slot
 * busy) and 503 (draining, executor or store down). Nothing ran for such an answer, with one
 * exception: a synchronous invocation cut short by a shutdown also answers 503 (pass `retries: 0`
 * for a function that must not run twice).
 */

export interface RetryOptions {
  /** Tries after the first (default 3; 0 turns retries off). */
  retries?: number;
  /** The first backoff; each next one doubles, less a random part of up to half (default 250 ms). */
  baseDelayMs?: number;
  /** The longest backoff, and the longest Retry-After honoured (default 30 s: a longer one is not waited for). */
  maxDelayMs?: number;
}

export const RETRY_DEFAULTS: Required<RetryOptions> = { retries: 3, baseDelayMs: 250, maxDelayMs: 30_000 };

export function isRetryableStatus(status: number): boolean {
  return status === 429 || status === 503;
}

/**
 * `Retry-After` in milliseconds: whole seconds (what the gateway sends) or an HTTP date (what a
 * proxy may send); undefined when absent or unreadable.
 */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** The wait before retry number `attempt` (0 for the first): the server's word, else exponential backoff with jitter. */
export function retryDelay(
  attempt: number,
  retryAfterMs: number | undefined,
  options: Required<RetryOptions>,
  random = Math.random,
): number {
  if (retryAfterMs !== undefined) return retryAfterMs;
  const full = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** attempt);
  return Math.round(full - (full / 2) * random());
}

/** Waits `ms`, or rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
