/**
 * The line between a function's outcome and a platform fault, drawn the same way by every
 * executor. A sandbox that died, was killed from outside or lost its engine or VMM is never the
 * function's result (no exit code, no signal): it is FAAS_ERR_SANDBOX_LOST, and its `started`
 * detail says whether the command may have started. `started: false` is a promise that nothing of
 * the invocation ran, which is what lets policy replace the sandbox and run it elsewhere.
 */
import { FaasError, isFaasError } from '@faas/common';
import type { ExecutorEvent } from './executor.js';

/** A sandbox that died under an invocation; `started` false means the command certainly never ran. */
export function sandboxLost(message: string, started: boolean, cause?: unknown): FaasError {
  return new FaasError('FAAS_ERR_SANDBOX_LOST', message, { details: { started }, ...(cause === undefined ? {} : { cause }) });
}

/**
 * What a fault says about the command: false when it certainly did not start, true when it may
 * have, undefined when the fault does not say (it did not come from invoke).
 */
export function faultStarted(err: unknown): boolean | undefined {
  if (!isFaasError(err)) return undefined;
  const started = err.details?.started;
  return typeof started === 'boolean' ? started : undefined;
}

/** True for a sandbox that died before its command started: running the invocation elsewhere is safe. */
export function lostBeforeStart(err: unknown): boolean {
  return isFaasError(err, 'FAAS_ERR_SANDBOX_LOST') && faultStarted(err) === false;
}

/**
 * A sandbox that cannot be started for a reason that trying again will not change: its guest
 * agent cannot be executed (the container's init exits 126 or 127), the runtime or engine refuses
 * the sandbox's spec. FAAS_ERR_SANDBOX_FAILURE with `started` false, reported at once, never
 * retried. One that died or whose agent hung up while it started is `sandboxLost(…, false)`
 * instead, which policy replaces (`lostBeforeStart`).
 */
export function startRefused(message: string, cause?: unknown): FaasError {
  return new FaasError('FAAS_ERR_SANDBOX_FAILURE', message, { details: { started: false }, ...(cause === undefined ? {} : { cause }) });
}

/**
 * A fault of a sandbox's start (acquire): no command was sent to it, so a platform fault about the
 * sandbox (a 502) says `started` false. Other faults (the image not found, the backend down) are
 * not the sandbox's, and pass unchanged.
 */
export function failedBeforeStart(err: unknown): unknown {
  if (!(err instanceof FaasError) || err.status !== 502 || faultStarted(err) === false) return err;
  return new FaasError(err.code, err.message, { details: { ...(err.details ?? {}), started: false }, cause: err.cause ?? err });
}

/** The same fault with `started` set, unless it already says. */
export function withStarted(err: unknown, started: boolean): unknown {
  if (!(err instanceof FaasError) || faultStarted(err) !== undefined) return err;
  return new FaasError(err.code, err.message, { details: { ...(err.details ?? {}), started }, cause: err.cause ?? err });
}

/** The listeners of one executor's `watch`; a listener that throws never stops the others. */
export class ExecutorWatchers {
  private readonly listeners = new Set<(event: ExecutorEvent) => void>();

  add(listener: (event: ExecutorEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(event: ExecutorEvent): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(event);
      } catch {
        // A watcher's bug must not hide the event from the others.
      }
    }
  }

  clear(): void {
    this.listeners.clear();
  }
}
