/**
 * The worker of asynchronous invocations: runs them from the durable queue, retries platform
 * faults with backoff, dead-letters what used up its attempts (worker.ts, retry.ts, metrics.ts),
 * and delivers final results to callback URLs (callbacks/).
 */
export * from './callbacks/index.js';
export { type AttemptLabel, WorkerMetrics } from './metrics.js';
export { type AttemptResult, type BackoffPolicy, BUSY_FAULTS, type Decision, decide, RETRYABLE_FAULTS, retryDelayMs } from './retry.js';
export { AsyncWorker, type AsyncWorkerOptions, type WorkerFrontDoor, type WorkerOrchestrator } from './worker.js';
