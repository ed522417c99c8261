/**
 * The worker of asynchronous invocations, as `faas serve` runs it (FAAS_ASYNC_WORKER, on by
 * default): the gateway's front door resolves each queued request again when it runs, the
 * orchestrator runs it, the worker's metrics join the orchestrator's registry, and an invocation
 * that ends with a callback URL has its final state posted by the callback dispatcher (the body
 * is the invocation as `GET /invocations/{id}` answers it), handed over so that no crash loses it
 * (worker/src/callbacks/handoff.ts).
 */
import type { Config, LoggerFactory } from '@faas/common';
import { asyncFrontDoor } from '@faas/gateway';
import type { Orchestrator } from '@faas/orchestrator';
import type { AsyncJob, Store } from '@faas/store';
import { AsyncWorker, type CallbackDispatcher, CallbackHandoff, createCallbackDispatcher } from '@faas/worker';

export interface AsyncParts {
  worker: AsyncWorker;
  callbacks: CallbackDispatcher;
  /** At start-up, after the worker's: resumes the deliveries and hands over the callbacks a stopped process left. */
  resumeCallbacks(): Promise<void>;
}

export function createAsyncWorker(
  config: Readonly<Config>,
  orchestrator: Orchestrator,
  store: Store,
  logs: LoggerFactory,
): AsyncParts | undefined {
  if (!config.async.worker) return undefined;
  const log = logs.for('worker');
  const frontDoor = asyncFrontDoor(config, store);
  const callbacks = createCallbackDispatcher(config, store.kv, logs.for('callbacks'));
  // One delivery per final state (a redriven invocation that ends again is posted again), marked
  // in the queue with the final state until the dispatcher has recorded it.
  const handoff = new CallbackHandoff({ queue: store.queue, dispatcher: callbacks, describe: (id) => frontDoor.describe(id), log });
  const deliver = (job: AsyncJob): void => void handoff.handOff(job);
  const worker = new AsyncWorker({
    queue: store.queue,
    orchestrator,
    frontDoor,
    concurrency: config.async.concurrency,
    slots: config.maxConcurrency,
    leaseMs: config.async.leaseMs,
    backoff: { baseMs: config.async.retryBaseMs, maxMs: config.async.retryMaxMs },
    log,
    registry: orchestrator.metrics.registry,
    onFinal: deliver,
  });
  return {
    worker,
    callbacks,
    async resumeCallbacks() {
      await callbacks.resumePending();
      await handoff.resume();
    },
  };
}
