/**
 * Runs one job call to its result: decode the inputs strictly, build the invocation, run it through
 * the invocation core, and turn the outcome (or the refusal) into a result. Every way a call can go
 * wrong that is the caller's doing (malformed or oversized inputs, an unknown job, a rule of the
 * API) becomes a `rejected` result, and a platform fault a `failed` one: the caller always gets an
 * answer, and no input can stop the operator. A full queue is waited out (with backoff) before it
 * is answered as a fault. A call runs at most once (docs/tangle-jobs.md): `hooks.starting` hears of
 * the invocation before it is handed to the core (the operator records it), a run a shutdown cancels
 * is answered `cancelled`, and only a call the shutdown refuses or cancels before its command starts
 * throws StoppedError, to be run after the restart.
 */
import { randomUUID } from 'node:crypto';
import { FaasError, type Invocation, type Logger, type Outcome } from '@faas/common';
import type { Orchestrator } from '@faas/orchestrator';
import { hexToBytes } from 'viem';
import type { JobSubmittedEvent } from '../abi/events.js';
import { decodeJobInputs, JobInputError } from '../abi/inputs.js';
import type { JobResult } from '../abi/results.js';
import { Backoff } from './backoff.js';
import { StoppedError } from './chain.js';
import { type InvocationDeps, toInvocation } from './invocation.js';

export interface RunnerDeps extends InvocationDeps {
  orchestrator: Pick<Orchestrator, 'invoke'>;
  /** Inputs larger than this are rejected unread. */
  maxInputBytes: number;
  log: Logger;
  /** How long a call waits out a full queue before it is answered FAAS_ERR_SATURATED. */
  saturatedWaitMs?: number;
}

export interface RunHooks {
  /**
   * Awaited with the invocation before it is handed to the invocation core; when it throws, the
   * call throws that and nothing runs.
   */
  starting?(invocation: Invocation): Promise<void>;
}

/** The `error` of a result whose run a shutdown cancelled. */
export const CANCELLED_BY_SHUTDOWN =
  'the operator shut down while the call ran and FAAS_SHUTDOWN_GRACE_MS ran out: its command was stopped, and the call is not run again';

const RETRIED = new Set(['FAAS_ERR_SATURATED', 'FAAS_ERR_CONCURRENCY_LIMIT']);

export async function runCall(event: JobSubmittedEvent, deps: RunnerDeps, signal: AbortSignal, hooks: RunHooks = {}): Promise<JobResult> {
  const invocationId = randomUUID();
  const started = performance.now();
  const refused = (status: 'rejected' | 'failed', code: string, message: string, id: string = invocationId): JobResult => ({
    invocationId: id,
    status,
    exitCode: null,
    signal: null,
    stdout: new Uint8Array(),
    stderr: new Uint8Array(),
    truncated: false,
    errorCode: code,
    error: message,
    durationMs: performance.now() - started,
  });
  const fault = (err: unknown): JobResult => {
    if (err instanceof StoppedError || (signal.aborted && !(err instanceof FaasError))) throw new StoppedError('stopped');
    if (err instanceof FaasError) {
      if (err.code === 'FAAS_ERR_SHUTTING_DOWN') throw new StoppedError('the platform is shutting down');
      return refused(err.status < 500 && !RETRIED.has(err.code) ? 'rejected' : 'failed', err.code, err.message);
    }
    deps.log.error({ err, invocationId }, 'a job call failed unexpectedly');
    return refused('failed', 'FAAS_ERR_INTERNAL', 'internal error');
  };
  let decoded: ReturnType<typeof decodeJobInputs>;
  try {
    decoded = decodeJobInputs(event.jobIndex, hexToBytes(event.inputs), deps.maxInputBytes);
  } catch (err) {
    if (err instanceof JobInputError) return refused('rejected', err.code, err.message, '');
    throw err;
  }
  let invocation: Invocation;
  try {
    invocation = await toInvocation(decoded, { invocationId, serviceId: event.serviceId, caller: event.caller }, deps);
  } catch (err) {
    return fault(err);
  }
  // Outside the catch: a failure to record the start is the operator's to retry, not the caller's answer.
  await hooks.starting?.(invocation);
  try {
    const outcome = await invokeWaitingOutQueue(deps, invocation, signal);
    // Only a shutdown cancels a call's invocation; its command may have done part of its work.
    if (outcome.status === 'cancelled') return { ...fromOutcome(outcome), error: CANCELLED_BY_SHUTDOWN };
    return fromOutcome(outcome);
  } catch (err) {
    return fault(err);
  }
}

async function invokeWaitingOutQueue(deps: RunnerDeps, invocation: Parameters<Orchestrator['invoke']>[0], signal: AbortSignal) {
  const backoff = new Backoff({ baseMs: 200, maxMs: 5_000 });
  const deadline = Date.now() + (deps.saturatedWaitMs ?? 60_000);
  for (;;) {
    try {
      return await deps.orchestrator.invoke(invocation, { signal });
    } catch (err) {
      if (!(err instanceof FaasError) || !RETRIED.has(err.code) || Date.now() > deadline || signal.aborted) throw err;
      await backoff.wait(signal);
    }
  }
}

export function fromOutcome(outcome: Outcome): JobResult {
  return {
    invocationId: outcome.invocationId,
    status: outcome.status,
    exitCode: outcome.exitCode,
    signal: outcome.signal,
    stdout: outcome.stdout,
    stderr: outcome.stderr,
    truncated: outcome.truncated,
    errorCode: null,
    error: outcome.error,
    durationMs: outcome.durationMs,
  };
}
