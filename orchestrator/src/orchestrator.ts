/**
 * Policy around the executors: validation, executor selection, the concurrency limit and queue,
 * per-invocation timeouts, and graceful shutdown. Executors only provide mechanism.
 *
 * One invocation: validate -> take a slot -> acquire a sandbox -> invoke with the timeout -> answer
 * -> release (or destroy) the sandbox in the background, still holding the slot so cleanup is
 * bounded too.
 */
import { randomUUID } from 'node:crypto';
import {
  type Config,
  type ExecutorKind,
  FaasError,
  type InvocationRequest,
  type InvocationResult,
  type Logger,
  silentLogger,
  type ValidationPolicy,
  validateSandboxConfig,
  validationPolicy,
} from '@faas/common';
import type { ExecResult, Executor, Sandbox } from '@faas/executor';
import { ConcurrencyLimiter } from './limiter.js';
import { type PoolStats, SandboxPool } from './pool.js';

/** Extra time past the function's timeout before the orchestrator gives up on the executor itself. */
const EXECUTOR_GRACE_MS = 10_000;

export interface OrchestratorOptions {
  config: Readonly<Config>;
  executors: ReadonlyMap<ExecutorKind, Executor>;
  logger?: Logger;
}

export interface InvokeOptions {
  /** Aborted when the caller goes away; the invocation is killed. */
  signal?: AbortSignal;
  /** Called with the invocation id as soon as it exists (for response headers and logs). */
  invocationId?: string;
}

export interface OrchestratorStats {
  running: number;
  queued: number;
  cleanupPending: number;
  draining: boolean;
}

export class Orchestrator {
  private readonly policy: ValidationPolicy;
  private readonly limiter: ConcurrencyLimiter;
  private readonly log: Logger;
  private readonly inflight = new Set<Promise<unknown>>();
  private readonly shutdown = new AbortController();
  private readonly pools = new Map<ExecutorKind, SandboxPool>();
  private draining = false;

  constructor(private readonly options: OrchestratorOptions) {
    this.policy = validationPolicy(options.config);
    this.limiter = new ConcurrencyLimiter(options.config.maxConcurrency, options.config.maxQueue);
    this.log = options.logger ?? silentLogger;
    for (const kind of options.config.allowedExecutors) {
      if (!options.executors.has(kind)) throw new Error(`executor "${kind}" is allowed but was not constructed`);
    }
  }

  get stats(): OrchestratorStats {
    return {
      running: this.limiter.active,
      queued: this.limiter.waiting,
      cleanupPending: this.inflight.size,
      draining: this.draining,
    };
  }

  /** Initialises every executor (connects, removes leftovers) and starts warm pools. */
  async start(): Promise<void> {
    await Promise.all([...this.options.executors.values()].map((e) => e.init()));
    const { pool } = this.options.config;
    if (pool.mode === 'off') return;
    for (const [kind, executor] of this.options.executors) {
      if (!executor.warmable) continue;
      this.pools.set(
        kind,
        new SandboxPool(executor, {
          mode: pool.mode,
          minIdle: pool.minIdle,
          maxIdle: pool.maxIdle,
          idleMs: pool.idleMs,
          refillConcurrency: 2,
          logger: this.log.child({ pool: kind }),
        }),
      );
    }
    const defaults = this.pools.get(this.options.config.executorType);
    for (const image of pool.prewarmImages) {
      defaults?.prewarm({ functionId: 'prewarm', image, limits: this.options.config.defaultLimits });
    }
  }

  /** Pool figures per executor, for readiness output and benchmarks. */
  get poolStats(): Record<string, PoolStats> {
    return Object.fromEntries([...this.pools].map(([kind, pool]) => [kind, pool.stats]));
  }

  /** Readiness: the default executor's backend answers. */
  async ready(): Promise<void> {
    if (this.draining) throw new FaasError('FAAS_ERR_SHUTTING_DOWN');
    await this.executor(this.options.config.executorType).ping();
  }

  /** Validates a SandboxConfig for a function and runs it; the design document's schedule_execution. */
  async scheduleExecution(functionId: unknown, body: unknown, options: InvokeOptions = {}): Promise<InvocationResult> {
    const started = performance.now();
    const invocationId = options.invocationId ?? randomUUID();
    if (this.draining) throw new FaasError('FAAS_ERR_SHUTTING_DOWN');
    const request = validateSandboxConfig(functionId, body, this.policy);
    // One controller per invocation, fed by the caller and by shutdown (cheaper than AbortSignal.any
    // on the warm path, where this is a measurable share of a few milliseconds).
    const abort = new AbortController();
    const unlink = linkAbort(abort, options.signal, this.shutdown.signal);
    const signal = abort.signal;
    let releaseLimiterSlot: () => void;
    try {
      releaseLimiterSlot = await this.limiter.acquire(signal);
    } catch (err) {
      unlink();
      throw err;
    }
    // Drain waits on this: it settles only once the slot is free, i.e. after cleanup.
    let releaseSlot!: () => void;
    this.track(
      new Promise<void>((resolve) => {
        releaseSlot = () => {
          releaseLimiterSlot();
          resolve();
        };
      }),
    );
    let slotHandedOff = false;
    try {
      const executor = this.executor(request.executor);
      const pool = this.pools.get(request.executor);
      const spec = { functionId: request.functionId, image: request.image, limits: request.limits };
      const sandbox = pool ? await pool.acquire(spec, signal) : await executor.acquire({ ...spec, oneShot: true }, signal);
      const outcome = this.execute(executor, sandbox, request, invocationId, abort);
      // Cleanup runs after we answer but keeps the slot, so a burst cannot outrun removal.
      // Without a pool nobody reuses the sandbox; a failed or timed-out one is never reused.
      const cleanup = outcome
        .then(
          // setImmediate: the response is written before cleanup and refills compete for the CPU.
          async (result) => {
            await new Promise((resolve) => setImmediate(resolve));
            return pool ? pool.release(sandbox, !result.timedOut) : executor.destroy(sandbox);
          },
          () => executor.destroy(sandbox),
        )
        .catch((err: unknown) => {
          this.log.warn({ invocationId, err: (err as Error).message }, 'sandbox cleanup failed; destroying');
          return executor.destroy(sandbox).catch(() => undefined);
        })
        .finally(releaseSlot);
      cleanup.catch(() => undefined);
      slotHandedOff = true;
      const result = await outcome;
      return this.toResult(request, invocationId, result, started);
    } finally {
      unlink();
      if (!slotHandedOff) releaseSlot();
    }
  }

  private async execute(
    executor: Executor,
    sandbox: Sandbox,
    request: InvocationRequest,
    invocationId: string,
    abort: AbortController,
  ): Promise<ExecResult> {
    let timer: NodeJS.Timeout | undefined;
    const overdue = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        abort.abort();
        reject(
          new FaasError('FAAS_ERR_TIMEOUT', `the executor did not stop the function within ${request.timeoutMs} ms; sandbox destroyed`, {
            details: { invocation_id: invocationId },
          }),
        );
      }, request.timeoutMs + EXECUTOR_GRACE_MS);
    });
    try {
      return await Promise.race([
        executor.invoke(sandbox, {
          invocationId,
          command: request.command,
          env: request.env,
          stdin: request.stdin,
          timeoutMs: request.timeoutMs,
          signal: abort.signal,
        }),
        overdue,
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  private toResult(request: InvocationRequest, invocationId: string, result: ExecResult, started: number): InvocationResult {
    if (result.timedOut) {
      throw new FaasError('FAAS_ERR_TIMEOUT', `the function did not finish within ${request.timeoutMs} ms and was killed`, {
        details: {
          invocation_id: invocationId,
          request_id: request.functionId,
          timeout_ms: request.timeoutMs,
          logs_base64: result.combined.toString('base64'),
        },
      });
    }
    if (this.shutdown.signal.aborted && result.exitCode === null) {
      throw new FaasError('FAAS_ERR_SHUTTING_DOWN', 'the server shut down before the function finished; it was killed');
    }
    return {
      request_id: request.functionId,
      invocation_id: invocationId,
      response_base64: result.stdout.toString('base64'),
      logs_base64: result.combined.toString('base64'),
      stderr_base64: result.stderr.toString('base64'),
      error: describeFailure(result, request.limits.memoryBytes),
      exit_code: result.exitCode,
      signal: result.signal,
      truncated: result.truncated,
      duration_ms: Math.round((performance.now() - started) * 1000) / 1000,
      executor: request.executor,
    };
  }

  private executor(kind: ExecutorKind): Executor {
    const executor = this.options.executors.get(kind);
    if (!executor) throw new FaasError('FAAS_ERR_EXECUTOR_NOT_ALLOWED', `executor "${kind}" is not enabled`);
    return executor;
  }

  private track(promise: Promise<unknown>): void {
    this.inflight.add(promise);
    promise.finally(() => this.inflight.delete(promise)).catch(() => undefined);
  }

  /**
   * Stops taking invocations, lets running ones finish for up to `graceMs`, then kills what is
   * left, waits for every sandbox to be removed, and closes the executors.
   */
  async drain(graceMs = this.options.config.shutdownGraceMs): Promise<void> {
    if (!this.draining) {
      this.draining = true;
      this.limiter.rejectWaiting(new FaasError('FAAS_ERR_SHUTTING_DOWN'));
    }
    const settled = Promise.allSettled([...this.inflight]);
    const timedOut = await Promise.race([
      settled.then(() => false),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(true), graceMs).unref()),
    ]);
    if (timedOut) {
      this.log.warn({ remaining: this.inflight.size }, 'shutdown grace elapsed; killing remaining invocations');
      this.shutdown.abort(new FaasError('FAAS_ERR_SHUTTING_DOWN'));
      await Promise.allSettled([...this.inflight]);
    }
    await Promise.allSettled([...this.pools.values()].map((p) => p.close()));
    await Promise.allSettled([...this.options.executors.values()].map((e) => e.close()));
  }
}

/** Aborts `target` when any source aborts; returns the function that detaches the listeners. */
function linkAbort(target: AbortController, ...sources: Array<AbortSignal | undefined>): () => void {
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

function describeFailure(result: ExecResult, memoryBytes: number): string | null {
  if (result.startError) return result.startError;
  if (result.oomKilled) return `Command was killed: it exceeded its memory limit of ${Math.round(memoryBytes / 1048576)} MiB`;
  if (result.signal) return `Command was killed by signal ${result.signal}`;
  if (result.exitCode !== 0) return `Command exited with non-zero status: ${result.exitCode}`;
  return null;
}
