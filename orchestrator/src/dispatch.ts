/**
 * The shape every layer of policy shares: a dispatch runs one invocation to its outcome, and a
 * layer wraps a dispatch to add one concern (admission, the concurrency limit, later metrics and
 * retries), in the manner of undici's interceptors. A new concern is a new layer, not an edit of
 * the core.
 */
import type { Invocation, InvocationPhases, Outcome } from '@faas/common';

export interface DispatchContext {
  /** Aborted when the caller goes away or the platform shuts down; the invocation is killed. */
  signal: AbortSignal;
  /** performance.now() when the invocation was accepted. */
  started: number;
  /** Filled in by the layers as the phases pass. */
  phases: InvocationPhases;
  /** The caller's `InvokeOptions.requeued`: true for a fault that puts the invocation back in its caller's queue. */
  requeued?: (err: unknown) => boolean;
}

export type Dispatch = (invocation: Invocation, context: DispatchContext) => Promise<Outcome>;

export type Layer = (next: Dispatch) => Dispatch;

/** `compose(core, a, b)` runs a, then b, then core: the first layer is the outermost. */
export function compose(core: Dispatch, ...layers: Layer[]): Dispatch {
  return layers.reduceRight<Dispatch>((next, layer) => layer(next), core);
}
