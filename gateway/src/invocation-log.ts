/**
 * The one log line an answered invocation leaves. A caller that hung up before the answer is
 * logged as a cancellation (info), which is what it is: neither the function's failure nor the
 * platform's.
 */
import type { InvocationPhases, OutcomeStatus } from '@faas/common';
import type { FastifyBaseLogger } from 'fastify';

export interface FinishedInvocation {
  invocationId: string;
  functionId: string;
  status?: OutcomeStatus;
  exitCode: number | null;
  signal?: string | null;
  durationMs: number;
  phases?: InvocationPhases;
}

export function logInvocationEnd(log: FastifyBaseLogger, finished: FinishedInvocation, signal: AbortSignal): void {
  if (signal.aborted) {
    log.info({ ...finished, cancelled: true }, 'invocation cancelled: the client closed the connection; the function was killed');
  } else {
    log.info(finished, 'invocation finished');
  }
}
