/**
 * The worker of asynchronous invocations: takes them from the queue (QueueStore), runs each
 * through the invocation core as any front door does, and writes how it ended: final, retried
 * after a backoff, or dead. It runs in the gateway's process by default (`faas serve`).
 *
 * Fairness with synchronous calls: at most `concurrency` asynchronous invocations run at once
 * (FAAS_ASYNC_CONCURRENCY, half the slots by default), and a new one starts only while a slot is
 * free and no synchronous invocation waits for one; so a backlog, however long, never makes a
 * synchronous caller wait or see 429 it would not have seen without it.
 *
 * Fairness across API keys is the queue's: `claim` gives the oldest due invocation of the key with
 * the fewest running (store/src/sqlite-queue.ts, CLAIM_NEXT), so one key's backlog does not hold
 * back another key's few.
 *
 * Every invocation it runs is leased; the lease is renewed while it runs, and a write names the
 * lease (owner and attempt), so a worker that stalled past its lease cannot report over the one
 * that took the invocation back. At start-up it takes back every lease a stopped process held
 * (`reclaimAllAtStart`: one process per SQLite database); later, leases that ran out.
 */
import { randomUUID } from 'node:crypto';
import { FaasError, type Invocation, isFaasError, type Logger, type Outcome } from '@faas/common';
import type { AsyncJob, ClaimedJob, LeaseRef, QueueStore } from '@faas/store';
import type { Registry } from 'prom-client';
import { type AttemptLabel, WorkerMetrics } from './metrics.js';
import { type AttemptResult, type BackoffPolicy, type Decision, decide, retryDelayMs } from './retry.js';

/** The invocation core, as much of it as the worker uses. */
export interface WorkerOrchestrator {
  /** `requeued`: asked of a fault, true when the worker hands the invocation back (it is then neither recorded nor counted as an error). */
  invoke(invocation: Invocation, options: { signal?: AbortSignal; requeued?: (err: unknown) => boolean }): Promise<Outcome>;
  readonly stats: { running: number; queued: number };
  readonly draining: boolean;
}

/** The front door's side of a queued request (the gateway's `asyncFrontDoor`). */
export interface WorkerFrontDoor {
  /** The stored request as an `Invocation`, resolved against what is registered now; throws FaasError otherwise. */
  resolve(job: AsyncJob, request: string): Promise<{ invocation: Invocation; functionVersion: number | undefined }>;
  /** The body a synchronous call would have answered for this outcome. */
  result(outcome: Outcome, functionVersion: number | undefined): unknown;
}

export interface AsyncWorkerOptions {
  queue: QueueStore;
  orchestrator: WorkerOrchestrator;
  frontDoor: WorkerFrontDoor;
  /** Asynchronous invocations running at once (FAAS_ASYNC_CONCURRENCY). */
  concurrency: number;
  /** The platform's slots (FAAS_MAX_CONCURRENCY): none is taken while they are all busy. */
  slots: number;
  leaseMs: number;
  backoff: { baseMs: number; maxMs: number; random?: () => number };
  log: Logger;
  /** Where the worker's metrics go (the orchestrator's registry); none: not measured. */
  registry?: Registry;
  /** Told of every invocation that reached a final state here (dead included), after it was written. */
  onFinal?: (job: AsyncJob) => void;
  /** Take back every running invocation at start, not only expired leases (default true: one process per database). */
  reclaimAllAtStart?: boolean;
  /** Longest wait between two looks at the queue when nothing wakes the worker (default 1000 ms). */
  pollMs?: number;
  /** Wait before looking again while every slot is busy (default 25 ms). */
  busyPollMs?: number;
  /**
   * Delay of an invocation handed back because the platform was busy (default 200 ms, with jitter);
   * doubled for each refusal in a row at the same API key's cap, up to 32 times.
   */
  busyDelayMs?: number;
}

/** A key at its cap backs off to at most 2^5 = 32 times the busy delay (6.4 s by default, with jitter). */
const KEY_BACKOFF_MAX_DOUBLINGS = 5;

function keyCapRefusal(result: AttemptResult): boolean {
  return result.kind === 'fault' && isFaasError(result.error, 'FAAS_ERR_KEY_CONCURRENCY_LIMIT');
}

interface Running {
  ref: LeaseRef;
  job: AsyncJob;
  controller: AbortController;
  /** A caller cancelled it (not the platform). */
  cancelled: boolean;
  /** The lease was lost: another worker owns the invocation now, nothing is written. */
  lost: boolean;
  done: Promise<void>;
}

export class AsyncWorker {
  readonly owner = `worker-${randomUUID()}`;
  private readonly running = new Map<string, Running>();
  /** Refusals in a row at each API key's concurrency cap: the backoff of that key's hand-backs. */
  private readonly keyRefusals = new Map<string, number>();
  private readonly backoff: BackoffPolicy;
  private readonly metrics: WorkerMetrics | undefined;
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private timerDue = Number.POSITIVE_INFINITY;
  private leaseTimer: NodeJS.Timeout | undefined;
  private pumping = false;
  private pumpAgain = false;
  private started = false;
  private stopping = false;

  constructor(private readonly options: AsyncWorkerOptions) {
    this.backoff = { baseMs: options.backoff.baseMs, maxMs: options.backoff.maxMs, random: options.backoff.random ?? Math.random };
    this.metrics = options.registry ? new WorkerMetrics(options.registry, options.queue) : undefined;
  }

  /** Invocations this worker runs now. */
  get inFlight(): number {
    return this.running.size;
  }

  /** Recovers what a stopped process left running, then starts taking invocations. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await this.reclaim(this.options.reclaimAllAtStart ?? true);
    const every = Math.max(250, Math.floor(this.options.leaseMs / 3));
    this.leaseTimer = setInterval(() => void this.renewLeases(), every);
    this.leaseTimer.unref();
    this.schedule(0);
  }

  /** An invocation was queued (or re-driven): look at the queue now. */
  wake(): void {
    if (this.started) this.schedule(0);
  }

  /**
   * A caller cancelled invocation `id` (the queue knows already): kill it if it runs here; a queued
   * one never ran and was cancelled by the queue itself, so it only needs reporting.
   */
  cancel(id: string): void {
    const run = this.running.get(id);
    if (run) {
      run.cancelled = true;
      run.controller.abort(new Error('the invocation was cancelled (DELETE /invocations/{id})'));
      return;
    }
    void this.options.queue
      .get(id)
      .then((job) => {
        if (job?.state === 'cancelled') this.options.onFinal?.(job);
      })
      .catch(() => undefined);
  }

  /** Stops taking invocations; those running go on (the orchestrator's drain decides their fate). */
  pause(): void {
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.immediate) clearImmediate(this.immediate);
    this.immediate = undefined;
  }

  /** Stops taking invocations and waits until every running one has been written (call after the orchestrator's drain began). */
  async stop(): Promise<void> {
    this.pause();
    await Promise.allSettled([...this.running.values()].map((r) => r.done));
    if (this.leaseTimer) clearInterval(this.leaseTimer);
    this.leaseTimer = undefined;
  }

  private delayOf(attempts: number): number {
    return retryDelayMs(attempts, this.backoff);
  }

  private async reclaim(all: boolean): Promise<void> {
    try {
      const ids = await this.options.queue.reclaim({ all, retryDelayMs: (n) => this.delayOf(n) });
      if (ids.length > 0) {
        this.metrics?.attempt('lost', ids.length);
        // Those it ended (dead past their attempts, or cancelled while they ran) are reported like any other end.
        for (const id of ids) {
          const job = await this.options.queue.get(id);
          if (job && job.state !== 'queued') this.options.onFinal?.(job);
        }
        this.options.log.warn(
          { count: ids.length, invocationIds: ids.slice(0, 20) },
          all
            ? 'recovered asynchronous invocations that were running when the platform stopped: retried, or dead past their attempts'
            : 'took back asynchronous invocations whose worker lost its lease',
        );
      }
    } catch (err) {
      this.options.log.warn({ err: (err as Error).message }, 'could not take back stale asynchronous invocations; trying again later');
    }
  }

  private schedule(ms: number): void {
    if (this.stopping) return;
    if (ms <= 0) {
      // At once, without a timer's millisecond: a slot that just came free is taken in the same turn.
      if (this.immediate) return;
      this.immediate = setImmediate(() => {
        this.immediate = undefined;
        void this.pump();
      });
      return;
    }
    const due = Date.now() + ms;
    if (this.timer && this.timerDue <= due) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerDue = due;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerDue = Number.POSITIVE_INFINITY;
      void this.pump();
    }, ms);
    this.timer.unref();
  }

  /** A slot for an asynchronous invocation: under its own cap, a platform slot free, no synchronous caller waiting. */
  private slotFree(): boolean {
    const { orchestrator } = this.options;
    if (this.running.size >= this.options.concurrency || orchestrator.draining) return false;
    const stats = orchestrator.stats;
    return stats.queued === 0 && stats.running < this.options.slots;
  }

  private async pump(): Promise<void> {
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    const pollMs = this.options.pollMs ?? 1000;
    try {
      for (;;) {
        if (this.stopping) return;
        if (this.running.size >= this.options.concurrency) return; // a run that ends schedules the next look
        if (!this.slotFree()) {
          this.schedule(this.options.busyPollMs ?? 25);
          return;
        }
        const claimed = await this.options.queue.claim({ owner: this.owner, leaseMs: this.options.leaseMs });
        if (!claimed) {
          const due = await this.options.queue.nextDue();
          this.schedule(due === undefined ? pollMs : Math.min(pollMs, Math.max(0, due - Date.now())));
          return;
        }
        this.launch(claimed);
      }
    } catch (err) {
      this.options.log.warn({ err: (err as Error).message }, 'the asynchronous worker could not read the queue; trying again');
      this.schedule(pollMs);
    } finally {
      this.pumping = false;
      if (this.pumpAgain) {
        this.pumpAgain = false;
        this.schedule(0);
      }
    }
  }

  private launch(claimed: ClaimedJob): void {
    const { job } = claimed;
    const run: Running = {
      ref: { id: job.id, owner: this.owner, attempt: claimed.attempt },
      job,
      controller: new AbortController(),
      cancelled: false,
      lost: false,
      done: Promise.resolve(),
    };
    this.running.set(job.id, run);
    run.done = this.execute(run, claimed.request)
      .catch((err: unknown) => {
        this.options.log.error(
          { invocationId: job.id, err: (err as Error).message },
          'an asynchronous invocation could not be written; its lease will run out and it will be retried',
        );
      })
      .finally(() => {
        this.running.delete(job.id);
        this.schedule(0);
      });
  }

  private async execute(run: Running, request: string): Promise<void> {
    const { job } = run;
    const log = this.options.log.child({ invocationId: job.id, functionId: job.functionId, attempt: run.ref.attempt });
    let result: AttemptResult;
    let functionVersion: number | undefined;
    const stopping = () => this.stopping || this.options.orchestrator.draining;
    // What the invocation core is told of a fault it ends with: handed back (busy) or not. The
    // history and the metrics follow that answer (a refusal handed back is neither recorded nor an
    // error), so it is the decision too.
    let told: Decision | undefined;
    const requeued = (err: unknown): boolean => {
      told = decide(job, { kind: 'fault', error: err, cancelledByCaller: run.cancelled }, stopping());
      return told.action === 'release';
    };
    try {
      const resolved = await this.options.frontDoor.resolve(job, request);
      functionVersion = resolved.functionVersion;
      if (run.cancelled) throw new FaasError('FAAS_ERR_SHUTTING_DOWN', 'cancelled');
      const outcome = await this.options.orchestrator.invoke(resolved.invocation, { signal: run.controller.signal, requeued });
      result = { kind: 'outcome', outcome, cancelledByCaller: run.cancelled };
    } catch (err) {
      result = { kind: 'fault', error: err, cancelledByCaller: run.cancelled };
    }
    if (run.lost) {
      log.warn('the lease of this asynchronous invocation was lost while it ran; its result is dropped (another attempt owns it)');
      return;
    }
    const decision = (result.kind === 'fault' ? told : undefined) ?? decide(job, result, stopping());
    // Anything but a refusal at the key's cap (it ran, or something else ended it): the key's backoff starts again.
    if (job.keyId !== null && !keyCapRefusal(result)) this.keyRefusals.delete(job.keyId);
    await this.write(run, decision, result, functionVersion, log);
    // Its platform slot is held until the sandbox is released: only then is it free for the next one.
    if (result.kind === 'outcome') await result.outcome.released.catch(() => undefined);
  }

  private async write(
    run: Running,
    decision: Decision,
    result: AttemptResult,
    functionVersion: number | undefined,
    log: Logger,
  ): Promise<void> {
    const { queue } = this.options;
    const { ref, job } = run;
    let label: AttemptLabel;
    let written: boolean;
    if (decision.action === 'release') {
      label = 'released';
      const delay = this.stopping ? 0 : this.releaseDelay(job, result);
      written = await queue.release(ref, Date.now() + delay);
    } else if (decision.action === 'retry') {
      label = 'retried';
      const runAt = Date.now() + this.delayOf(ref.attempt);
      written = await queue.retry(ref, { attempt: decision.attempt, runAt });
      log.info({ errorCode: decision.attempt.errorCode, retryAt: new Date(runAt).toISOString() }, 'asynchronous attempt failed; retrying');
    } else {
      label = decision.state;
      const body = result.kind === 'outcome' ? JSON.stringify(this.options.frontDoor.result(result.outcome, functionVersion)) : null;
      written = await queue.finish(ref, {
        state: decision.state,
        attempt: decision.attempt,
        result: body,
        error: decision.error,
        errorCode: decision.errorCode,
      });
      if (written) {
        log.info({ state: decision.state, errorCode: decision.errorCode }, 'asynchronous invocation ended');
        this.options.onFinal?.({
          ...job,
          state: decision.state,
          error: decision.error,
          errorCode: decision.errorCode,
          finishedAt: Date.now(),
        });
      }
    }
    if (!written) {
      log.warn('the lease of this asynchronous invocation was taken back before its attempt was written; nothing written');
      return;
    }
    this.metrics?.attempt(label);
  }

  /**
   * The wait of an invocation handed back. A busy platform or function frees a slot within moments
   * (busyDelayMs, with jitter). A key at its own cap frees one only when one of the key's
   * invocations ends, which may take minutes: each refusal of the key in a row doubles the wait,
   * so the key's backlog is not claimed and handed back over and over while others' work waits.
   */
  private releaseDelay(job: AsyncJob, result: AttemptResult): number {
    let factor = 1;
    if (job.keyId !== null && keyCapRefusal(result)) {
      const inARow = (this.keyRefusals.get(job.keyId) ?? 0) + 1;
      this.keyRefusals.set(job.keyId, inARow);
      factor = 2 ** Math.min(inARow - 1, KEY_BACKOFF_MAX_DOUBLINGS);
    }
    return Math.round((this.options.busyDelayMs ?? 200) * factor * (0.5 + this.backoff.random()));
  }

  /** Renews the lease of every running invocation; one lost or cancelled elsewhere is stopped. */
  private async renewLeases(): Promise<void> {
    for (const run of [...this.running.values()]) {
      try {
        const renewed = await this.options.queue.renew(run.ref, this.options.leaseMs);
        if (!renewed) {
          run.lost = true;
          run.controller.abort(new Error('the lease of this invocation was lost'));
        } else if (renewed.cancelRequested && !run.cancelled) {
          run.cancelled = true;
          run.controller.abort(new Error('the invocation was cancelled (DELETE /invocations/{id})'));
        }
      } catch (err) {
        this.options.log.warn(
          { invocationId: run.ref.id, err: (err as Error).message },
          'could not renew the lease of an asynchronous invocation',
        );
      }
    }
    // Leases that ran out (a worker stalled or died without stopping) come back to the queue.
    if (!this.stopping) await this.reclaim(false);
  }
}
