/**
 * A registered function's own cap on invocations running at once (`max_concurrency`), as a layer
 * outside the platform's limit: one more than the cap is refused at once with
 * FAAS_ERR_CONCURRENCY_LIMIT (429), before it takes a place in the platform's queue, so a busy
 * function cannot crowd the others out. An invocation counts until it has its outcome (or its
 * fault); sandbox cleanup after the answer does not hold the function's slot, so a caller that
 * invokes again as soon as it has its answer is not refused.
 */
import { FaasError, type Invocation } from '@faas/common';
import { RunningCap } from './running-cap.js';

export class FunctionLimit extends RunningCap {
  protected capOf(invocation: Invocation): { id: string; cap: number } | undefined {
    const cap = invocation.maxConcurrency;
    return cap === undefined ? undefined : { id: invocation.functionId, cap };
  }

  protected refusal(id: string, now: number): FaasError {
    return new FaasError(
      'FAAS_ERR_CONCURRENCY_LIMIT',
      `function "${id}" already runs ${now} invocations, its max_concurrency; retry when one has finished`,
    );
  }
}
