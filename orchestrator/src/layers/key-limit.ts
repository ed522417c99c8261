/**
 * An API key's cap on invocations under way at once (the key's `max_concurrency`, or the platform's
 * FAAS_KEY_MAX_CONCURRENCY, resolved by the front door into `keyMaxConcurrency`), as a layer outside
 * the function's cap and the platform's limit: one more than the cap is refused at once with
 * FAAS_ERR_KEY_CONCURRENCY_LIMIT (429), before it takes a place in the platform's queue, so one
 * tenant cannot hold every slot and keep the others waiting or refused. A key's rate limit bounds
 * requests per second, not how long each holds a slot; this bounds the slots.
 *
 * It counts the same span as the function's cap (function-limit.ts): from admission until the
 * outcome (or the fault), waiting for a slot included; cleanup after the answer does not hold it.
 * An invocation without a cap (the admin key, open mode, a Tangle job call) is not counted.
 */
import { FaasError } from '@faas/common';
import type { Dispatch, Layer } from '../dispatch.js';

export class KeyLimit {
  private readonly running = new Map<string, number>();

  /** Capped invocations of key `keyId` under way now. */
  active(keyId: string): number {
    return this.running.get(keyId) ?? 0;
  }

  readonly layer: Layer = (next: Dispatch): Dispatch => {
    return async (invocation, context) => {
      const cap = invocation.keyMaxConcurrency;
      const id = invocation.keyId;
      if (cap === undefined || id === undefined) return next(invocation, context);
      const now = this.active(id);
      if (now >= cap) {
        throw new FaasError(
          'FAAS_ERR_KEY_CONCURRENCY_LIMIT',
          `API key "${id}" already has ${now} invocations running or waiting for a slot, its concurrency cap of ${cap}; retry when one has finished`,
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
