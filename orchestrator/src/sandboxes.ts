/**
 * Where sandboxes come from and go back to: a warm pool per (executor, isolation mode), or, with
 * isolation `off` or an executor that cannot be kept warm, a sandbox started for one invocation and
 * destroyed after it.
 */
import type { ExecutorKind, IsolationMode, Logger } from '@faas/common';
import type { Executor, Sandbox, SandboxSpec } from '@faas/executor';
import { type PoolOptions, type PoolStats, SandboxPool } from './pool.js';

export interface SandboxLease {
  sandbox: Sandbox;
  /** Hands the sandbox back: `healthy` false (timeout, fault, cancel) always destroys it. */
  release(healthy: boolean): Promise<void>;
}

export class SandboxSource {
  private readonly pools = new Map<string, SandboxPool>();

  constructor(
    private readonly executors: ReadonlyMap<ExecutorKind, Executor>,
    private readonly options: Omit<PoolOptions, 'mode' | 'logger'>,
    private readonly log: Logger,
  ) {}

  private pool(kind: ExecutorKind, mode: IsolationMode): SandboxPool | undefined {
    if (mode === 'off') return undefined;
    const executor = this.executors.get(kind);
    if (!executor?.capabilities.warm) return undefined;
    const key = `${kind}/${mode}`;
    let pool = this.pools.get(key);
    if (!pool) {
      pool = new SandboxPool(executor, { ...this.options, mode, logger: this.log.child({ pool: key }) });
      this.pools.set(key, pool);
    }
    return pool;
  }

  async acquire(executor: Executor, mode: IsolationMode, spec: SandboxSpec, signal: AbortSignal): Promise<SandboxLease> {
    const pool = this.pool(executor.kind, mode);
    if (pool) {
      const sandbox = await pool.acquire(spec, signal);
      return { sandbox, release: (healthy) => pool.release(sandbox, healthy) };
    }
    const sandbox = await executor.acquire({ ...spec, oneShot: true }, signal);
    return { sandbox, release: () => executor.destroy(sandbox) };
  }

  /** Starts spares for an image ahead of demand (FAAS_POOL_PREWARM). */
  prewarm(kind: ExecutorKind, mode: IsolationMode, spec: SandboxSpec): void {
    this.pool(kind, mode)?.prewarm(spec);
  }

  get stats(): Record<string, PoolStats> {
    return Object.fromEntries([...this.pools].map(([key, pool]) => [key, pool.stats]));
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.pools.values()].map((p) => p.close()));
  }
}
