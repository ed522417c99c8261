/**
 * The `Invocation` answer of `GET /invocations/{id}` (and of a cancel): the history record, plus
 * where the invocation stands. A synchronous invocation is in the history only, once it ended; an
 * asynchronous one is in the queue from its acceptance on (its state, attempts and result) and in
 * the history once an attempt ended (the record of its latest attempt). Either may be there alone.
 */
import type { AsyncAttempt, AsyncJob, AsyncState, CallbackState, InvocationRecord, Store } from '@faas/store';
import { toInvocationJson } from './history-routes.js';

type RecordJson = ReturnType<typeof toInvocationJson>;

/** A record as answered while an asynchronous invocation has none yet: nothing ran, nothing was written. */
export type InvocationJson = Omit<RecordJson, 'status' | 'finished_at'> & {
  status: RecordJson['status'] | null;
  finished_at: string | null;
  mode: 'sync' | 'async';
  state: AsyncState;
  attempts: number;
  max_attempts: number;
  attempt_history: AttemptJson[];
  accepted_at: string;
  next_attempt_at: string | null;
  cancel_requested: boolean;
  result: unknown;
  callback: CallbackJson | null;
};

/** Where the delivery of an asynchronous invocation's callback stands (docs/API.md "Callbacks"). */
export interface CallbackJson {
  /** The callback URL's origin only: its path and query may hold the receiver's token. */
  url_origin: string;
  state: CallbackState;
  attempts: number;
  last_error: string | null;
  last_status: number | null;
  delivered_at: string | null;
}

export interface AttemptJson {
  attempt: number;
  status: AsyncAttempt['status'];
  exit_code: number | null;
  error: string | null;
  error_code: string | null;
  started_at: string;
  finished_at: string | null;
}

const iso = (ms: number): string => new Date(ms).toISOString();

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '(malformed)';
  }
}

/** The callback of `job`: null when it has none (or ended before the store kept delivery states). */
function callbackJson(job: AsyncJob): CallbackJson | null {
  if (job.callbackUrl === null || job.callback === null) return null;
  const c = job.callback;
  return {
    url_origin: originOf(job.callbackUrl),
    state: c.state,
    attempts: c.attempts,
    last_error: c.lastError,
    last_status: c.lastStatus,
    delivered_at: c.deliveredAt === null ? null : iso(c.deliveredAt),
  };
}

/** How a synchronous invocation ended, in the states of asynchronous ones. */
export function syncState(record: InvocationRecord): AsyncState {
  if (record.status === 'cancelled') return 'cancelled';
  return record.status === 'completed' && record.exitCode === 0 && record.error === null ? 'succeeded' : 'failed';
}

function attemptJson(a: AsyncAttempt): AttemptJson {
  return {
    attempt: a.attempt,
    status: a.status,
    exit_code: a.exitCode,
    error: a.error,
    error_code: a.errorCode,
    started_at: iso(a.startedAt),
    finished_at: a.finishedAt === null ? null : iso(a.finishedAt),
  };
}

/** The record fields of an asynchronous invocation no attempt of which has ended yet. */
function pendingRecord(
  job: AsyncJob,
): Omit<
  InvocationJson,
  | 'mode'
  | 'state'
  | 'attempts'
  | 'max_attempts'
  | 'attempt_history'
  | 'accepted_at'
  | 'next_attempt_at'
  | 'cancel_requested'
  | 'result'
  | 'callback'
> {
  return {
    id: job.id,
    function_id: job.functionId,
    function_version: job.functionVersion,
    status: null,
    exit_code: null,
    signal: null,
    error: job.error,
    error_code: job.errorCode,
    executor: job.executor,
    key_id: job.keyId,
    phases: { queue_ms: 0, acquire_ms: 0, run_ms: 0 },
    duration_ms: 0,
    stdin_bytes: job.stdinBytes,
    stdout_bytes: 0,
    stderr_bytes: 0,
    truncated: false,
    output_truncated: false,
    started_at: iso(job.acceptedAt),
    finished_at: null,
  };
}

export function syncInvocationJson(record: InvocationRecord): InvocationJson {
  const json = toInvocationJson(record);
  return {
    ...json,
    mode: 'sync',
    state: syncState(record),
    attempts: 1,
    max_attempts: 1,
    attempt_history: [
      {
        attempt: 1,
        status: record.status,
        exit_code: record.exitCode,
        error: record.error,
        error_code: record.errorCode,
        started_at: json.started_at,
        finished_at: json.finished_at,
      },
    ],
    accepted_at: json.started_at,
    next_attempt_at: null,
    cancel_requested: false,
    result: null,
    callback: null,
  };
}

/**
 * An asynchronous invocation: the latest attempt's record where there is one, with the queue's
 * word on the rest. `started_at` is its acceptance and `finished_at` its final state (null before);
 * `error` and `error_code` are the invocation's (the last attempt's, or why it was cancelled or
 * died); `result` is the body a synchronous call would have answered, once the function ran to an end;
 * `callback` is where the delivery of its callback stands, when it has one.
 */
export function asyncInvocationJson(
  job: AsyncJob,
  record: InvocationRecord | undefined,
  attempts: AsyncAttempt[],
  result: string | undefined,
): InvocationJson {
  const base = record ? toInvocationJson(record) : pendingRecord(job);
  return {
    ...base,
    error: job.error,
    error_code: job.errorCode,
    started_at: iso(job.acceptedAt),
    finished_at: job.finishedAt === null ? null : iso(job.finishedAt),
    mode: 'async',
    state: job.state,
    attempts: job.attempts,
    max_attempts: job.maxAttempts,
    attempt_history: attempts.map(attemptJson),
    accepted_at: iso(job.acceptedAt),
    next_attempt_at: job.state === 'queued' ? iso(job.runAt) : null,
    cancel_requested: job.cancelRequested,
    result: result === undefined ? null : JSON.parse(result),
    callback: callbackJson(job),
  };
}

/** Reads both sides of invocation `id`: undefined when neither knows it. */
export async function readInvocation(store: Store, id: string): Promise<{ json: InvocationJson; functionId: string } | undefined> {
  const [record, job] = await Promise.all([store.history.get(id), store.queue.get(id)]);
  if (job) {
    const [attempts, result] = await Promise.all([store.queue.attempts(id), store.queue.result(id)]);
    return { json: asyncInvocationJson(job, record, attempts, result), functionId: job.functionId };
  }
  return record ? { json: syncInvocationJson(record), functionId: record.functionId } : undefined;
}
