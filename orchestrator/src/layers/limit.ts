/**
 * The concurrency limit as a layer: an invocation waits for a slot (bounded queue; a full queue is
 * FAAS_ERR_SATURATED) and keeps it until its sandbox has been released, so that a burst cannot
 * outrun sandbox removal.
 */
import type { Dispatch, Layer } from '../dispatch.js';
import type { ConcurrencyLimiter } from '../limiter.js';

export function limitLayer(limiter: ConcurrencyLimiter): Layer {
  return (next: Dispatch): Dispatch =>
    async (invocation, context) => {
      const queued = performance.now();
      const release = await limiter.acquire(context.signal);
      context.phases.queueMs = round(performance.now() - queued);
      let outcome: Awaited<ReturnType<Dispatch>>;
      try {
        outcome = await next(invocation, context);
      } catch (err) {
        release();
        throw err;
      }
      outcome.released.finally(release).catch(() => undefined);
      return outcome;
    };
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
