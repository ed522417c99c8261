/**
 * Outcomes to HTTP, in one place. A function that ran answers 200 with an `InvocationResult`
 * whatever its exit; a timeout is 504 FAAS_ERR_TIMEOUT with the output so far; an invocation
 * cancelled by shutdown is 503 FAAS_ERR_SHUTTING_DOWN. Platform faults are thrown by the core and
 * mapped by the error handler.
 */
import { FaasError, type InvocationResult, type Outcome } from '@faas/common';

export type HttpAnswer = { status: 200; body: InvocationResult } | { status: number; error: FaasError };

/** `functionVersion`: the registered function's version that ran; undefined for an ad-hoc request. */
export function toInvocationResult(outcome: Outcome, functionVersion?: number): InvocationResult {
  return {
    request_id: outcome.functionId,
    invocation_id: outcome.invocationId,
    response_base64: outcome.stdout.toString('base64'),
    logs_base64: outcome.combined.toString('base64'),
    stderr_base64: outcome.stderr.toString('base64'),
    error: outcome.error,
    exit_code: outcome.exitCode,
    signal: outcome.signal,
    truncated: outcome.truncated,
    duration_ms: outcome.durationMs,
    executor: outcome.executor,
    function_version: functionVersion ?? null,
    phases: { queue_ms: outcome.phases.queueMs, acquire_ms: outcome.phases.acquireMs, run_ms: outcome.phases.runMs },
  };
}

export function toHttpAnswer(outcome: Outcome, timeoutMs: number, functionVersion?: number): HttpAnswer {
  switch (outcome.status) {
    case 'timed_out':
      return {
        status: 504,
        error: new FaasError('FAAS_ERR_TIMEOUT', `the function did not finish within ${timeoutMs} ms and was killed`, {
          details: {
            invocation_id: outcome.invocationId,
            request_id: outcome.functionId,
            timeout_ms: timeoutMs,
            logs_base64: outcome.combined.toString('base64'),
            truncated: outcome.truncated,
          },
        }),
      };
    case 'cancelled':
      return {
        status: 503,
        error: new FaasError('FAAS_ERR_SHUTTING_DOWN', 'the invocation was cancelled before the function finished; it was killed', {
          details: { invocation_id: outcome.invocationId },
        }),
      };
    default:
      return { status: 200, body: toInvocationResult(outcome, functionVersion) };
  }
}
