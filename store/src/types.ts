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
import type { ExecutorKind, IsolationMode } from '@faas/common';

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
  /** Names of the secrets; their values never leave the store except through `resolveSecrets`. */
  secretNames: string[];
  executor: ExecutorKind | null;
  poolMode: IsolationMode | null;
  limits: FunctionLimits;
  timeoutMs: number | null;
  /** Invocations running at once; null: no cap of its own. */
  maxConcurrency: number | null;
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
  secrets: Record<string, string>;
  executor: ExecutorKind | null;
  poolMode: IsolationMode | null;
  limits: FunctionLimits;
  timeoutMs: number | null;
  maxConcurrency: number | null;
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
  expiresAt: number | null;
}

export interface KeyStore {
  create(input: KeyInput, now?: number): Promise<KeyRecord>;
  /** The record and its stored hash, for a constant-time comparison by the caller. */
  lookup(id: string): Promise<{ record: KeyRecord; secretHash: Buffer } | undefined>;
  get(id: string): Promise<KeyRecord | undefined>;
  /** Every key, revoked ones included, newest first. */
  list(): Promise<KeyRecord[]>;
  /** Marks the key revoked (kept for the history's sake). False when there was no such key. */
  revoke(id: string, now?: number): Promise<boolean>;
  /** Records use, at most once a minute per key (cheap on the hot path). */
  touch(id: string, now?: number): void;
}

/** How an invocation ended, as the history records it: the outcome's status, or `error` for a platform fault. */
export type HistoryStatus = 'completed' | 'out_of_memory' | 'timed_out' | 'cancelled' | 'error';

export interface InvocationRecord {
  id: string;
  functionId: string;
  /** Null for an ad-hoc invocation. */
  functionVersion: number | null;
  status: HistoryStatus;
  exitCode: number | null;
  signal: string | null;
  /** The outcome's error in words, or the fault's message. */
  error: string | null;
  /** FAAS_ERR_* of a platform fault (status `error`), or of a timeout. */
  errorCode: string | null;
  executor: ExecutorKind;
  keyId: string | null;
  /** Milliseconds per phase. */
  queueMs: number;
  acquireMs: number;
  runMs: number;
  durationMs: number;
  stdinBytes: number;
  /** Sizes of the whole streams the function wrote (as far as the output cap let them through). */
  stdoutBytes: number;
  stderrBytes: number;
  /** The function's output hit FAAS_MAX_OUTPUT_BYTES. */
  truncated: boolean;
  /** The history kept less than the output (FAAS_HISTORY_OUTPUT_BYTES). */
  outputTruncated: boolean;
  /** Epoch milliseconds. */
  startedAt: number;
  finishedAt: number;
}

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

export interface Store {
  readonly functions: FunctionStore;
  readonly keys: KeyStore;
  readonly history: HistoryStore;
  readonly kv: KvStore;
  /** Flushes and closes; later calls throw. */
  close(): Promise<void>;
}
