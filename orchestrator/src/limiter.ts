/**
 * Bounds how many invocations run at once and how many may wait. A full queue answers at once with
 * FAAS_ERR_SATURATED (429) instead of letting latency and memory grow without bound.
 */
import { FaasError } from '@faas/common';

interface Waiter {
  resolve: () => void;
  reject: (err: Error) => void;
}

export class ConcurrencyLimiter {
  private running = 0;
  private readonly queue: Waiter[] = [];

  constructor(
    private readonly maxRunning: number,
    private readonly maxQueued: number,
  ) {}

  get active(): number {
    return this.running;
  }

  get waiting(): number {
    return this.queue.length;
  }

  /** Resolves with a release function once a slot is free; rejects at once if the queue is full. */
  async acquire(signal?: AbortSignal): Promise<() => void> {
    if (this.running < this.maxRunning) {
      this.running++;
      return this.releaser();
    }
    if (this.queue.length >= this.maxQueued) {
      throw new FaasError(
        'FAAS_ERR_SATURATED',
        `all ${this.maxRunning} execution slots are busy and ${this.queue.length} invocations are waiting; retry later`,
      );
    }
    await new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject };
      this.queue.push(waiter);
      signal?.addEventListener(
        'abort',
        () => {
          const index = this.queue.indexOf(waiter);
          if (index >= 0) {
            this.queue.splice(index, 1);
            reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
          }
        },
        { once: true },
      );
    });
    return this.releaser();
  }

  /** Fails every waiter (used at shutdown). */
  rejectWaiting(err: Error): void {
    for (const waiter of this.queue.splice(0)) waiter.reject(err);
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.queue.shift();
      // Hand the slot straight to the next waiter so `running` never dips and lets a newcomer jump the queue.
      if (next) next.resolve();
      else this.running--;
    };
  }
}
