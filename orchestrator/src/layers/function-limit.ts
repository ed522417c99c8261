/**
 * A registered function's own cap on invocations running at once (`max_concurrency`), as a layer
 * outside the platform's limit: one more than the cap is refused at once with
 * FAAS_ERR_CONCURRENCY_LIMIT (429), before it takes a place in the platform's queue, so a busy
 * function cannot crowd the others out. An invocation counts until it has its outcome (or its
 * fault); sandbox cleanup after the answer does not hold the function's slot, so a caller that
 * invokes again as soon as it has its answer is not refused.
 */
import { FaasError } from '@faas/common';
import type { Dispatch, Layer } from '../dispatch.js';

export class FunctionLimit {
  private readonly running = new Map<string, number>();

  /** Invocations of `functionId` running now. */
  active(functionId: string): number {
    return this.running.get(functionId) ?? 0;
  }

  readonly layer: Layer = (next: Dispatch): Dispatch => {
    return async (invocation, context) => {
      const cap = invocation.maxConcurrency;
      if (cap === undefined) return next(invocation, context);
      const id = invocation.functionId;
      const now = this.active(id);
      if (now >= cap) {
        throw new FaasError(
          'FAAS_ERR_CONCURRENCY_LIMIT',
          `function "${id}" already runs ${now} invocations, its max_concurrency; retry when one has finished`,
        );
      }
      this.running.set(id, now + 1);
      try {
        return await next(invocation, context);
      } finally {
        const left = this.active(id) - 1;
        if (left > 0) this.running.set(id, left);
        else this.running.delete(id);
      }
    };
  };
}
