/**
 * One job call, from its record to its answer (operator.ts runs one of these per JobSubmitted log).
 * What it does depends on the call's record (state.ts), so that a restart neither loses nor repeats
 * a call:
 *
 *   answered, failed   nothing (skipped)
 *   sent               the signed answer is followed to its confirmation (sender.ts)
 *   ran                its result is sent
 *   running            the run was cut off (the operator was killed or crashed while it ran): the call
 *                      is never run again (at most once: a job may have side effects, and the customer
 *                      pays per call). Its invocation is written to the history as lost
 *                      (FAAS_ERR_WORKER_LOST) and the call is answered `failed` with that code and the
 *                      invocation's id
 *   none, unstarted    unless completed on chain already, it runs (recorded `running` first), its
 *                      result is recorded `ran`, then sent
 */
import type { Invocation, InvocationRecord, Logger } from '@faas/common';
import type { HistoryStore } from '@faas/store';
import { type Hex, hexToBytes } from 'viem';
import type { JobSubmittedEvent } from '../abi/events.js';
import { decodeResult, encodeResult, type JobResult } from '../abi/results.js';
import { StoppedError, shortMessage } from './chain.js';
import type { OperatorMetrics } from './metrics.js';
import type { RunHooks } from './runner.js';
import type { ResultSender, SenderChain } from './sender.js';
import type { CallRecord, CallRef, OperatorState } from './state.js';

export interface CallHandlerDeps {
  state: OperatorState;
  chain: Pick<SenderChain, 'jobCall'>;
  sender: Pick<ResultSender, 'answer'>;
  /** Runs the call (runner.ts's runCall, within the operator's limit). */
  run(event: JobSubmittedEvent, hooks: RunHooks): Promise<JobResult>;
  /** The platform's invocation history, where a lost run is written. */
  history: Pick<HistoryStore, 'get' | 'record'>;
  metrics: OperatorMetrics;
  log: Logger;
}

/** What an attempt at a call got as far as, kept across the attempts that a fault of our own (the store) repeats. */
export interface CallProgress {
  result?: Hex;
}

/** The error code and words of the answer to a call whose run was cut off. */
export const LOST_CODE = 'FAAS_ERR_WORKER_LOST';
export const LOST_MESSAGE =
  'the operator stopped (killed or crashed) while this call ran: it may have run in part, and it is not run again';

type RunningRecord = Extract<CallRecord, { state: 'running' }>;

export class CallHandler {
  constructor(private readonly deps: CallHandlerDeps) {}

  /** One attempt at answering the call; throws on a fault of our own (retried by the caller with `progress`). */
  async handle(event: JobSubmittedEvent, progress: CallProgress): Promise<void> {
    const { state, metrics, log } = this.deps;
    const { serviceId, callId } = event;
    const service = serviceId.toString();
    const ids = { serviceId: service, callId: callId.toString() };
    const ref: CallRef = { serviceId, callId, submitTx: event.transactionHash };
    const record = await state.call(ref);
    if (record?.state === 'answered' || record?.state === 'failed') {
      metrics.skipped.inc({ service, reason: 'recorded' });
      return;
    }
    if (record?.state === 'sent') {
      log.info({ ...ids, tx: record.hash }, 'resuming the answer of a call recorded by an earlier run');
      return this.report(ids, statusOf(record.result), await this.deps.sender.answer(ref, record.result, record));
    }
    let result = progress.result ?? (record?.state === 'ran' ? record.result : undefined);
    if (result === undefined && record?.state === 'running') {
      await this.recordLost(record);
      if ((await this.deps.chain.jobCall(serviceId, callId)).completed) {
        await state.setCall(ref, { state: 'answered', at: Date.now() });
        metrics.skipped.inc({ service, reason: 'completed' });
        return;
      }
      log.warn(
        { ...ids, invocationId: record.invocationId },
        `the call was running when the operator stopped: it is answered ${LOST_CODE}, not run again`,
      );
      result = encodeResult(lostResult(record));
    }
    if (result === undefined) {
      if ((await this.deps.chain.jobCall(serviceId, callId)).completed) {
        await state.setCall(ref, { state: 'answered', at: Date.now() });
        metrics.skipped.inc({ service, reason: 'completed' });
        return;
      }
      let handedOver: Invocation | undefined;
      let outcome: JobResult;
      try {
        outcome = await this.deps.run(event, {
          starting: async (invocation) => {
            await state.setCall(ref, runningRecord(invocation));
            handedOver = invocation;
          },
        });
      } catch (err) {
        // The shutdown refused or cancelled the invocation before its command started: it runs after the restart.
        if (err instanceof StoppedError && handedOver) {
          await state.setCall(ref, { state: 'unstarted', invocationId: handedOver.id, at: Date.now() }).catch((e: unknown) => {
            log.warn({ ...ids, err: shortMessage(e) }, 'could not record that the call did not start; the next run answers it as lost');
          });
        }
        throw err;
      }
      result = encodeResult(outcome);
    }
    progress.result = result;
    if (record?.state !== 'ran' || record.result !== result) await state.setCall(ref, { state: 'ran', result, at: Date.now() });
    this.report(ids, statusOf(result), await this.deps.sender.answer(ref, result));
  }

  /** The history record of a run that was cut off, unless the run got to write its own. */
  private async recordLost(record: RunningRecord): Promise<void> {
    if (await this.deps.history.get(record.invocationId)) return;
    const now = Date.now();
    const entry: InvocationRecord = {
      id: record.invocationId,
      functionId: record.functionId,
      functionVersion: record.functionVersion,
      status: 'error',
      exitCode: null,
      signal: null,
      error: LOST_MESSAGE,
      errorCode: LOST_CODE,
      executor: record.executor,
      keyId: null,
      queueMs: 0,
      acquireMs: 0,
      runMs: 0,
      durationMs: Math.max(0, now - record.startedAt),
      stdinBytes: record.stdinBytes,
      stdoutBytes: 0,
      stderrBytes: 0,
      truncated: false,
      outputTruncated: false,
      startedAt: record.startedAt,
      finishedAt: now,
    };
    this.deps.history.record(entry, { stdout: Buffer.alloc(0), stderr: Buffer.alloc(0) });
  }

  private report(ids: { serviceId: string; callId: string }, status: string, answered: Awaited<ReturnType<ResultSender['answer']>>): void {
    const { metrics, log } = this.deps;
    const service = ids.serviceId;
    switch (answered.kind) {
      case 'answered':
        metrics.answered.inc({ service, status });
        log.info({ ...ids, status, tx: answered.hash, block: answered.block.toString() }, 'job call answered');
        return;
      case 'completed-elsewhere':
        metrics.skipped.inc({ service, reason: 'completed' });
        return;
      case 'refused':
        metrics.failed.inc({ service, reason: 'refused' });
        log.warn({ ...ids, reason: answered.reason }, 'the contract refused our answer to a job call');
        return;
    }
  }
}

function runningRecord(invocation: Invocation): RunningRecord {
  const now = Date.now();
  return {
    state: 'running',
    invocationId: invocation.id,
    functionId: invocation.functionId,
    functionVersion: invocation.functionVersion ?? null,
    executor: invocation.executor,
    stdinBytes: invocation.stdin.length,
    startedAt: now,
    at: now,
  };
}

/** The answer to a call whose run was cut off. */
export function lostResult(record: RunningRecord): JobResult {
  return {
    invocationId: record.invocationId,
    status: 'failed',
    exitCode: null,
    signal: null,
    stdout: new Uint8Array(),
    stderr: new Uint8Array(),
    truncated: false,
    errorCode: LOST_CODE,
    error: LOST_MESSAGE,
    durationMs: 0,
  };
}

function statusOf(result: Hex): string {
  try {
    return decodeResult(hexToBytes(result)).status;
  } catch {
    return 'unknown';
  }
}
