/**
 * Hands ended asynchronous invocations to the callback dispatcher so that a crash cannot lose one.
 * The queue marks every final state with a callback URL "callback pending" in the very
 * transaction that writes it (store/src/sqlite-queue.ts); the mark goes only once the dispatcher
 * has recorded the delivery in the store; and at start-up every invocation still marked is handed
 * over again (`resume`). Handing the same end over twice makes one delivery: its id is the
 * invocation's id and its attempt count (`<invocation id>.<attempts>`, so a redriven invocation
 * that ends again is posted again), and the dispatcher answers a known id with that delivery.
 *
 * It also keeps the queue told where each delivery stands (`QueueStore.callbackProgress`, read by
 * `GET /invocations/{id}` as its `callback`): it observes the dispatcher, and writes every step of a
 * delivery of an invocation's end (an attempt to be retried, delivered, failed, refused), resumed
 * ones included. The delivery id names the end it is for, so a step of an older end never
 * overwrites a newer one.
 */
import type { Logger } from '@faas/common';
import type { AsyncJob, QueueStore } from '@faas/store';
import type { CallbackDispatcher, DeliveryProgress } from './dispatcher.js';

/** What a callback carries: the invocation as `GET /invocations/{id}` answers it. */
export interface DescribedInvocation {
  state: string;
  attempts: number;
}

export interface CallbackHandoffOptions {
  queue: QueueStore;
  /** With `observe`, every step of its deliveries is written to the queue. */
  dispatcher: Pick<CallbackDispatcher, 'deliver'> & Partial<Pick<CallbackDispatcher, 'observe'>>;
  /** The invocation as `GET /invocations/{id}` answers it (the callback's body); undefined when it is gone. */
  describe: (id: string) => Promise<DescribedInvocation | undefined>;
  log: Logger;
  /** Marked invocations read per page at start-up (default 100). */
  pageSize?: number;
}

const FINAL = new Set(['succeeded', 'failed', 'cancelled', 'dead']);

/** The id of the delivery of an invocation's final state: one per end, the same however often it is handed over. */
export const deliveryIdOf = (invocationId: string, attempts: number): string => `${invocationId}.${attempts}`;

/** The attempts of the end a delivery id of `deliveryIdOf` names; undefined for any other id. */
export function endOfDelivery(deliveryId: string, invocationId: string): number | undefined {
  if (!deliveryId.startsWith(`${invocationId}.`)) return undefined;
  const rest = deliveryId.slice(invocationId.length + 1);
  return /^(0|[1-9]\d{0,9})$/.test(rest) ? Number(rest) : undefined;
}

export class CallbackHandoff {
  /** Hand-overs under way, by invocation: the same one is never handed over twice at once. */
  private readonly handing = new Map<string, Promise<void>>();

  constructor(private readonly o: CallbackHandoffOptions) {
    o.dispatcher.observe?.((progress) => void this.record(progress));
  }

  /** Writes where the delivery of an invocation's end stands; a store fault is logged (the delivery goes on). */
  private async record(progress: DeliveryProgress): Promise<void> {
    const attempts = endOfDelivery(progress.deliveryId, progress.invocationId);
    if (attempts === undefined || (progress.state === 'pending' && progress.attempts === 0)) return;
    try {
      await this.o.queue.callbackProgress(progress.invocationId, attempts, {
        state: progress.state,
        attempts: progress.attempts,
        lastError: progress.error,
        lastStatus: progress.status,
        deliveredAt: progress.state === 'delivered' ? progress.finishedAt : null,
      });
    } catch (err) {
      this.o.log.warn(
        { invocationId: progress.invocationId, state: progress.state, err: (err as Error).message },
        'could not record where the callback delivery of an invocation stands',
      );
    }
  }

  /** The invocation `job` reached a final state (it is written): hand its callback over. Never rejects. */
  handOff(job: Pick<AsyncJob, 'id' | 'callbackUrl'>): Promise<void> {
    const url = job.callbackUrl;
    if (url === null) return Promise.resolve();
    const before = this.handing.get(job.id) ?? Promise.resolve();
    const next = before.then(() => this.handOver(job.id, url));
    this.handing.set(job.id, next);
    void next.finally(() => {
      if (this.handing.get(job.id) === next) this.handing.delete(job.id);
    });
    return next;
  }

  /**
   * Hands over every ended invocation whose callback a stopped process had not handed over yet
   * (call once at start-up, after the dispatcher's `resumePending`). Resolves with how many.
   */
  async resume(): Promise<number> {
    const limit = this.o.pageSize ?? 100;
    let after: string | undefined;
    let count = 0;
    for (;;) {
      let page: AsyncJob[];
      try {
        page = await this.o.queue.callbacksPending({ limit, ...(after === undefined ? {} : { after }) });
      } catch (err) {
        this.o.log.error(
          { err: (err as Error).message },
          'cannot read the ended invocations whose callbacks are pending; they are handed over at the next start',
        );
        return count;
      }
      for (const job of page) await this.handOff(job);
      count += page.length;
      if (page.length < limit) break;
      after = page[page.length - 1]?.id;
    }
    if (count > 0)
      this.o.log.info({ invocations: count }, 'handed over the callbacks of invocations that ended before the platform stopped');
    return count;
  }

  private async handOver(id: string, url: string): Promise<void> {
    try {
      const answer = await this.o.describe(id);
      // Gone (retention), or redriven since and not ended again: its next end is marked anew.
      if (!answer || !FINAL.has(answer.state)) return;
      const handle = await this.o.dispatcher.deliver({
        invocationId: id,
        url,
        body: JSON.stringify(answer),
        deliveryId: deliveryIdOf(id, answer.attempts),
      });
      // A delivery the store refused stays marked: the next start hands it over again.
      if (handle.recorded) await this.o.queue.callbackHanded(id, answer.attempts);
    } catch (err) {
      this.o.log.warn(
        { invocationId: id, err: (err as Error).message },
        'could not hand an ended invocation to its callback; it is handed over at the next start',
      );
    }
  }
}
