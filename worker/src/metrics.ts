/**
 * Prometheus metrics of asynchronous invocations (docs/metrics.md "Asynchronous invocations"),
 * registered in the orchestrator's registry so that `GET /metrics` shows them beside the rest.
 * The gauges read the queue on each scrape (one read shared by all of them); the counters count
 * what this process's worker did.
 */
import type { QueueStats, QueueStore } from '@faas/store';
import { Counter, Gauge, type Registry } from 'prom-client';

/** How an attempt ended, for the worker: the invocation's next step. */
export type AttemptLabel = 'succeeded' | 'failed' | 'retried' | 'dead' | 'cancelled' | 'released' | 'lost';

/** A scrape reads the queue once, whatever number of gauges ask. */
const STATS_TTL_MS = 250;

export class WorkerMetrics {
  private readonly attempts: Counter<'result'>;
  private readonly deadLettered: Counter;
  private cached: { at: number; stats: Promise<QueueStats> } | undefined;

  constructor(registry: Registry, queue: QueueStore) {
    const registers = [registry];
    const stats = (): Promise<QueueStats> => {
      const now = Date.now();
      if (!this.cached || now - this.cached.at > STATS_TTL_MS) this.cached = { at: now, stats: queue.stats(now) };
      return this.cached.stats;
    };
    new Gauge({
      name: 'faas_async_queue_depth',
      help: 'Asynchronous invocations queued: waiting for a worker, or for the backoff of a retry.',
      registers,
      async collect() {
        this.set((await stats()).queued);
      },
    });
    new Gauge({
      name: 'faas_async_oldest_queued_age_seconds',
      help: 'Age of the oldest queued asynchronous invocation, from its acceptance; 0 when none waits.',
      registers,
      async collect() {
        const { oldestQueuedAt } = await stats();
        this.set(oldestQueuedAt === null ? 0 : Math.max(0, (Date.now() - oldestQueuedAt) / 1000));
      },
    });
    new Gauge({
      name: 'faas_async_running_invocations',
      help: 'Asynchronous invocations running (leased by a worker).',
      registers,
      async collect() {
        this.set((await stats()).running);
      },
    });
    new Gauge({
      name: 'faas_async_dead_letters',
      help: 'Asynchronous invocations that used up their attempts and wait in the dead letters.',
      registers,
      async collect() {
        this.set((await stats()).dead);
      },
    });
    this.attempts = new Counter({
      name: 'faas_async_attempts_total',
      help: 'Attempts of asynchronous invocations by what followed: succeeded, failed, retried, dead, cancelled, released (the platform was busy: not counted as an attempt), lost (recovered after a stop).',
      labelNames: ['result'],
      registers,
    });
    this.deadLettered = new Counter({
      name: 'faas_async_dead_lettered_total',
      help: 'Asynchronous invocations that became dead letters.',
      registers,
    });
  }

  attempt(result: AttemptLabel, count = 1): void {
    this.attempts.inc({ result }, count);
    if (result === 'dead') this.deadLettered.inc(count);
  }
}
