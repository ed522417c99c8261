/**
 * The invocation core: `invoke(Invocation, {signal}) -> Outcome`, with policy as layers around one
 * dispatch (dispatch.ts). It knows nothing of HTTP; the gateway, the Tangle operator and the async
 * worker are front doors that build an `Invocation` and read an `Outcome`.
 *
 *   metrics -> history (record) -> redact secrets (mask their values in the output) -> admission
 *     (drain, shutdown abort) -> key limit (the API key's cap) -> function limit (max_concurrency)
 *     -> limit (slots, queue) -> core (sandbox, exec, outcome)
 *
 * Only platform faults throw (FaasError from the registry); how the function ended, including a
 * timeout, is the outcome's `status`.
 */
import {
  type Config,
  type ExecutorKind,
  FaasError,
  type Invocation,
  type InvocationPhases,
  type Logger,
  type Outcome,
  silentLogger,
} from '@faas/common';
import type { Executor } from '@faas/executor';
import { coreDispatch } from './core.js';
import { compose, type Dispatch, type DispatchContext } from './dispatch.js';
import { execPolicy } from './exec-policy.js';
import { Admission } from './layers/admission.js';
import { FunctionLimit } from './layers/function-limit.js';
import { type HistorySink, historyLayer } from './layers/history.js';
import { KeyLimit } from './layers/key-limit.js';
import { limitLayer } from './layers/limit.js';
import { Metrics, type MetricsOptions } from './layers/metrics.js';
import { redactSecretsLayer } from './layers/redact-secrets.js';
import { ConcurrencyLimiter } from './limiter.js';
import type { PoolStats } from './pool.js';
import { SandboxSource } from './sandboxes.js';

export type { HistoryEntry, HistorySink, HistoryStatus } from './layers/history.js';

export interface OrchestratorOptions {
  config: Readonly<Config>;
  executors: ReadonlyMap<ExecutorKind, Executor>;
  logger?: Logger;
  /** Options of the metrics layer (process metrics, the cap on function labels). */
  metrics?: Omit<MetricsOptions, 'sources'>;
  /**
   * Where every invocation is recorded (the store's `history`); output is cut to
   * `config.history.outputBytes` per stream. Without one, nothing is recorded.
   */
  history?: HistorySink;
}

export interface InvokeOptions {
  /** Aborted when the caller goes away; the invocation is killed and its outcome is `cancelled`. */
  signal?: AbortSignal;
  /**
   * For a caller with a queue of its own (the async worker): told of the fault an invocation ends
   * with, answers true when the caller puts the invocation back in that queue (the platform or the
   * function was busy). Such a fault is no end of the invocation: it is not recorded in the
   * history, and counted with outcome `requeued`, never `error`. Asked once per fault.
   */
  requeued?: (err: unknown) => boolean;
}

export interface OrchestratorStats {
  running: number;
  queued: number;
  cleanupPending: number;
  draining: boolean;
}

export class Orchestrator {
  private readonly limiter: ConcurrencyLimiter;
  private readonly log: Logger;
  private readonly admission = new Admission();
  private readonly keyLimit = new KeyLimit();
  private readonly functionLimit = new FunctionLimit();
  private readonly sandboxes: SandboxSource;
  private readonly dispatch: Dispatch;
  /** Prometheus metrics of this orchestrator, in a registry of its own (docs/metrics.md). */
  readonly metrics: Metrics;
  private draining_: Promise<void> | undefined;

  constructor(private readonly options: OrchestratorOptions) {
    const { config } = options;
    this.log = options.logger ?? silentLogger;
    for (const kind of config.allowedExecutors) {
      if (!options.executors.has(kind)) throw new Error(`executor "${kind}" is allowed but was not constructed`);
    }
    this.limiter = new ConcurrencyLimiter(config.maxConcurrency, config.maxQueue);
    this.sandboxes = new SandboxSource(
      options.executors,
      { minIdle: config.pool.minIdle, maxIdle: config.pool.maxIdle, idleMs: config.pool.idleMs, refillConcurrency: 2 },
      this.log,
    );
    const core = coreDispatch({
      executors: options.executors,
      sandboxes: this.sandboxes,
      policy: execPolicy(config.sandboxUser),
      defaultIsolation: config.pool.mode,
      log: this.log,
    });
    this.metrics = new Metrics({
      ...options.metrics,
      sources: { stats: () => this.stats, poolStats: () => this.poolStats },
    });
    const history = options.history
      ? [historyLayer({ sink: options.history, outputBytes: config.history.outputBytes, log: this.log })]
      : [];
    this.dispatch = compose(
      core,
      this.metrics.layer,
      ...history,
      redactSecretsLayer(),
      this.admission.layer,
      this.keyLimit.layer,
      this.functionLimit.layer,
      limitLayer(this.limiter),
    );
  }

  get stats(): OrchestratorStats {
    return {
      running: this.limiter.active,
      queued: this.limiter.waiting,
      cleanupPending: this.admission.pending,
      draining: this.admission.draining,
    };
  }

  get draining(): boolean {
    return this.admission.draining;
  }

  /** Initialises every executor (connects, removes leftovers) and starts spares for prewarmed images. */
  async start(): Promise<void> {
    await Promise.all([...this.options.executors.values()].map((e) => e.init()));
    const { config } = this.options;
    for (const image of config.pool.prewarmImages) {
      this.sandboxes.prewarm(config.executorType, config.pool.mode, {
        functionId: 'prewarm',
        image,
        limits: config.defaultLimits,
      });
    }
  }

  /** Pool figures per executor and isolation mode, for readiness output and benchmarks. */
  get poolStats(): Record<string, PoolStats> {
    return this.sandboxes.stats;
  }

  /**
   * True while an executor's backend is down, or its pools are being refilled after it came back
   * or after spares died: invocations are served meanwhile, with cold starts where no spare is ready.
   */
  get rebuilding(): boolean {
    return this.sandboxes.rebuilding;
  }

  /** Readiness: not draining, and the default executor's backend answers. */
  async ready(): Promise<void> {
    if (this.admission.draining) throw new FaasError('FAAS_ERR_SHUTTING_DOWN');
    const executor = this.options.executors.get(this.options.config.executorType);
    if (!executor) throw new FaasError('FAAS_ERR_EXECUTOR_UNAVAILABLE', `executor "${this.options.config.executorType}" is not built`);
    await executor.ping();
  }

  /**
   * Runs one invocation to its outcome. Throws only for platform faults: FAAS_ERR_SATURATED,
   * FAAS_ERR_KEY_CONCURRENCY_LIMIT, FAAS_ERR_CONCURRENCY_LIMIT, FAAS_ERR_SHUTTING_DOWN,
   * FAAS_ERR_EXECUTOR_NOT_ALLOWED, FAAS_ERR_IMAGE_NOT_FOUND, FAAS_ERR_SANDBOX_FAILURE and
   * FAAS_ERR_SANDBOX_LOST (both with details.started), FAAS_ERR_EXECUTOR_UNAVAILABLE.
   */
  invoke(invocation: Invocation, options: InvokeOptions = {}): Promise<Outcome> {
    const phases: InvocationPhases = { queueMs: 0, acquireMs: 0, runMs: 0 };
    const signal = options.signal ?? new AbortController().signal;
    const context: DispatchContext = { signal, started: performance.now(), phases };
    const ask = options.requeued;
    if (ask) {
      // Asked once per fault, so that the history, the metrics and the caller agree.
      let asked: { err: unknown; answer: boolean } | undefined;
      context.requeued = (err) => {
        if (!asked || asked.err !== err) asked = { err, answer: ask(err) };
        return asked.answer;
      };
    }
    return this.dispatch(invocation, context).catch((err: unknown) => {
      throw this.asFault(err, signal);
    });
  }

  /**
   * Keeps the contract above: whatever a layer or executor threw that is not a registry error
   * becomes FAAS_ERR_INTERNAL (its cause kept, for the front door's log), so no front door ever reads a foreign
   * error's fields (an engine's HTTP status, say) as its own. A caller's own abort passes through.
   */
  private asFault(err: unknown, signal: AbortSignal): unknown {
    if (err instanceof FaasError || signal.aborted) return err;
    return new FaasError('FAAS_ERR_INTERNAL', 'internal error', { cause: err });
  }

  /**
   * Stops taking invocations, lets running ones finish for up to `graceMs`, then kills what is
   * left, waits for every sandbox to be removed, and closes the executors. Calling it again
   * returns the same drain; with `graceMs` 0 it ends the grace at once.
   */
  drain(graceMs = this.options.config.shutdownGraceMs): Promise<void> {
    if (this.draining_) {
      // A second request to stop (a second Ctrl-C) ends the grace of the one under way.
      if (graceMs <= 0) this.admission.abortAll();
      return this.draining_;
    }
    this.limiter.rejectWaiting(new FaasError('FAAS_ERR_SHUTTING_DOWN'));
    this.draining_ = (async () => {
      await this.admission.drain(graceMs, (remaining) =>
        this.log.warn({ remaining }, 'shutdown grace elapsed; killing remaining invocations'),
      );
      await this.sandboxes.close();
      await Promise.allSettled([...this.options.executors.values()].map((e) => e.close()));
    })();
    return this.draining_;
  }
}
