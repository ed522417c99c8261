/**
 * A cap on invocations under way at once per subject (a function, an API key), as a layer: one
 * more than the subject's cap is refused at once, before it takes a place in the platform's queue.
 * An invocation counts from admission until its outcome (or its fault); sandbox cleanup after the
 * answer does not hold the slot. function-limit.ts and key-limit.ts say what the subject is.
 */
import type { FaasError, Invocation } from '@faas/common';
import type { Dispatch, Layer } from '../dispatch.js';

export abstract class RunningCap {
  private readonly running = new Map<string, number>();

  /** Counted invocations of subject `id` under way now. */
  active(id: string): number {
    return this.running.get(id) ?? 0;
  }

  /** The invocation's subject and its cap; undefined: not capped, not counted. */
  protected abstract capOf(invocation: Invocation): { id: string; cap: number } | undefined;

  /** The refusal of one more than `cap` while `now` are under way. */
  protected abstract refusal(id: string, now: number, cap: number): FaasError;

  readonly layer: Layer = (next: Dispatch): Dispatch => {
    return async (invocation, context) => {
      const capped = this.capOf(invocation);
      if (!capped) return next(invocation, context);
      const { id, cap } = capped;
      const now = this.active(id);
      if (now >= cap) throw this.refusal(id, now, cap);
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
