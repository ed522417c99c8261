/**
 * The worker of asynchronous invocations, as `faas serve` runs it (FAAS_ASYNC_WORKER, on by
 * default): the gateway's front door resolves each queued request again when it runs, the
 * orchestrator runs it, and the worker's metrics join the orchestrator's registry.
 */
import type { Config, LoggerFactory } from '@faas/common';
import { asyncFrontDoor } from '@faas/gateway';
import type { Orchestrator } from '@faas/orchestrator';
import type { Store } from '@faas/store';
import { AsyncWorker } from '@faas/worker';

export function createAsyncWorker(config: Readonly<Config>, orchestrator: Orchestrator, store: Store, logs: LoggerFactory): AsyncWorker | undefined {
  if (!config.async.worker) return undefined;
  return new AsyncWorker({
    queue: store.queue,
    orchestrator,
    frontDoor: asyncFrontDoor(config, store),
    concurrency: config.async.concurrency,
    slots: config.maxConcurrency,
    leaseMs: config.async.leaseMs,
    backoff: { baseMs: config.async.retryBaseMs, maxMs: config.async.retryMaxMs },
    log: logs.for('worker'),
    registry: orchestrator.metrics.registry,
  });
}
