/**
 * The invocation history as a layer: every invocation that reaches the core is recorded once it
 * has an outcome, or once it failed with a platform fault (refusals before any sandbox was
 * acquired included: saturated, the function's concurrency cap, shutting down), unless its caller
 * puts it back in a queue of its own (`requeued`: the async worker). What is recorded
 * is the history's `HistoryEntry`; `env` and `stdin` never are (only stdin's size), and the output
 * is cut to the first `outputBytes` of each stream.
 *
 * A sink that fails is logged and never fails the invocation: the history is a record of what
 * happened, not a condition of it. The sink's shape is the store's `HistoryStore.record`, so the
 * store is passed as it is.
 */
import {
  FaasError,
  type HistoryStatus,
  type Invocation,
  type InvocationPhases,
  type InvocationRecord,
  type Logger,
  type Outcome,
} from '@faas/common';
import type { Dispatch, DispatchContext, Layer } from '../dispatch.js';

/** One invocation as the history keeps it (common's `InvocationRecord`, which the store returns). */
export type HistoryEntry = InvocationRecord;
export type { HistoryStatus };

/** Where the history goes: the store's `HistoryStore`, or anything with its `record`. */
export interface HistorySink {
  record(entry: HistoryEntry, output: { stdout: Buffer; stderr: Buffer }): void | Promise<void>;
}

export interface HistoryOptions {
  sink: HistorySink;
  /** Bytes of each stream kept (FAAS_HISTORY_OUTPUT_BYTES). */
  outputBytes: number;
  log: Logger;
}

const EMPTY = Buffer.alloc(0);

export function historyLayer(options: HistoryOptions): Layer {
  const { sink, outputBytes, log } = options;

  const keep = (stream: Buffer): Buffer =>
    // A copy of the kept part, so that a sink holding on to it does not hold the whole stream.
    stream.length <= outputBytes ? stream : Buffer.from(stream.subarray(0, outputBytes));

  const write = (entry: HistoryEntry, output: { stdout: Buffer; stderr: Buffer }): void => {
    const failed = (err: unknown) =>
      // The entry holds no env and no stdin; the error's message is the sink's own words.
      log.warn(
        { invocationId: entry.id, functionId: entry.functionId, err: describe(err) },
        'the invocation history could not record an invocation; it ran all the same',
      );
    try {
      const pending = sink.record(entry, output);
      if (pending) pending.catch(failed);
    } catch (err) {
      failed(err);
    }
  };

  return (next: Dispatch): Dispatch =>
    async (invocation, context) => {
      const startedAt = Date.now();
      let outcome: Outcome;
      try {
        outcome = await next(invocation, context);
      } catch (err) {
        // Back in its caller's queue (busy): it has not ended, and will be recorded when it does.
        if (!context.requeued?.(err)) write(faultEntry(invocation, context, startedAt, err), { stdout: EMPTY, stderr: EMPTY });
        throw err;
      }
      const stdout = keep(outcome.stdout);
      const stderr = keep(outcome.stderr);
      write(outcomeEntry(invocation, outcome, startedAt, stdout.length < outcome.stdout.length || stderr.length < outcome.stderr.length), {
        stdout,
        stderr,
      });
      return outcome;
    };
}

function baseEntry(invocation: Invocation, phases: InvocationPhases, startedAt: number) {
  return {
    id: invocation.id,
    functionId: invocation.functionId,
    functionVersion: invocation.functionVersion ?? null,
    executor: invocation.executor,
    keyId: invocation.keyId ?? null,
    queueMs: phases.queueMs,
    acquireMs: phases.acquireMs,
    runMs: phases.runMs,
    stdinBytes: invocation.stdin.length,
    startedAt,
    finishedAt: Date.now(),
  };
}

function outcomeEntry(invocation: Invocation, outcome: Outcome, startedAt: number, outputTruncated: boolean): HistoryEntry {
  return {
    ...baseEntry(invocation, outcome.phases, startedAt),
    status: outcome.status,
    exitCode: outcome.exitCode,
    signal: outcome.signal,
    error: outcome.error,
    errorCode: outcome.status === 'timed_out' ? 'FAAS_ERR_TIMEOUT' : null,
    durationMs: outcome.durationMs,
    stdoutBytes: outcome.stdout.length,
    stderrBytes: outcome.stderr.length,
    truncated: outcome.truncated,
    outputTruncated,
  };
}

/** A fault: `error` with its registry code, or `cancelled` when the caller went away first. */
function faultEntry(invocation: Invocation, context: DispatchContext, startedAt: number, err: unknown): HistoryEntry {
  const cancelled = context.signal.aborted && !(err instanceof FaasError);
  return {
    ...baseEntry(invocation, context.phases, startedAt),
    status: cancelled ? 'cancelled' : 'error',
    exitCode: null,
    signal: null,
    // A foreign error's words (an engine's answer, say) may quote what it was sent: not kept.
    error: err instanceof FaasError ? err.message : cancelled ? 'the caller went away before the function ran' : 'internal error',
    errorCode: cancelled ? null : err instanceof FaasError ? err.code : 'FAAS_ERR_INTERNAL',
    durationMs: Math.round((performance.now() - context.started) * 1000) / 1000,
    stdoutBytes: 0,
    stderrBytes: 0,
    truncated: false,
    outputTruncated: false,
  };
}

function describe(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).slice(0, 1000);
}
