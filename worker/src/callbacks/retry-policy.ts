/**
 * What an attempt's answer means for the delivery, and how long to wait before the next one. Kept
 * apart from the sending and the bookkeeping so the rules read in one place:
 *
 * - 2xx: delivered.
 * - 408, 429 and 5xx, and no answer at all (refused, reset, timed out): retried, after the
 *   receiver's Retry-After when it sends one, otherwise after an exponential backoff with jitter.
 * - Any other status, redirects included (they are never followed): failed for good, since the
 *   receiver said the request itself is wrong and sending it again would not change that.
 */
import type { AttemptAnswer } from './send.js';

export type Outcome =
  | { kind: 'delivered'; status: number }
  /** `retryAfter`: the receiver's Retry-After, in milliseconds from now. */
  | { kind: 'retry'; status: number | null; error: string; retryAfter?: number | undefined }
  | { kind: 'final'; status: number | null; error: string }
  /** The platform sent nothing: the URL, or an address its host resolves to, is one callbacks may not reach. */
  | { kind: 'refused'; status: null; error: string };

/** Retry-After as milliseconds from `now`: delta seconds or an HTTP date; undefined when malformed. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d{1,10}$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) || !/[a-z]/i.test(text) ? undefined : Math.max(0, at - now);
}

export function classifyAnswer(answer: AttemptAnswer, now = Date.now()): Outcome {
  if ('error' in answer) return { kind: 'retry', status: null, error: answer.error };
  const { status } = answer;
  if (status >= 200 && status < 300) return { kind: 'delivered', status };
  if (status === 408 || status === 429 || status >= 500) {
    return { kind: 'retry', status, error: `answered ${status}`, retryAfter: parseRetryAfter(answer.retryAfter, now) };
  }
  if (status >= 300 && status < 400) return { kind: 'final', status, error: `answered ${status}: redirects are not followed` };
  return { kind: 'final', status, error: `answered ${status}` };
}

/**
 * The wait after `attemptsMade` attempts: the receiver's Retry-After when given, otherwise
 * base × 2^(attemptsMade−1), of which a random half is taken off ("equal jitter", so that many
 * deliveries failing together do not come back together); both at most `maxMs`.
 */
export function retryDelayMs(
  attemptsMade: number,
  retryAfterMs: number | undefined,
  baseMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  if (retryAfterMs !== undefined) return Math.min(maxMs, Math.max(0, retryAfterMs));
  const full = Math.min(maxMs, baseMs * 2 ** Math.max(0, attemptsMade - 1));
  return Math.round(full / 2 + (random() * full) / 2);
}
