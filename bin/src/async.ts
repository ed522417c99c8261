/**
 * The worker of asynchronous invocations, as `faas serve` runs it (FAAS_ASYNC_WORKER, on by
 * default): the gateway's front door resolves each queued request again when it runs, the
 * orchestrator runs it, the worker's metrics join the orchestrator's registry, and an invocation
 * that ends with a callback URL has its final state posted by the callback dispatcher (the body
 * is the invocation as `GET /invocations/{id}` answers it).
 */
import type { Config, LoggerFactory } from '@faas/common';
import { asyncFrontDoor } from '@faas/gateway';
import type { Orchestrator } from '@faas/orchestrator';
import type { AsyncJob, Store } from '@faas/store';
import { AsyncWorker, type CallbackDispatcher, createCallbackDispatcher } from '@faas/worker';

export interface AsyncParts {
  worker: AsyncWorker;
  callbacks: CallbackDispatcher;
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
  const deliver = (job: AsyncJob): void => {
    const url = job.callbackUrl;
    if (url === null) return;
    frontDoor
      .describe(job.id)
      .then((answer) => {
        if (!answer) return;
        // One delivery per final state: a redriven invocation that ends again is posted again.
        return callbacks.deliver({ invocationId: job.id, url, body: JSON.stringify(answer), deliveryId: `${job.id}.${answer.attempts}` });
      })
      .catch((err: unknown) =>
        log.warn({ invocationId: job.id, err: (err as Error).message }, 'could not hand an ended invocation to its callback'),
      );
  };
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
  return { worker, callbacks };
}
