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
import { FaasError, type Invocation } from '@faas/common';
import { RunningCap } from './running-cap.js';

export class KeyLimit extends RunningCap {
  protected capOf(invocation: Invocation): { id: string; cap: number } | undefined {
    const cap = invocation.keyMaxConcurrency;
    const id = invocation.keyId;
    return cap === undefined || id === undefined ? undefined : { id, cap };
  }

  protected refusal(id: string, now: number, cap: number): FaasError {
    return new FaasError(
      'FAAS_ERR_KEY_CONCURRENCY_LIMIT',
      `API key "${id}" already has ${now} invocations running or waiting for a slot, its concurrency cap of ${cap}; retry when one has finished`,
    );
  }
}
