/**
 * Where sandboxes come from and go back to: a warm pool per (executor, isolation mode), or, with
 * isolation `off` or an executor that cannot be kept warm, a sandbox started for one invocation and
 * destroyed after it.
 *
 * It watches every executor (`Executor.watch`) and passes on what it hears to that executor's
 * pools: a dead spare is dropped and replaced at once; after the backend comes back, every pool of
 * that executor is rebuilt in the background, and `rebuilding` says so until it is; an image name
 * that comes to name another image makes its pools drop the sandboxes of the old one.
 */
import type { ExecutorKind, IsolationMode, Logger } from '@faas/common';
import type { Executor, ExecutorEvent, Sandbox, SandboxSpec } from '@faas/executor';
import { type PoolOptions, type PoolStats, SandboxPool } from './pool.js';

export interface SandboxLease {
  sandbox: Sandbox;
  /** Hands the sandbox back: `healthy` false (timeout, fault, cancel) always destroys it. */
  release(healthy: boolean): Promise<void>;
}

export class SandboxSource {
  private readonly pools = new Map<string, SandboxPool>();
  private readonly unwatch: Array<() => void> = [];
  /** Executors whose backend is down now. */
  private readonly down = new Set<ExecutorKind>();

  constructor(
    private readonly executors: ReadonlyMap<ExecutorKind, Executor>,
    private readonly options: Omit<PoolOptions, 'mode' | 'logger'>,
    private readonly log: Logger,
  ) {
    for (const executor of executors.values()) this.unwatch.push(executor.watch((event) => this.onEvent(executor.kind, event)));
  }

  private onEvent(kind: ExecutorKind, event: ExecutorEvent): void {
    const pools = [...this.pools].filter(([key]) => key.startsWith(`${kind}/`)).map(([, pool]) => pool);
    switch (event.type) {
      case 'sandbox-lost':
        for (const pool of pools) pool.onLost(event.sandbox);
        return;
      case 'backend-down':
        this.down.add(kind);
        for (const pool of pools) pool.onBackendDown();
        return;
      case 'backend-up':
        this.down.delete(kind);
        this.log.info({ executor: kind, pools: pools.length }, 'executor backend is back; rebuilding its pools');
        for (const pool of pools) pool.onBackendUp();
        return;
      case 'image-changed':
        for (const pool of pools) pool.onImageChanged(event.image);
        return;
    }
  }

  /** True while a backend is down or a pool is being refilled after one was, or after a loss. */
  get rebuilding(): boolean {
    if (this.down.size > 0) return true;
    return [...this.pools.values()].some((pool) => pool.stats.rebuilding);
  }

  private pool(kind: ExecutorKind, mode: IsolationMode): SandboxPool | undefined {
    if (mode === 'off') return undefined;
    const executor = this.executors.get(kind);
    if (!executor?.capabilities.warm) return undefined;
    const key = `${kind}/${mode}`;
    let pool = this.pools.get(key);
    if (!pool) {
      pool = new SandboxPool(executor, { ...this.options, mode, logger: this.log.child({ pool: key }) });
      if (this.down.has(kind)) pool.onBackendDown();
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
    for (const stop of this.unwatch.splice(0)) stop();
    await Promise.allSettled([...this.pools.values()].map((p) => p.close()));
  }
}
