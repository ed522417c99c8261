/**
 * The queue of asynchronous invocations on SQLite (the contract is `QueueStore` in types.ts). One
 * row per invocation in `async_invocations` carries its state, its lease and, while it may still
 * run, its request, sealed with the secrets key (it holds the caller's stdin and variables); one
 * row per attempt in `async_attempts`; `idempotency_keys` maps (API key, Idempotency-Key) to the
 * invocation it made, until the window ends.
 *
 * Every change of state is one IMMEDIATE transaction, and every write by a worker names the lease
 * it holds (owner and attempt): a worker whose lease ran out and was reclaimed can no longer
 * report a result, so each invocation has one final result however many processes died on the way.
 */
import type { ExecutorKind } from '@faas/common';
import { FaasError } from '@faas/common';
import { checkLimit, deadLetterCursor, readDeadLetterCursor } from './cursor.js';
import type { SecretBox } from './secrets.js';
import type { SqliteContext } from './sqlite-context.js';
import {
  type AsyncAttempt,
  type AsyncJob,
  type AsyncState,
  type AttemptEnd,
  CALLBACK_STATES,
  type CallbackDelivery,
  type CallbackState,
  type ClaimedJob,
  type EnqueueInput,
  type FinalAsyncState,
  type HistoryStatus,
  type LeaseRef,
  type Page,
  type QueueStore,
} from './types.js';

interface JobRow {
  id: string;
  function_id: string;
  function_version: number | null;
  executor: string;
  key_id: string | null;
  state: string;
  attempts: number;
  max_attempts: number;
  retry_on_failure: number;
  stdin_bytes: number;
  run_at: number;
  lease_owner: string | null;
  lease_expires_at: number | null;
  cancel_requested: number;
  callback_url: string | null;
  error: string | null;
  error_code: string | null;
  accepted_at: number;
  updated_at: number;
  finished_at: number | null;
  callback_state: string | null;
  callback_attempts: number;
  callback_last_error: string | null;
  callback_last_status: number | null;
  callback_delivered_at: number | null;
}

interface AttemptRow {
  invocation_id: string;
  attempt: number;
  status: string;
  exit_code: number | null;
  error: string | null;
  error_code: string | null;
  started_at: number;
  finished_at: number | null;
}

const JOB_COLUMNS =
  'id, function_id, function_version, executor, key_id, state, attempts, max_attempts, retry_on_failure, stdin_bytes, run_at, ' +
  'lease_owner, lease_expires_at, cancel_requested, callback_url, error, error_code, accepted_at, updated_at, finished_at, ' +
  'callback_state, callback_attempts, callback_last_error, callback_last_status, callback_delivered_at';
/**
 * The next invocation to claim (parameters: now, now), fair across API keys; the invocations of no
 * key are one more tenant, the admin key another. Each key's queue is first in, first out: its head
 * is its oldest due invocation (`run_at` <= now, then acceptance). Of the heads, the one whose key
 * has the fewest invocations running goes first, counted in the table (every worker of the
 * database), the oldest due first among equals. So a key with a few invocations starts them at the
 * next free slot however long another key's backlog, and a key alone still takes every slot.
 *
 * Every step is a seek on async_invocations_key_due (state, key_id, run_at, accepted_at), never a
 * read through a backlog: the keys with queued invocations are walked one seek a key (a loose index
 * scan), then each key's head is one seek, and each head's running count one more. Its cost grows
 * with the keys that have invocations queued, not with how many they have. CROSS JOIN keeps SQLite
 * from scanning the table against the heads once it has statistics (PRAGMA optimize); elsewhere it
 * is a plain join. Standard SQL (a recursive CTE, scalar subqueries): PostgreSQL runs it as it is.
 */
export const CLAIM_NEXT = `WITH RECURSIVE tenants (key_id) AS (
    SELECT MIN(key_id) FROM async_invocations WHERE state = 'queued'
    UNION ALL
    SELECT (SELECT MIN(q.key_id) FROM async_invocations q WHERE q.state = 'queued' AND q.key_id > t.key_id)
    FROM tenants t WHERE t.key_id IS NOT NULL
  ),
  heads (id) AS (
    SELECT (SELECT h.id FROM async_invocations h WHERE h.state = 'queued' AND h.key_id = t.key_id AND h.run_at <= ?
             ORDER BY h.run_at, h.accepted_at LIMIT 1)
    FROM tenants t WHERE t.key_id IS NOT NULL
    UNION ALL
    SELECT (SELECT h.id FROM async_invocations h WHERE h.state = 'queued' AND h.key_id IS NULL AND h.run_at <= ?
             ORDER BY h.run_at, h.accepted_at LIMIT 1)
  )
  SELECT ${JOB_COLUMNS.split(', ')
    .map((column) => `j.${column}`)
    .join(', ')}
  FROM heads CROSS JOIN async_invocations j WHERE j.id = heads.id
  ORDER BY CASE WHEN j.key_id IS NULL
      THEN (SELECT COUNT(*) FROM async_invocations r WHERE r.state = 'running' AND r.key_id IS NULL)
      ELSE (SELECT COUNT(*) FROM async_invocations r WHERE r.state = 'running' AND r.key_id = j.key_id) END,
    j.run_at, j.accepted_at
  LIMIT 1`;
/**
 * The SET clause that marks a final state whose callback is still to be handed to the dispatcher:
 * written in the transaction of the final state itself, so no crash can separate the two.
 */
const CALLBACK_PENDING = 'callback_pending = CASE WHEN callback_url IS NULL THEN 0 ELSE 1 END';
/** The AAD name of a sealed request; `#` keeps it apart from every secret name. */
const REQUEST_NAME = '#async-request';
const PRUNE_BATCH = 500;
/**
 * What a reclaimed attempt is recorded as (and a dead invocation's error, when it was the last):
 * at start-up, the platform stopped under it; later, its worker stopped renewing its lease.
 */
const LOST_AT_START: AttemptEnd = {
  status: 'error',
  exitCode: null,
  errorCode: 'FAAS_ERR_WORKER_LOST',
  error: 'the platform stopped while this attempt ran (killed, crashed or restarted); the next start took it back',
};
const LOST_LEASE: AttemptEnd = {
  status: 'error',
  exitCode: null,
  errorCode: 'FAAS_ERR_WORKER_LOST',
  error: 'the worker running this attempt stopped renewing its lease (it died or stalled); it was taken back when the lease ran out',
};
/** Where the callback of an invocation with a callback URL stands until its end is delivered. */
const CALLBACK_WAITING: CallbackDelivery = { state: 'pending', attempts: 0, lastError: null, lastStatus: null, deliveredAt: null };
/** The SET clause that makes the callback of the next end pending again (a redrive). */
const CALLBACK_RESET =
  "callback_state = CASE WHEN callback_url IS NULL THEN NULL ELSE 'pending' END, callback_attempts = 0, " +
  'callback_last_error = NULL, callback_last_status = NULL, callback_delivered_at = NULL';

function toCallback(row: JobRow): CallbackDelivery | null {
  if (row.callback_url === null || row.callback_state === null) return null;
  return {
    state: row.callback_state as CallbackState,
    attempts: row.callback_attempts,
    lastError: row.callback_last_error,
    lastStatus: row.callback_last_status,
    deliveredAt: row.callback_delivered_at,
  };
}

function toJob(row: JobRow): AsyncJob {
  return {
    id: row.id,
    functionId: row.function_id,
    functionVersion: row.function_version,
    executor: row.executor as ExecutorKind,
    keyId: row.key_id,
    state: row.state as AsyncState,
    attempts: row.attempts,
    maxAttempts: row.max_attempts,
    retryOnFailure: row.retry_on_failure === 1,
    stdinBytes: row.stdin_bytes,
    runAt: row.run_at,
    leaseOwner: row.lease_owner,
    leaseExpiresAt: row.lease_expires_at,
    cancelRequested: row.cancel_requested === 1,
    callbackUrl: row.callback_url,
    callback: toCallback(row),
    error: row.error,
    errorCode: row.error_code,
    acceptedAt: row.accepted_at,
    updatedAt: row.updated_at,
    finishedAt: row.finished_at,
  };
}

function toAttempt(row: AttemptRow): AsyncAttempt {
  return {
    invocationId: row.invocation_id,
    attempt: row.attempt,
    status: row.status as HistoryStatus | 'running',
    exitCode: row.exit_code,
    error: row.error,
    errorCode: row.error_code,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
  };
}

const nextTick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export function sqliteQueue(ctx: SqliteContext, box: SecretBox): QueueStore {
  const { db } = ctx;
  const selectJob = db.prepare<[string], JobRow>(`SELECT ${JOB_COLUMNS} FROM async_invocations WHERE id = ?`);
  const insertJob = db.prepare(
    `INSERT INTO async_invocations (${JOB_COLUMNS}, request, request_hash)
     VALUES (?, ?, ?, ?, ?, 'queued', 0, ?, ?, ?, ?, NULL, NULL, 0, ?, NULL, NULL, ?, ?, NULL, ?, 0, NULL, NULL, NULL, ?, ?)`,
  );
  const selectKey = db.prepare<[string, string], { invocation_id: string; request_hash: string; expires_at: number }>(
    'SELECT invocation_id, request_hash, expires_at FROM idempotency_keys WHERE scope = ? AND idempotency_key = ?',
  );
  const upsertKey = db.prepare<[string, string, string, string, number]>(
    `INSERT INTO idempotency_keys (scope, idempotency_key, invocation_id, request_hash, expires_at) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (scope, idempotency_key) DO UPDATE SET invocation_id = excluded.invocation_id,
       request_hash = excluded.request_hash, expires_at = excluded.expires_at`,
  );
  const selectDue = db.prepare<[number, number], JobRow>(CLAIM_NEXT);
  const markClaimed = db.prepare<[string, number, number, string]>(
    `UPDATE async_invocations SET state = 'running', attempts = attempts + 1, lease_owner = ?, lease_expires_at = ?, updated_at = ?
     WHERE id = ? AND state = 'queued'`,
  );
  const insertAttempt = db.prepare<[string, number, number]>(
    `INSERT INTO async_attempts (invocation_id, attempt, status, exit_code, error, error_code, started_at, finished_at)
     VALUES (?, ?, 'running', NULL, NULL, NULL, ?, NULL)`,
  );
  const endAttempt = db.prepare<[string, number | null, string | null, string | null, number, string, number]>(
    `UPDATE async_attempts SET status = ?, exit_code = ?, error = ?, error_code = ?, finished_at = ?
     WHERE invocation_id = ? AND attempt = ?`,
  );
  const deleteAttempt = db.prepare<[string, number]>('DELETE FROM async_attempts WHERE invocation_id = ? AND attempt = ?');
  const selectRequest = db.prepare<[string], Buffer | null>('SELECT request FROM async_invocations WHERE id = ?').pluck();
  const renewLease = db.prepare<[number, number, string, string, number]>(
    `UPDATE async_invocations SET lease_expires_at = ?, updated_at = ?
     WHERE id = ? AND lease_owner = ? AND attempts = ? AND state = 'running'`,
  );
  const selectCancel = db.prepare<[string], number>('SELECT cancel_requested FROM async_invocations WHERE id = ?').pluck();
  // A dead invocation keeps its request, for a redrive; any other final state drops it. Every final
  // state with a callback URL is marked in the same write (CALLBACK_PENDING), until its delivery is recorded.
  const markFinal = db.prepare<[string, string | null, string | null, string | null, number, number, string, string, string, number]>(
    `UPDATE async_invocations SET state = ?, result = ?, error = ?, error_code = ?, finished_at = ?, updated_at = ?,
       lease_owner = NULL, lease_expires_at = NULL, request = CASE WHEN ? = 'dead' THEN request ELSE NULL END, ${CALLBACK_PENDING}
     WHERE id = ? AND lease_owner = ? AND attempts = ? AND state = 'running'`,
  );
  const markQueued = db.prepare<[number, string | null, string | null, number, string, string, number]>(
    `UPDATE async_invocations SET state = 'queued', run_at = ?, error = ?, error_code = ?, updated_at = ?,
       lease_owner = NULL, lease_expires_at = NULL
     WHERE id = ? AND lease_owner = ? AND attempts = ? AND state = 'running'`,
  );
  const markReleased = db.prepare<[number, number, string, string, number]>(
    `UPDATE async_invocations SET state = 'queued', run_at = ?, attempts = attempts - 1, updated_at = ?,
       lease_owner = NULL, lease_expires_at = NULL
     WHERE id = ? AND lease_owner = ? AND attempts = ? AND state = 'running'`,
  );
  const selectExpired = db.prepare<[number], JobRow>(
    `SELECT ${JOB_COLUMNS} FROM async_invocations WHERE state = 'running' AND lease_expires_at < ?`,
  );
  const selectRunning = db.prepare<[], JobRow>(`SELECT ${JOB_COLUMNS} FROM async_invocations WHERE state = 'running'`);
  const cancelQueued = db.prepare<[number, number, string]>(
    `UPDATE async_invocations SET state = 'cancelled', request = NULL, error = 'cancelled before it ran', error_code = NULL,
       finished_at = ?, updated_at = ?, ${CALLBACK_PENDING} WHERE id = ? AND state = 'queued'`,
  );
  const requestCancel = db.prepare<[number, string]>(
    `UPDATE async_invocations SET cancel_requested = 1, updated_at = ? WHERE id = ? AND state = 'running'`,
  );
  const markRedriven = db.prepare<[number, number, number, string]>(
    `UPDATE async_invocations SET state = 'queued', max_attempts = attempts + ?, run_at = ?, updated_at = ?, error = NULL,
       error_code = NULL, result = NULL, finished_at = NULL, cancel_requested = 0, ${CALLBACK_RESET}
     WHERE id = ? AND state = 'dead' AND request IS NOT NULL`,
  );
  const markDiscarded = db.prepare<[number, string]>(
    `UPDATE async_invocations SET state = 'failed', request = NULL, updated_at = ? WHERE id = ? AND state = 'dead'`,
  );
  const selectAttempts = db.prepare<[string], AttemptRow>(
    `SELECT invocation_id, attempt, status, exit_code, error, error_code, started_at, finished_at
     FROM async_attempts WHERE invocation_id = ? ORDER BY attempt`,
  );
  const selectResult = db.prepare<[string], string | null>('SELECT result FROM async_invocations WHERE id = ?').pluck();
  const countStates = db.prepare<[], { state: string; n: number }>(
    `SELECT state, COUNT(*) AS n FROM async_invocations WHERE state IN ('queued', 'running', 'dead') GROUP BY state`,
  );
  const oldestQueued = db.prepare<[], number | null>(`SELECT MIN(accepted_at) FROM async_invocations WHERE state = 'queued'`).pluck();
  const firstDue = db.prepare<[], number | null>(`SELECT MIN(run_at) FROM async_invocations WHERE state = 'queued'`).pluck();
  // Counts on the index (state, run_at, accepted_at), and stops at the bound: a refusal costs no more than the bound's rows.
  const countQueued = db
    .prepare<[number], number>(`SELECT COUNT(*) FROM (SELECT 1 FROM async_invocations WHERE state = 'queued' LIMIT ?)`)
    .pluck();
  const countQueuedOfKey = db
    .prepare<[string, number], number>(
      `SELECT COUNT(*) FROM (SELECT 1 FROM async_invocations WHERE key_id = ? AND state = 'queued' LIMIT ?)`,
    )
    .pluck();
  const pruneFinished = db.prepare<[number, number]>(
    `DELETE FROM async_invocations WHERE id IN (SELECT id FROM async_invocations
       WHERE state IN ('succeeded', 'failed', 'cancelled') AND finished_at < ? LIMIT ?)`,
  );
  const selectCallbacksPending = db.prepare<[string, number], JobRow>(
    `SELECT ${JOB_COLUMNS} FROM async_invocations WHERE callback_pending = 1 AND id > ?
       AND state IN ('succeeded', 'failed', 'cancelled', 'dead') ORDER BY id LIMIT ?`,
  );
  const clearCallbackPending = db.prepare<[number, string, number]>(
    `UPDATE async_invocations SET callback_pending = 0, updated_at = ?
     WHERE id = ? AND attempts = ? AND callback_pending = 1 AND state IN ('succeeded', 'failed', 'cancelled', 'dead')`,
  );
  // Only the delivery of this end (the attempts it ended at), and only while it is under way: an
  // ended delivery is kept, whatever comes later for the same end.
  const updateCallback = db.prepare<[string, number, string | null, number | null, number | null, number, string, number]>(
    `UPDATE async_invocations SET callback_state = ?, callback_attempts = ?, callback_last_error = ?, callback_last_status = ?,
       callback_delivered_at = ?, updated_at = ?
     WHERE id = ? AND attempts = ? AND callback_url IS NOT NULL AND state IN ('succeeded', 'failed', 'cancelled', 'dead')
       AND (callback_state IS NULL OR callback_state = 'pending')`,
  );
  // A minute's worth of keys at a time (retention runs every minute): no batches needed.
  const pruneKeys = db.prepare<[number]>('DELETE FROM idempotency_keys WHERE expires_at <= ?');

  // An acceptance (and a redrive) is answered 202 once committed: its commit is fsynced
  // (synchronous=FULL for that one transaction), so it outlives a power cut too, not only a crash
  // of the process. Every other write keeps the store's synchronous=NORMAL (store/src/sqlite.ts).
  // (Not prepared statements: SQLite applies this pragma when it compiles it, not when it runs.)
  const durably = <T>(write: () => T): T => {
    const before = Number(db.pragma('synchronous', { simple: true }));
    if (!(before < 2)) return write();
    db.pragma('synchronous = FULL');
    try {
      return write();
    } finally {
      db.pragma(`synchronous = ${before}`);
    }
  };

  const seal = (id: string, request: string): Buffer => box.seal(id, REQUEST_NAME, request);
  const open = (id: string, blob: Buffer): string => {
    try {
      return box.open(id, REQUEST_NAME, blob);
    } catch (err) {
      throw new FaasError(
        'FAAS_ERR_STORE_UNAVAILABLE',
        `the queued request of invocation ${JSON.stringify(id)} cannot be opened with this FAAS_SECRETS_KEY: set it back to the key it was accepted under`,
        { cause: err },
      );
    }
  };

  /**
   * FAAS_ERR_QUEUE_FULL when `maxQueued` invocations are queued already, or `perKey.max` of
   * `perKey.keyId`'s; called inside the writing transaction, before any write.
   */
  const assertRoom = (maxQueued: number | undefined, perKey?: { keyId: string | null; max: number | undefined }): void => {
    if (perKey?.keyId && perKey.max !== undefined) {
      const own = countQueuedOfKey.get(perKey.keyId, perKey.max) ?? 0;
      if (own >= perKey.max) {
        throw new FaasError(
          'FAAS_ERR_QUEUE_FULL',
          `this API key has ${own} asynchronous invocations waiting in the queue, its share (FAAS_ASYNC_MAX_QUEUED_PER_KEY); nothing was queued: retry when some have run`,
        );
      }
    }
    if (maxQueued === undefined) return;
    const queued = countQueued.get(maxQueued) ?? 0;
    if (queued >= maxQueued) {
      throw new FaasError(
        'FAAS_ERR_QUEUE_FULL',
        `${queued} asynchronous invocations are waiting in the queue, its limit (FAAS_ASYNC_MAX_QUEUED); nothing was queued: retry later`,
      );
    }
  };

  const enqueue = db.transaction((input: EnqueueInput, now: number): { job: AsyncJob; created: boolean } => {
    const idem = input.idempotency;
    if (idem) {
      const kept = selectKey.get(idem.scope, idem.key);
      if (kept && kept.expires_at > now) {
        if (kept.request_hash !== input.requestHash) {
          throw new FaasError(
            'FAAS_ERR_IDEMPOTENCY_KEY_REUSED',
            `this Idempotency-Key already named invocation ${kept.invocation_id}, made from a different request; send a new key for a new request`,
          );
        }
        const row = selectJob.get(kept.invocation_id);
        // Retention may have removed the invocation while its key was still kept: the key is free again.
        if (row) return { job: toJob(row), created: false };
      }
    }
    assertRoom(input.maxQueued, { keyId: input.keyId, max: input.maxQueuedPerKey });
    if (idem) {
      upsertKey.run(idem.scope, idem.key, input.id, input.requestHash, idem.expiresAt);
    }
    insertJob.run(
      input.id,
      input.functionId,
      input.functionVersion,
      input.executor,
      input.keyId,
      input.maxAttempts,
      input.retryOnFailure ? 1 : 0,
      input.stdinBytes,
      now,
      input.callbackUrl,
      now,
      now,
      input.callbackUrl === null ? null : CALLBACK_WAITING.state,
      seal(input.id, input.request),
      input.requestHash,
    );
    const job: AsyncJob = {
      id: input.id,
      functionId: input.functionId,
      functionVersion: input.functionVersion,
      executor: input.executor,
      keyId: input.keyId,
      state: 'queued',
      attempts: 0,
      maxAttempts: input.maxAttempts,
      retryOnFailure: input.retryOnFailure,
      stdinBytes: input.stdinBytes,
      runAt: now,
      leaseOwner: null,
      leaseExpiresAt: null,
      cancelRequested: false,
      callbackUrl: input.callbackUrl,
      callback: input.callbackUrl === null ? null : { ...CALLBACK_WAITING },
      error: null,
      errorCode: null,
      acceptedAt: now,
      updatedAt: now,
      finishedAt: null,
    };
    return { job, created: true };
  });

  const claim = db.transaction((owner: string, leaseMs: number, now: number): ClaimedJob | undefined => {
    const row = selectDue.get(now, now);
    if (!row) return undefined;
    const attempt = row.attempts + 1;
    markClaimed.run(owner, now + leaseMs, now, row.id);
    insertAttempt.run(row.id, attempt, now);
    const blob = selectRequest.get(row.id);
    if (!blob) throw new Error(`queued invocation ${row.id} has no request`);
    const job: AsyncJob = {
      ...toJob(row),
      state: 'running',
      attempts: attempt,
      leaseOwner: owner,
      leaseExpiresAt: now + leaseMs,
      updatedAt: now,
    };
    return { job, attempt, request: open(row.id, blob) };
  });

  const recordEnd = (id: string, attempt: number, end: AttemptEnd, now: number): void => {
    endAttempt.run(end.status, end.exitCode, end.error, end.errorCode, now, id, attempt);
  };

  const finish = db.transaction(
    (
      ref: LeaseRef,
      end: { state: FinalAsyncState; attempt: AttemptEnd; result: string | null; error: string | null; errorCode: string | null },
      now: number,
    ): boolean => {
      const changed = markFinal.run(end.state, end.result, end.error, end.errorCode, now, now, end.state, ref.id, ref.owner, ref.attempt);
      if (changed.changes !== 1) return false;
      recordEnd(ref.id, ref.attempt, end.attempt, now);
      return true;
    },
  );

  const retry = db.transaction((ref: LeaseRef, end: { attempt: AttemptEnd; runAt: number }, now: number): boolean => {
    const changed = markQueued.run(end.runAt, end.attempt.error, end.attempt.errorCode, now, ref.id, ref.owner, ref.attempt);
    if (changed.changes !== 1) return false;
    recordEnd(ref.id, ref.attempt, end.attempt, now);
    return true;
  });

  const release = db.transaction((ref: LeaseRef, runAt: number, now: number): boolean => {
    if (markReleased.run(runAt, now, ref.id, ref.owner, ref.attempt).changes !== 1) return false;
    deleteAttempt.run(ref.id, ref.attempt);
    return true;
  });

  const reclaim = db.transaction((now: number, all: boolean, retryDelayMs: (attempts: number) => number): string[] => {
    const rows = all ? selectRunning.all() : selectExpired.all(now);
    const lost = all ? LOST_AT_START : LOST_LEASE;
    for (const row of rows) {
      const ref = { id: row.id, owner: row.lease_owner ?? '', attempt: row.attempts };
      if (row.cancel_requested === 1) {
        markFinal.run('cancelled', null, 'cancelled while it ran', null, now, now, 'cancelled', ref.id, ref.owner, ref.attempt);
      } else if (row.attempts < row.max_attempts) {
        markQueued.run(now + retryDelayMs(row.attempts), lost.error, lost.errorCode, now, ref.id, ref.owner, ref.attempt);
      } else {
        markFinal.run('dead', null, lost.error, lost.errorCode, now, now, 'dead', ref.id, ref.owner, ref.attempt);
      }
      recordEnd(ref.id, ref.attempt, lost, now);
    }
    return rows.map((row) => row.id);
  });

  const cancel = db.transaction((id: string, now: number): AsyncJob | undefined => {
    const row = selectJob.get(id);
    if (!row) return undefined;
    if (row.state === 'queued') cancelQueued.run(now, now, id);
    else if (row.state === 'running') requestCancel.run(now, id);
    else return toJob(row);
    const updated = selectJob.get(id);
    return updated && toJob(updated);
  });

  const redrive = db.transaction((id: string, extraAttempts: number, now: number, maxQueued: number | undefined): AsyncJob | undefined => {
    const dead = selectJob.get(id);
    if (dead?.state !== 'dead') return undefined;
    assertRoom(maxQueued);
    if (markRedriven.run(extraAttempts, now, now, id).changes !== 1) return undefined;
    const row = selectJob.get(id);
    return row && toJob(row);
  });

  const listQueries = new Map<string, ReturnType<typeof db.prepare<unknown[], JobRow>>>();
  const listDead = (options: { limit: number; cursor?: string; functionId?: string }): Page<AsyncJob> => {
    checkLimit(options.limit);
    const after = options.cursor === undefined ? undefined : readDeadLetterCursor(options.cursor);
    const where = ["state = 'dead'"];
    const params: unknown[] = [];
    if (options.functionId !== undefined) {
      where.push('function_id = ?');
      params.push(options.functionId);
    }
    if (after) {
      where.push('(finished_at < ? OR (finished_at = ? AND id < ?))');
      params.push(after.finishedAt, after.finishedAt, after.id);
    }
    params.push(options.limit + 1);
    const sql = `SELECT ${JOB_COLUMNS} FROM async_invocations WHERE ${where.join(' AND ')} ORDER BY finished_at DESC, id DESC LIMIT ?`;
    let query = listQueries.get(sql);
    if (!query) {
      query = db.prepare<unknown[], JobRow>(sql);
      listQueries.set(sql, query);
    }
    const rows = query.all(...params);
    const more = rows.length > options.limit;
    if (more) rows.pop();
    const last = rows[rows.length - 1];
    return { items: rows.map(toJob), nextCursor: more && last ? deadLetterCursor(last.finished_at ?? 0, last.id) : null };
  };

  const drain = async (step: () => number): Promise<number> => {
    let total = 0;
    for (;;) {
      const n = ctx.use(step);
      total += n;
      if (n < PRUNE_BATCH) return total;
      await nextTick();
    }
  };

  return {
    async enqueue(input, now = Date.now()) {
      return ctx.use(() => durably(() => enqueue.immediate(input, now)));
    },
    async claim({ owner, leaseMs, now = Date.now() }) {
      return ctx.use(() => claim.immediate(owner, leaseMs, now));
    },
    async renew(ref, leaseMs, now = Date.now()) {
      return ctx.use(() => {
        if (renewLease.run(now + leaseMs, now, ref.id, ref.owner, ref.attempt).changes !== 1) return undefined;
        return { cancelRequested: selectCancel.get(ref.id) === 1 };
      });
    },
    async finish(ref, end, now = Date.now()) {
      return ctx.use(() => finish.immediate(ref, end, now));
    },
    async retry(ref, end, now = Date.now()) {
      return ctx.use(() => retry.immediate(ref, end, now));
    },
    async release(ref, runAt, now = Date.now()) {
      return ctx.use(() => release.immediate(ref, runAt, now));
    },
    async reclaim({ now = Date.now(), all = false, retryDelayMs }) {
      return ctx.use(() => reclaim.immediate(now, all, retryDelayMs));
    },
    async cancel(id, now = Date.now()) {
      return ctx.use(() => cancel.immediate(id, now));
    },
    async redrive(id, extraAttempts, now = Date.now(), limits = {}) {
      if (!Number.isInteger(extraAttempts) || extraAttempts < 1)
        throw new RangeError(`a redrive needs at least one attempt, got ${extraAttempts}`);
      return ctx.use(() => durably(() => redrive.immediate(id, extraAttempts, now, limits.maxQueued)));
    },
    async callbacksPending({ after = '', limit }) {
      checkLimit(limit);
      return ctx.use(() => selectCallbacksPending.all(after, limit).map(toJob));
    },
    async callbackHanded(id, attempts, now = Date.now()) {
      return ctx.use(() => clearCallbackPending.run(now, id, attempts).changes === 1);
    },
    async callbackProgress(id, attempts, delivery, now = Date.now()) {
      if (!CALLBACK_STATES.includes(delivery.state)) throw new RangeError(`not a callback state: ${String(delivery.state)}`);
      return ctx.use(
        () =>
          updateCallback.run(
            delivery.state,
            delivery.attempts,
            delivery.lastError,
            delivery.lastStatus,
            delivery.deliveredAt,
            now,
            id,
            attempts,
          ).changes === 1,
      );
    },
    async discard(id, now = Date.now()) {
      return ctx.use(() => markDiscarded.run(now, id).changes === 1);
    },
    async get(id) {
      return ctx.use(() => {
        const row = selectJob.get(id);
        return row && toJob(row);
      });
    },
    async attempts(id) {
      return ctx.use(() => selectAttempts.all(id).map(toAttempt));
    },
    async result(id) {
      return ctx.use(() => selectResult.get(id) ?? undefined);
    },
    async listDead(options) {
      return ctx.use(() => listDead(options));
    },
    async stats() {
      return ctx.use(() => {
        const counts = { queued: 0, running: 0, dead: 0 };
        for (const { state, n } of countStates.all()) counts[state as keyof typeof counts] = n;
        return { ...counts, oldestQueuedAt: oldestQueued.get() ?? null };
      });
    },
    async nextDue() {
      return ctx.use(() => firstDue.get() ?? undefined);
    },
    async prune({ finishedBefore, now = Date.now() }) {
      const jobs = await drain(() => pruneFinished.run(finishedBefore, PRUNE_BATCH).changes);
      const keys = ctx.use(() => pruneKeys.run(now).changes);
      return jobs + keys;
    },
  };
}
