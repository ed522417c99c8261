/**
 * The retry policy of asynchronous invocations, as pure functions: what an attempt's end means for
 * the invocation (final, retried after a backoff, dead, or handed back uncounted), and how long a
 * retry waits. Platform faults are retried; the function's own failures only when its definition
 * asks for it (`retry_on_failure`); the platform being busy never costs an attempt.
 */
import { type ErrorCode, FaasError, type Outcome } from '@faas/common';
import type { AsyncJob, AttemptEnd, FinalAsyncState } from '@faas/store';

/**
 * Faults of the platform, not of the request or the function: another attempt may well succeed.
 * FAAS_ERR_SANDBOX_LOST covers a sandbox that died under the command (killed from outside, its
 * engine or VMM gone), whether or not the command had started.
 */
export const RETRYABLE_FAULTS: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'FAAS_ERR_SANDBOX_FAILURE',
  'FAAS_ERR_SANDBOX_LOST',
  'FAAS_ERR_EXECUTOR_UNAVAILABLE',
  'FAAS_ERR_INTERNAL',
  'FAAS_ERR_STORE_UNAVAILABLE',
]);

/**
 * The platform, the function or the caller's API key is busy, or the platform is stopping: the
 * invocation waits without its attempt being counted, never dead for it.
 */
export const BUSY_FAULTS: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'FAAS_ERR_SATURATED',
  'FAAS_ERR_KEY_CONCURRENCY_LIMIT',
  'FAAS_ERR_CONCURRENCY_LIMIT',
  'FAAS_ERR_SHUTTING_DOWN',
]);

export interface BackoffPolicy {
  /** Delay before the second attempt; doubled for each later one. */
  baseMs: number;
  maxMs: number;
  /** [0, 1); jitter takes up to half of each delay away. */
  random: () => number;
}

/** The wait before attempt `attempts + 1`: base × 2^(attempts−1), less a random part of up to half, at most maxMs. */
export function retryDelayMs(attempts: number, policy: BackoffPolicy): number {
  const exponent = Math.max(0, Math.min(attempts - 1, 40));
  const full = Math.min(policy.maxMs, policy.baseMs * 2 ** exponent);
  return Math.round(full - (full / 2) * policy.random());
}

/** How an attempt ended, as the worker saw it. */
export type AttemptResult =
  | { kind: 'outcome'; outcome: Outcome; cancelledByCaller: boolean }
  | { kind: 'fault'; error: unknown; cancelledByCaller: boolean };

export type Decision =
  | { action: 'final'; state: FinalAsyncState; attempt: AttemptEnd; error: string | null; errorCode: string | null }
  | { action: 'retry'; attempt: AttemptEnd }
  | { action: 'release' };

function faultEnd(err: unknown): AttemptEnd {
  if (err instanceof FaasError) return { status: 'error', exitCode: null, error: err.message, errorCode: err.code };
  return { status: 'error', exitCode: null, error: 'internal error', errorCode: 'FAAS_ERR_INTERNAL' };
}

function outcomeEnd(outcome: Outcome): AttemptEnd {
  return {
    status: outcome.status,
    exitCode: outcome.exitCode,
    error: outcome.error,
    errorCode: outcome.status === 'timed_out' ? 'FAAS_ERR_TIMEOUT' : null,
  };
}

/** The function ran to its end and said so: exit code 0, nothing in its way. */
function succeeded(outcome: Outcome): boolean {
  return outcome.status === 'completed' && outcome.exitCode === 0 && outcome.error === null && outcome.startError === undefined;
}

/** Another attempt, or dead when none is left. */
function again(job: AsyncJob, attempt: AttemptEnd): Decision {
  if (job.attempts < job.maxAttempts) return { action: 'retry', attempt };
  return { action: 'final', state: 'dead', attempt, error: attempt.error, errorCode: attempt.errorCode };
}

function final(state: FinalAsyncState, attempt: AttemptEnd): Decision {
  return { action: 'final', state, attempt, error: attempt.error, errorCode: attempt.errorCode };
}

/**
 * An attempt the platform's own stop killed (its shutdown grace ran out): recorded as one that a
 * stopped platform cut short, like one the next start takes back (store/src/sqlite-queue.ts,
 * LOST_AT_START), and retried like any platform fault. Nobody cancelled it, and the function did not fail.
 */
export const KILLED_BY_STOP: AttemptEnd = {
  status: 'error',
  exitCode: null,
  error: 'the platform stopped while this attempt ran (its shutdown grace ran out and killed it)',
  errorCode: 'FAAS_ERR_WORKER_LOST',
};

/**
 * What `result` of the attempt started as `job.attempts` means. `stopping`: the platform is
 * shutting down, so an attempt it cut short is a platform fault (retried), never the caller's cancel.
 */
export function decide(job: AsyncJob, result: AttemptResult, stopping: boolean): Decision {
  if (result.kind === 'fault') {
    const err = result.error;
    if (result.cancelledByCaller)
      return final('cancelled', { status: 'cancelled', exitCode: null, error: 'cancelled before it ran', errorCode: null });
    // A signal aborted while the invocation waited for a slot: the platform is stopping.
    if (!(err instanceof FaasError)) return stopping ? { action: 'release' } : again(job, faultEnd(err));
    if (BUSY_FAULTS.has(err.code)) return { action: 'release' };
    if (RETRYABLE_FAULTS.has(err.code)) return again(job, faultEnd(err));
    // The request, the function's definition or the host refuse it: no retry can mend that.
    return final('failed', faultEnd(err));
  }
  const { outcome } = result;
  const attempt = outcomeEnd(outcome);
  if (outcome.status === 'cancelled') {
    if (result.cancelledByCaller) return final('cancelled', { ...attempt, error: attempt.error ?? 'cancelled while it ran' });
    // Killed by the platform (its shutdown ran out of grace): the function did not fail.
    if (stopping) return again(job, KILLED_BY_STOP);
    return again(job, { ...attempt, status: 'cancelled', errorCode: 'FAAS_ERR_INTERNAL' });
  }
  if (succeeded(outcome)) return final('succeeded', attempt);
  return job.retryOnFailure ? again(job, attempt) : final('failed', attempt);
}
