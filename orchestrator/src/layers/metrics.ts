/**
 * Prometheus metrics as a layer (prom-client), outermost so that refusals (saturated, shutting
 * down) are counted too. Per invocation: a counter by function, executor and outcome, the total
 * duration (by executor and outcome, and by function for those that were admitted), and each phase
 * (queue, acquire, run; release once the sandbox is given back). On scrape: queue depth, running
 * invocations, and the warm pools' sizes, hits, misses and evictions, read from the orchestrator
 * through `collect()`. Names and labels: docs/metrics.md.
 *
 * Each orchestrator owns its registry (never prom-client's global one), so several platforms can
 * live in one process. Function ids are chosen by callers: the first `maxFunctions` distinct ids
 * get their own `function` label value, every later one is counted as `_other`; the counter and the
 * per-function histogram share that one bound, so an id has the same label value in both.
 */
import { type ExecutorKind, FaasError, type Invocation, type Outcome } from '@faas/common';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { Dispatch, Layer } from '../dispatch.js';
import type { PoolStats } from '../pool.js';

/** Distinct `function` label values kept before the rest are counted as `_other`. */
/** prom-client's default gauges whose names end in `_total` (see the constructor). */
const REDUNDANT_TOTALS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

export const DEFAULT_MAX_FUNCTION_LABELS = 1000;
export const OTHER_FUNCTION = '_other';

/** Seconds, from a millisecond to a minute. */
export const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/**
 * Refusals: the invocation never ran, and was answered at once (or, for a drain, after its wait in
 * the queue). They are counted, but kept out of the per-function duration: a burst of near-zero
 * refusals would pull a function's p99 down exactly when the platform is overloaded and its
 * callers wait longest, and a function label cannot tell them apart from the invocations that ran.
 * (Lambda keeps throttles out of Duration the same way.) A refusal handed back to the
 * asynchronous queue (`requeued`) is one of these too.
 */
const REFUSALS: ReadonlySet<string> = new Set([
  'FAAS_ERR_SATURATED',
  'FAAS_ERR_KEY_CONCURRENCY_LIMIT',
  'FAAS_ERR_CONCURRENCY_LIMIT',
  'FAAS_ERR_SHUTTING_DOWN',
]);

/** What the gauges read on each scrape. */
export interface MetricsSources {
  stats(): { running: number; queued: number };
  /** Pool figures keyed `executor/isolation`. */
  poolStats(): Record<string, PoolStats>;
}

export interface MetricsOptions {
  sources: MetricsSources;
  maxFunctionLabels?: number;
  /** prom-client's process metrics (CPU, memory, event loop, GC); default true. */
  processMetrics?: boolean;
}

export class Metrics {
  readonly registry = new Registry();
  private readonly functions = new Set<string>();
  private readonly maxFunctions: number;
  private readonly invocations: Counter<'function' | 'executor' | 'outcome' | 'code'>;
  private readonly duration: Histogram<'executor' | 'outcome'>;
  private readonly functionDuration: Histogram<'function'>;
  private readonly phase: Histogram<'executor' | 'phase'>;

  constructor(options: MetricsOptions) {
    const { sources } = options;
    const registers = [this.registry];
    this.maxFunctions = options.maxFunctionLabels ?? DEFAULT_MAX_FUNCTION_LABELS;
    this.invocations = new Counter({
      name: 'faas_invocations_total',
      help: 'Invocations by function, executor and outcome (completed, out_of_memory, timed_out, cancelled, error with its registry code, or requeued with it: refused while busy and back in the async queue).',
      labelNames: ['function', 'executor', 'outcome', 'code'],
      registers,
    });
    this.duration = new Histogram({
      name: 'faas_invocation_duration_seconds',
      help: 'From accepting an invocation to its outcome (or its fault), in seconds.',
      labelNames: ['executor', 'outcome'],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.functionDuration = new Histogram({
      name: 'faas_function_duration_seconds',
      help: 'From accepting an invocation to its outcome (or its fault), in seconds, by function; refusals (saturated, concurrency limit, shutting down) are not observed.',
      // One label only: up to maxFunctions × 18 series (15 buckets, +Inf, _sum, _count). The buckets
      // of faas_invocation_duration_seconds, so a function's quantiles compare with the platform's
      // on one dashboard, and 60 s is above the default timeout (30 s); a longer invocation falls in
      // +Inf only, where _sum / _count still give its mean.
      labelNames: ['function'],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.phase = new Histogram({
      name: 'faas_invocation_phase_seconds',
      help: 'Time spent in each phase of an invocation (queue, acquire, run, release), in seconds.',
      labelNames: ['executor', 'phase'],
      buckets: DURATION_BUCKETS,
      registers,
    });
    new Gauge({
      name: 'faas_queue_depth',
      help: 'Invocations waiting for a concurrency slot.',
      registers,
      collect() {
        this.set(sources.stats().queued);
      },
    });
    new Gauge({
      name: 'faas_running_invocations',
      help: 'Invocations holding a concurrency slot (running, or releasing their sandbox).',
      registers,
      collect() {
        this.set(sources.stats().running);
      },
    });
    const poolLabels = ['executor', 'isolation'] as const;
    const perPool = (read: (s: PoolStats) => number) =>
      function (this: Gauge<(typeof poolLabels)[number]> | Counter<(typeof poolLabels)[number]>) {
        this.reset();
        for (const [key, stats] of Object.entries(sources.poolStats())) {
          const [executor = key, isolation = ''] = key.split('/');
          const labels = { executor, isolation };
          if (this instanceof Gauge) this.set(labels, read(stats));
          else this.inc(labels, read(stats));
        }
      };
    new Gauge({
      name: 'faas_pool_idle_sandboxes',
      help: 'Warm sandboxes waiting in a pool.',
      labelNames: poolLabels,
      registers,
      collect: perPool((s) => s.idle),
    });
    new Gauge({
      name: 'faas_pool_starting_sandboxes',
      help: 'Sandboxes a pool is starting.',
      labelNames: poolLabels,
      registers,
      collect: perPool((s) => s.starting),
    });
    new Counter({
      name: 'faas_pool_hits_total',
      help: 'Acquires served by a warm sandbox.',
      labelNames: poolLabels,
      registers,
      collect: perPool((s) => s.hits),
    });
    new Counter({
      name: 'faas_pool_misses_total',
      help: 'Acquires that had to start a sandbox.',
      labelNames: poolLabels,
      registers,
      collect: perPool((s) => s.misses),
    });
    new Counter({
      name: 'faas_pool_evictions_total',
      help: 'Idle sandboxes destroyed to make room for a more recently used key.',
      labelNames: poolLabels,
      registers,
      collect: perPool((s) => s.evictions),
    });
    new Counter({
      name: 'faas_pool_lost_total',
      help: 'Idle sandboxes found dead (killed from outside, lost with their engine) and replaced.',
      labelNames: poolLabels,
      registers,
      collect: perPool((s) => s.lost),
    });
    new Counter({
      name: 'faas_pool_stale_total',
      help: 'Sandboxes destroyed, never handed out again, because their image name came to name another image (re-tagged, rebuilt, removed).',
      labelNames: poolLabels,
      registers,
      collect: perPool((s) => s.stale),
    });
    new Gauge({
      name: 'faas_pool_rebuilding',
      help: '1 while a pool is refilled after an engine outage or lost spares, else 0.',
      labelNames: poolLabels,
      registers,
      collect: perPool((s) => (s.rebuilding ? 1 : 0)),
    });
    if (options.processMetrics ?? true) {
      collectDefaultMetrics({ register: this.registry });
      // prom-client's totals of its per-type gauges are gauges named `_total`, which the exposition
      // format keeps for counters (`promtool check metrics` refuses them); the per-type gauges
      // (`nodejs_active_handles{type}`, ...) stay, and `sum()` of one is its total.
      for (const name of REDUNDANT_TOTALS) this.registry.removeSingleMetric(name);
    }
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The text exposition of every metric. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  /** The layer: counts and times each invocation that passes through it. */
  readonly layer: Layer = (next: Dispatch): Dispatch => {
    return async (invocation, context) => {
      let outcome: Outcome;
      try {
        outcome = await next(invocation, context);
      } catch (err) {
        const { executor } = invocation;
        const fn = this.functionLabel(invocation);
        const seconds = (performance.now() - context.started) / 1000;
        if (context.requeued?.(err)) {
          // Refused while busy and back in its caller's queue: no end, and no fault of the invocation.
          const code = err instanceof FaasError ? err.code : 'FAAS_ERR_INTERNAL';
          this.invocations.inc({ function: fn, executor, outcome: 'requeued', code });
          this.duration.observe({ executor, outcome: 'requeued' }, seconds);
        } else if (!(err instanceof FaasError) && context.signal.aborted) {
          // The caller went away while the invocation waited for a slot: cancelled, not a fault.
          this.invocations.inc({ function: fn, executor, outcome: 'cancelled' });
          this.duration.observe({ executor, outcome: 'cancelled' }, seconds);
          this.functionDuration.observe({ function: fn }, seconds);
        } else {
          const code = err instanceof FaasError ? err.code : 'FAAS_ERR_INTERNAL';
          this.invocations.inc({ function: fn, executor, outcome: 'error', code });
          this.duration.observe({ executor, outcome: 'error' }, seconds);
          // A fault after admission (a sandbox that failed or died, an engine away) is time its caller waited.
          if (!REFUSALS.has(code)) this.functionDuration.observe({ function: fn }, seconds);
        }
        throw err;
      }
      this.record(invocation, outcome);
      return outcome;
    };
  };

  private record(invocation: Invocation, outcome: Outcome): void {
    const executor: ExecutorKind = outcome.executor;
    const fn = this.functionLabel(invocation);
    this.invocations.inc({ function: fn, executor, outcome: outcome.status });
    this.duration.observe({ executor, outcome: outcome.status }, outcome.durationMs / 1000);
    this.functionDuration.observe({ function: fn }, outcome.durationMs / 1000);
    const { phases } = outcome;
    this.phase.observe({ executor, phase: 'queue' }, phases.queueMs / 1000);
    this.phase.observe({ executor, phase: 'acquire' }, phases.acquireMs / 1000);
    this.phase.observe({ executor, phase: 'run' }, phases.runMs / 1000);
    outcome.released
      .then(() => {
        if (phases.releaseMs !== undefined) this.phase.observe({ executor, phase: 'release' }, phases.releaseMs / 1000);
      })
      .catch(() => undefined);
  }

  private functionLabel(invocation: Invocation): string {
    const id = invocation.functionId;
    if (this.functions.has(id)) return id;
    if (this.functions.size >= this.maxFunctions) return OTHER_FUNCTION;
    this.functions.add(id);
    return id;
  }
}
