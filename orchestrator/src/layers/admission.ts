/**
 * Admission and shutdown as a layer: no invocation starts once draining began, every running one
 * is tracked until its sandbox is released (drain waits on them), and a shutdown that runs out of
 * grace aborts them all.
 */
import { FaasError } from '@faas/common';
import type { Dispatch, Layer } from '../dispatch.js';

export class Admission {
  draining = false;
  private readonly shutdown = new AbortController();
  private readonly inflight = new Set<Promise<unknown>>();

  get pending(): number {
    return this.inflight.size;
  }

  /** The layer: refuses while draining and links the invocation's signal to shutdown. */
  readonly layer: Layer = (next: Dispatch): Dispatch => {
    return async (invocation, context) => {
      if (this.draining) throw new FaasError('FAAS_ERR_SHUTTING_DOWN');
      // One controller per invocation, fed by the caller and by shutdown.
      const abort = new AbortController();
      const unlink = linkAbort(abort, context.signal, this.shutdown.signal);
      let done!: () => void;
      this.track(new Promise<void>((resolve) => (done = resolve)));
      try {
        const outcome = await next(invocation, { ...context, signal: abort.signal });
        outcome.released.finally(done).catch(() => undefined);
        return outcome;
      } catch (err) {
        done();
        throw err;
      } finally {
        unlink();
      }
    };
  };

  /** Stops admitting; resolves once every tracked invocation is released or `graceMs` passed (then aborts them). */
  async drain(graceMs: number, onGraceElapsed: (remaining: number) => void): Promise<void> {
    this.draining = true;
    const settled = Promise.allSettled([...this.inflight]);
    const aborted = new Promise<boolean>((resolve) => {
      if (this.shutdown.signal.aborted) resolve(true);
      this.shutdown.signal.addEventListener('abort', () => resolve(true), { once: true });
    });
    const timedOut = await Promise.race([
      settled.then(() => false),
      aborted,
      new Promise<boolean>((resolve) => setTimeout(() => resolve(true), graceMs).unref()),
    ]);
    if (timedOut) {
      onGraceElapsed(this.inflight.size);
      this.abortAll();
      await Promise.allSettled([...this.inflight]);
    }
  }

  /** Ends the grace now: every running invocation is killed (its outcome is `cancelled`). */
  abortAll(): void {
    if (!this.shutdown.signal.aborted) this.shutdown.abort(new FaasError('FAAS_ERR_SHUTTING_DOWN'));
  }

  get shuttingDown(): boolean {
    return this.shutdown.signal.aborted;
  }

  private track(promise: Promise<unknown>): void {
    this.inflight.add(promise);
    promise.finally(() => this.inflight.delete(promise)).catch(() => undefined);
  }
}

/** Aborts `target` when any source aborts; returns the function that detaches the listeners. */
export function linkAbort(target: AbortController, ...sources: Array<AbortSignal | undefined>): () => void {
  const detach: Array<() => void> = [];
  for (const source of sources) {
    if (!source) continue;
    if (source.aborted) {
      target.abort(source.reason);
      break;
    }
    const onAbort = () => target.abort(source.reason);
    source.addEventListener('abort', onAbort, { once: true });
    detach.push(() => source.removeEventListener('abort', onAbort));
  }
  return () => {
    for (const fn of detach) fn();
  };
}
