/**
 * The platform's storage contract: registered functions, API keys, the invocation history and a
 * small key-value table (cursors of the front doors, such as the Tangle operator's last block).
 *
 * Written so that more than one implementation can serve it: SQLite (embedded, the default, one
 * gateway) today, PostgreSQL (a fleet of gateways) later. Every write is one transaction; SQL
 * stays portable (no SQLite-only functions in queries, times as integer epoch milliseconds, ids
 * as text). Every method may throw FAAS_ERR_STORE_UNAVAILABLE when the database cannot be used.
 * Methods are async so that a networked database fits the same shape.
 */
import type { ExecutorKind, HistoryStatus, InvocationRecord, IsolationMode } from '@faas/common';

/** Limits of a registered function, in the API's units. */
export interface FunctionLimits {
  memory_mb?: number;
  cpus?: number;
  pids?: number;
}

/** A registered function as stored (secrets decrypted only on `resolve`). */
export interface FunctionRecord {
  id: string;
  image: string;
  command: string[];
  /** `KEY=VALUE` entries. */
  env: string[];
  /**
   * The variables an invocation may add (names, or prefixes ending in `*`); [] (the default): none.
   * gateway/src/invocation-merge.ts applies them.
   */
  allowedEnvVars: string[];
  /** Names of the secrets; their values never leave the store except through `resolveSecrets`. */
  secretNames: string[];
  executor: ExecutorKind | null;
  poolMode: IsolationMode | null;
  limits: FunctionLimits;
  timeoutMs: number | null;
  /** Invocations running at once; null: no cap of its own. */
  maxConcurrency: number | null;
  /** Attempts an asynchronous invocation gets; null: the platform's FAAS_ASYNC_MAX_ATTEMPTS. */
  maxAttempts: number | null;
  /** Asynchronous invocations are retried when the function itself fails (non-zero exit, timeout, OOM), not only on platform faults. */
  retryOnFailure: boolean;
  /** Where the results of its asynchronous invocations are posted when the request names no URL; null: nowhere. */
  callbackUrl: string | null;
  description: string;
  /** 1 at creation, +1 on every change. */
  version: number;
  /** Epoch milliseconds. */
  createdAt: number;
  updatedAt: number;
}

/** What creating a function writes; `secrets` holds plain values, encrypted by the store. */
export interface FunctionInput {
  id: string;
  image: string;
  command: string[];
  env: string[];
  /** Default []: an invocation may add no variable. */
  allowedEnvVars?: string[];
  secrets: Record<string, string>;
  executor: ExecutorKind | null;
  poolMode: IsolationMode | null;
  limits: FunctionLimits;
  timeoutMs: number | null;
  maxConcurrency: number | null;
  /** Default null: FAAS_ASYNC_MAX_ATTEMPTS. */
  maxAttempts?: number | null;
  /** Default false: only platform faults are retried. */
  retryOnFailure?: boolean;
  /** Default null: no callback unless the request names one. */
  callbackUrl?: string | null;
  description: string;
}

/**
 * A change to a function: fields present replace the stored ones; in `secrets`, a string sets a
 * secret and null deletes it (others are kept).
 */
export type FunctionPatch = Partial<Omit<FunctionInput, 'id' | 'secrets'>> & {
  secrets?: Record<string, string | null>;
};

export interface Page<T> {
  items: T[];
  /** Opaque; pass it back to read the next page. Null on the last page. */
  nextCursor: string | null;
}

export interface FunctionStore {
  /** Throws FAAS_ERR_FUNCTION_EXISTS when the id is taken. */
  create(input: FunctionInput, now?: number): Promise<FunctionRecord>;
  get(id: string): Promise<FunctionRecord | undefined>;
  /** The definition with its secrets decrypted, for an invocation: `KEY=VALUE` entries. */
  resolveSecrets(id: string): Promise<{ record: FunctionRecord; secrets: string[] } | undefined>;
  /**
   * Applies `patch` and increments the version. Throws FAAS_ERR_FUNCTION_NOT_FOUND, and
   * FAAS_ERR_VERSION_CONFLICT when `expectedVersion` is given and is not the stored version.
   */
  update(id: string, patch: FunctionPatch, expectedVersion?: number, now?: number): Promise<FunctionRecord>;
  /** False when there was no such function. */
  delete(id: string, expectedVersion?: number): Promise<boolean>;
  /** Ordered by id. `limit` 1-1000. Throws FAAS_ERR_INVALID_QUERY for a cursor it did not issue. */
  list(options: { limit: number; cursor?: string }): Promise<Page<FunctionRecord>>;
}

/** What a key may do; `admin` may do everything. */
export const SCOPES = ['invoke', 'functions', 'history', 'metrics', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export interface KeyRecord {
  /** Public id, part of the key's text; shown in lists and history. */
  id: string;
  name: string;
  scopes: Scope[];
  /** Function ids (exact, or a prefix ending in `*`) the key is limited to; null: every function. */
  functions: string[] | null;
  /** Requests per second the key may make, with `rateBurst` at once; null: no limit of its own. */
  ratePerSecond: number | null;
  rateBurst: number | null;
  /** Invocations the key may have under way at once; null: the platform's FAAS_KEY_MAX_CONCURRENCY. */
  maxConcurrency: number | null;
  createdAt: number;
  /** Epoch milliseconds after which the key is refused; null: never. */
  expiresAt: number | null;
  revokedAt: number | null;
  lastUsedAt: number | null;
}

export interface KeyInput {
  id: string;
  /** SHA-256 of the key's secret part (the key has 256 bits of entropy, so no slow hash is needed). */
  secretHash: Buffer;
  name: string;
  scopes: Scope[];
  functions: string[] | null;
  ratePerSecond: number | null;
  rateBurst: number | null;
  /** Default null: the platform's FAAS_KEY_MAX_CONCURRENCY. */
  maxConcurrency?: number | null;
  expiresAt: number | null;
}

export interface KeyStore {
  create(input: KeyInput, now?: number): Promise<KeyRecord>;
  /** The record and its stored hash, for a constant-time comparison by the caller. */
  lookup(id: string): Promise<{ record: KeyRecord; secretHash: Buffer } | undefined>;
  get(id: string): Promise<KeyRecord | undefined>;
  /**
   * Every key, revoked ones included, oldest first (by creation time, then id), so that a key made
   * while a caller pages comes after the pages already read. `limit` 1-1000. Throws
   * FAAS_ERR_INVALID_QUERY for a cursor it did not issue.
   */
  list(options: { limit: number; cursor?: string }): Promise<Page<KeyRecord>>;
  /** Marks the key revoked (kept for the history's sake). False when there was no such key. */
  revoke(id: string, now?: number): Promise<boolean>;
  /** Records use, at most once a minute per key (cheap on the hot path). */
  touch(id: string, now?: number): void;
}

export type { HistoryStatus, InvocationRecord } from '@faas/common';

export interface InvocationOutput {
  stdout: Buffer;
  stderr: Buffer;
  /** True when the history kept less than the function wrote. */
  outputTruncated: boolean;
}

export interface HistoryFilter {
  functionId: string;
  status?: HistoryStatus;
  /** Epoch milliseconds, inclusive, on `startedAt`. */
  since?: number;
  until?: number;
  keyId?: string;
  /** 1-1000. */
  limit: number;
  cursor?: string;
}

export interface HistoryStore {
  /** Records one invocation with its (already capped) output. Never throws for a duplicate id: the last write wins. */
  record(entry: InvocationRecord, output: { stdout: Buffer; stderr: Buffer }): void;
  get(id: string): Promise<InvocationRecord | undefined>;
  output(id: string): Promise<InvocationOutput | undefined>;
  /** Newest first. Throws FAAS_ERR_INVALID_QUERY for a cursor it did not issue. */
  list(filter: HistoryFilter): Promise<Page<InvocationRecord>>;
  /** Removes invocations started before `olderThan` and all but the newest `maxPerFunction` of each function; returns how many. */
  prune(options: { olderThan: number; maxPerFunction: number }): Promise<number>;
}

/** Small durable values: cursors and markers of the front doors. */
export interface KvStore {
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string): Promise<void>;
}

/**
 * Where an asynchronous invocation stands. `queued` and `running` move on by themselves; the
 * others are final for the worker (`dead` until someone re-drives or discards it).
 */
export const ASYNC_STATES = ['queued', 'running', 'succeeded', 'failed', 'cancelled', 'dead'] as const;
export type AsyncState = (typeof ASYNC_STATES)[number];
/** The states an invocation ends in; `dead` can be sent back to `queued` (redrive). */
export type FinalAsyncState = Exclude<AsyncState, 'queued' | 'running'>;

/**
 * Where the delivery of an invocation's callback stands: `pending` (the invocation has not ended, or
 * its end is being delivered or waits for a retry), `delivered` (a 2xx), `failed` (the receiver
 * refused it, or every attempt failed), `refused` (the platform sent nothing: the URL or the address
 * its host resolves to is one callbacks may not reach).
 */
export const CALLBACK_STATES = ['pending', 'delivered', 'failed', 'refused'] as const;
export type CallbackState = (typeof CALLBACK_STATES)[number];

/** The delivery of the callback of an invocation's (latest) final state, as the dispatcher reported it. */
export interface CallbackDelivery {
  state: CallbackState;
  /** Attempts made (one refused by the address rules included; nothing was sent for it). */
  attempts: number;
  /** Why the last attempt failed, or why the delivery was refused; null once delivered. */
  lastError: string | null;
  /** The HTTP status of the last answer received; null when no attempt got one. */
  lastStatus: number | null;
  /** Epoch milliseconds of the 2xx; null unless delivered. */
  deliveredAt: number | null;
}

/** An asynchronous invocation as the queue keeps it (its request is sealed and read only by `claim`). */
export interface AsyncJob {
  id: string;
  functionId: string;
  /** The registered version when it was accepted; null ad hoc. */
  functionVersion: number | null;
  executor: ExecutorKind;
  keyId: string | null;
  state: AsyncState;
  /** Attempts started, over every drive (a redrive keeps counting). */
  attempts: number;
  /** Attempts may reach this number before the invocation is dead; a redrive raises it. */
  maxAttempts: number;
  /** The function's own failures are retried too (its definition's `retry_on_failure`). */
  retryOnFailure: boolean;
  stdinBytes: number;
  /** Epoch milliseconds before which the next attempt does not start (backoff). */
  runAt: number;
  /** The worker holding the invocation while it runs, and until when. */
  leaseOwner: string | null;
  leaseExpiresAt: number | null;
  /** A cancel reached a running invocation; its worker kills it. */
  cancelRequested: boolean;
  /** Where the final result is posted (the callbacks module); null: nowhere. */
  callbackUrl: string | null;
  /**
   * How the callback's delivery stands (reset to pending by a redrive); null without a callback URL,
   * or for an invocation that ended before the store kept delivery states (schema version 9).
   */
  callback: CallbackDelivery | null;
  /** Why it failed, was cancelled or is dead: words and a FAAS_ERR_* code. */
  error: string | null;
  errorCode: string | null;
  acceptedAt: number;
  updatedAt: number;
  /** When it reached a final state (dead included); null before. */
  finishedAt: number | null;
}

/** One attempt of an asynchronous invocation. */
export interface AsyncAttempt {
  invocationId: string;
  /** 1, 2, 3, ... over every drive. */
  attempt: number;
  /** `running` while it runs; then how it ended, as the history says it (`error`: a platform fault). */
  status: HistoryStatus | 'running';
  exitCode: number | null;
  error: string | null;
  errorCode: string | null;
  startedAt: number;
  finishedAt: number | null;
}

/** How an attempt ended, as the worker reports it. */
export type AttemptEnd = Pick<AsyncAttempt, 'status' | 'exitCode' | 'error' | 'errorCode'> & { status: HistoryStatus };

export interface EnqueueInput {
  id: string;
  functionId: string;
  functionVersion: number | null;
  executor: ExecutorKind;
  keyId: string | null;
  maxAttempts: number;
  retryOnFailure: boolean;
  stdinBytes: number;
  callbackUrl: string | null;
  /** What to run, as the front door will read it back (JSON text); sealed at rest, removed once final. */
  request: string;
  /** A digest of the request, compared when an idempotency key comes back. */
  requestHash: string;
  /** The caller's Idempotency-Key, scoped to its API key, kept until `expiresAt`. */
  idempotency?: { scope: string; key: string; expiresAt: number };
  /**
   * Queued invocations allowed at most (FAAS_ASYNC_MAX_QUEUED): with that many waiting, nothing is
   * written and FAAS_ERR_QUEUE_FULL is thrown (a kept idempotency key still answers its invocation).
   */
  maxQueued?: number;
  /**
   * Queued invocations of this `keyId` allowed at most (FAAS_ASYNC_MAX_QUEUED_PER_KEY): with that
   * many of its own waiting, nothing is written and FAAS_ERR_QUEUE_FULL is thrown.
   */
  maxQueuedPerKey?: number;
}

/** A claimed invocation: it is `running`, leased to the claimer, with its request opened. */
export interface ClaimedJob {
  job: AsyncJob;
  /** The attempt this claim started (`job.attempts`). */
  attempt: number;
  request: string;
}

/** Identifies one attempt under one lease: writes for another are refused (the lease was lost). */
export interface LeaseRef {
  id: string;
  owner: string;
  attempt: number;
}

export interface QueueStats {
  queued: number;
  running: number;
  dead: number;
  /** Acceptance time of the oldest queued invocation; null when none waits. */
  oldestQueuedAt: number | null;
}

/**
 * The durable queue of asynchronous invocations, with their attempts and the dead letters. Every
 * write is one transaction, so a crash leaves each invocation in exactly one state; a worker holds
 * what it runs under a lease that it renews, and a lease that runs out (its worker died) comes
 * back through `reclaim`. The SQLite implementation is `sqlite-queue.ts`; the shape fits a message
 * broker too (claim = fetch with an ack deadline, renew = in-progress, finish = ack).
 */
export interface QueueStore {
  /**
   * Accepts an invocation (`queued`), committed before it returns. With an idempotency key that is
   * still kept, nothing is written: the invocation that key made comes back (`created` false), or
   * FAAS_ERR_IDEMPOTENCY_KEY_REUSED is thrown when it was made from another request.
   */
  enqueue(input: EnqueueInput, now?: number): Promise<{ job: AsyncJob; created: boolean }>;
  /**
   * Takes the next due invocation (`runAt` <= now), starts its next attempt and leases it until now +
   * leaseMs. Fair across API keys (no key is one more): of each key's oldest due invocation, the one
   * whose key has the fewest invocations running (in the store, across every worker) first, the
   * oldest due first among equals; first in, first out within a key.
   */
  claim(options: { owner: string; leaseMs: number; now?: number }): Promise<ClaimedJob | undefined>;
  /** Extends the lease; undefined when it was lost (reclaimed, cancelled while queued). */
  renew(ref: LeaseRef, leaseMs: number, now?: number): Promise<{ cancelRequested: boolean } | undefined>;
  /**
   * Ends the attempt and the invocation in a final state, with the result body (JSON text) when
   * the function ran. False when the lease was lost: nothing is written, another run owns it.
   */
  finish(
    ref: LeaseRef,
    end: { state: FinalAsyncState; attempt: AttemptEnd; result: string | null; error: string | null; errorCode: string | null },
    now?: number,
  ): Promise<boolean>;
  /** Ends the attempt and queues the invocation again from `runAt`. False when the lease was lost. */
  retry(ref: LeaseRef, end: { attempt: AttemptEnd; runAt: number }, now?: number): Promise<boolean>;
  /** Gives the invocation back without counting the attempt (it never started: the platform was busy). */
  release(ref: LeaseRef, runAt: number, now?: number): Promise<boolean>;
  /**
   * Leases that ran out (every lease when `all`: at start-up, when no other worker can hold one):
   * the attempt is recorded as lost (status `error`, FAAS_ERR_WORKER_LOST: the platform stopped, or
   * its worker lost the lease, while it ran) and the invocation queued
   * again after `retryDelayMs(attempts)`, or dead once its attempts are used up. Returns their ids.
   */
  reclaim(options: { now?: number; all?: boolean; retryDelayMs: (attempts: number) => number }): Promise<string[]>;
  /**
   * Cancels: a queued invocation becomes `cancelled` at once; a running one is marked
   * (`cancelRequested`) for its worker to kill. Final ones are answered as they are. Undefined: no
   * such invocation.
   */
  cancel(id: string, now?: number): Promise<AsyncJob | undefined>;
  /**
   * A dead invocation queued again with `extraAttempts` more attempts; undefined when it is not
   * dead. With `maxQueued` invocations already queued, FAAS_ERR_QUEUE_FULL and nothing changes.
   */
  redrive(id: string, extraAttempts: number, now?: number, limits?: { maxQueued?: number }): Promise<AsyncJob | undefined>;
  /**
   * Ended invocations whose callback is not yet handed to the dispatcher, by id after `after`:
   * every final state (dead and cancelled included) of an invocation with a callback URL is marked
   * so in the transaction that writes it, until `callbackHanded`. Read at start-up, so a process
   * that died between the two loses no callback.
   */
  callbacksPending(options: { after?: string; limit: number }): Promise<AsyncJob[]>;
  /**
   * The callback of the final state reached at `attempts` is recorded by the dispatcher: the mark
   * goes. False when there was none (or the invocation was redriven and is at another attempt).
   */
  callbackHanded(id: string, attempts: number, now?: number): Promise<boolean>;
  /**
   * Records how the delivery of the callback of the final state reached at `attempts` stands. A
   * delivery that ended (delivered, failed, refused) is kept: a later report of the same end changes
   * nothing. False when nothing was written (no such end, or it ended already).
   */
  callbackProgress(id: string, attempts: number, delivery: CallbackDelivery, now?: number): Promise<boolean>;
  /** A dead invocation leaves the dead letters (becomes `failed`, its request dropped); false when it is not dead. */
  discard(id: string, now?: number): Promise<boolean>;
  get(id: string): Promise<AsyncJob | undefined>;
  /** Its attempts, first first. */
  attempts(id: string): Promise<AsyncAttempt[]>;
  /** The result body (JSON text) of a finished invocation whose function ran; undefined otherwise. */
  result(id: string): Promise<string | undefined>;
  /** Dead invocations, most recently dead first. Throws FAAS_ERR_INVALID_QUERY for a cursor it did not issue. */
  listDead(options: { limit: number; cursor?: string; functionId?: string }): Promise<Page<AsyncJob>>;
  stats(now?: number): Promise<QueueStats>;
  /** When the next queued invocation is due (epoch milliseconds); undefined when none is queued. */
  nextDue(): Promise<number | undefined>;
  /** Removes invocations that ended (dead ones stay) before `finishedBefore`, and idempotency keys past their time. */
  prune(options: { finishedBefore: number; now?: number }): Promise<number>;
}

export interface Store {
  readonly functions: FunctionStore;
  readonly keys: KeyStore;
  readonly history: HistoryStore;
  readonly kv: KvStore;
  /** The durable queue of asynchronous invocations. */
  readonly queue: QueueStore;
  /** Flushes and closes; later calls throw. */
  close(): Promise<void>;
}
