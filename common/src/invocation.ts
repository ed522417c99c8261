/**
 * The invocation core's contract, free of any transport: an `Invocation` goes in, an `Outcome`
 * comes out. The gateway (HTTP), the Tangle operator (job calls) and the async worker are front
 * doors that turn their own input into an `Invocation` and their own output from an `Outcome`.
 *
 * How a function ended is always a value (completed, out of memory, timed out, cancelled). Only
 * platform faults throw, as `FaasError`s from the registry.
 */
import type { ExecutorKind, ResourceLimits } from './types.js';

/** How sandboxes are kept between invocations: one per invocation, kept per function, or none pre-started. */
export type IsolationMode = 'single-use' | 'reuse' | 'off';

/** One invocation, validated and with every default applied: what the core runs. */
export interface Invocation {
  /** Unique id of this invocation (a UUID). */
  id: string;
  /** The function it belongs to; sandboxes are never shared between functions in reuse mode. */
  functionId: string;
  image: string;
  /** The whole argv; `command[0]` is resolved through PATH inside the sandbox. */
  command: string[];
  /** `KEY=VALUE` entries the caller set; they win over the image's and the platform's defaults. */
  env: string[];
  /** Bytes written to the command's stdin, then closed. */
  stdin: Buffer;
  limits: ResourceLimits;
  /** Wall-clock budget of the command itself, in milliseconds (queueing and start-up not counted). */
  timeoutMs: number;
  executor: ExecutorKind;
  /** Defaults to the platform's FAAS_POOL_MODE. */
  isolation?: IsolationMode;
  /** The registered function's version this invocation runs; undefined for an ad-hoc request. */
  functionVersion?: number;
  /** Id of the API key that asked for it (`admin` for the admin key); undefined in open mode. */
  keyId?: string;
  /** The function's own cap on invocations running at once; more get FAAS_ERR_CONCURRENCY_LIMIT. */
  maxConcurrency?: number;
  /**
   * The cap on invocations of `keyId` under way at once, resolved by the front door (the key's own
   * `max_concurrency`, or FAAS_KEY_MAX_CONCURRENCY); more get FAAS_ERR_KEY_CONCURRENCY_LIMIT.
   * Undefined: no cap (the admin key, open mode, Tangle job calls).
   */
  keyMaxConcurrency?: number;
  /**
   * Names of `env` entries that hold secrets: their values are never logged or recorded. The
   * entries themselves are in `env` (the sandbox gets them as ordinary variables).
   */
  secretNames?: readonly string[];
}

/**
 * How an invocation ended:
 * - `completed`: the command ran to its end (any exit code) or was killed by a signal of its own
 *   doing; also a command that could not be started (`startError` set, exit code 126 or 127).
 * - `out_of_memory`: the kernel's OOM killer ended it at the sandbox's memory limit.
 * - `timed_out`: it ran past `timeoutMs`; every process of the invocation was killed.
 * - `cancelled`: the caller went away or the platform shut down; it was killed.
 */
export type OutcomeStatus = 'completed' | 'out_of_memory' | 'timed_out' | 'cancelled';

/** Milliseconds spent in each phase; `releaseMs` is known only after the answer (see `Outcome.released`). */
export interface InvocationPhases {
  /** Waiting for a concurrency slot. */
  queueMs: number;
  /** Getting a sandbox: a warm one from the pool, or a cold start. */
  acquireMs: number;
  /** Running the command, from request to the executor's answer. */
  runMs: number;
  /** Resetting or destroying the sandbox after the answer. */
  releaseMs?: number;
}

export interface Outcome {
  invocationId: string;
  functionId: string;
  executor: ExecutorKind;
  status: OutcomeStatus;
  /** The command's exit status; null when killed by a signal. 127/126 when it could not be started. */
  exitCode: number | null;
  /** Signal name (`SIGKILL`, `SIGABRT`, ...) when the command was killed by one. */
  signal: string | null;
  /** Why the command could not be started (not found, not executable); undefined if it started. */
  startError?: string;
  /** Null when the command completed with exit code 0; otherwise how it ended, in words. */
  error: string | null;
  stdout: Buffer;
  stderr: Buffer;
  /** stdout and stderr interleaved in arrival order. */
  combined: Buffer;
  /** True if any stream reached the output cap and was cut. */
  truncated: boolean;
  /** From accepting the invocation to having its outcome, in milliseconds. */
  durationMs: number;
  phases: InvocationPhases;
  /** Settles when the sandbox has been released or destroyed; `phases.releaseMs` is then set. */
  released: Promise<void>;
}

/** How an invocation ended, as the history records it: the outcome's status, or `error` for a platform fault. */
export type HistoryStatus = OutcomeStatus | 'error';

/** Every history status, for filters that accept them by name. */
export const HISTORY_STATUSES: readonly HistoryStatus[] = ['completed', 'out_of_memory', 'timed_out', 'cancelled', 'error'];

/**
 * One invocation as the history keeps it: what the core's history layer records and the store
 * returns. Times are epoch milliseconds, durations milliseconds; never env or stdin.
 */
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
