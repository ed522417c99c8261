/**
 * Delivers the final result of asynchronous invocations to their callback URLs: signed, retried
 * with exponential backoff and jitter, and durable. Each delivery is recorded in the store's
 * KvStore until it ends (`delivery-records.ts`), so `resumePending()` at start-up picks up what a
 * stop or a crash interrupted. Delivery is at least once: an attempt cut short by a crash is made
 * again, and receivers drop repeats by X-Faas-Delivery-Id.
 *
 * The caller never sees an exception: every outcome is logged (with the invocation id, never the
 * secret or the body) and reported through `settled` and `onSettled`; `observe` is told of every
 * step (an attempt to be retried, the end), for whoever shows where a delivery stands.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from '@faas/common';
import type { KvStore } from '@faas/store';
import { type DeliveryRecord, DeliveryRecords } from './delivery-records.js';
import { classifyAnswer, type Outcome, retryDelayMs } from './retry-policy.js';
import { sendAttempt } from './send.js';
import { ATTEMPT_HEADER, DELIVERY_ID_HEADER, INVOCATION_ID_HEADER, SIGNATURE_HEADER, signBody } from './signing.js';
import { type AddressPolicy, type LookupAll, resolveCallbackTarget, systemLookup, validateCallbackUrl } from './url-policy.js';

export { PENDING_KEY, recordKey } from './delivery-records.js';

export interface DeliveryRequest {
  invocationId: string;
  url: string;
  /** The JSON the receiver gets: the invocation's final state and result. */
  body: string | Uint8Array;
  /** Pass a stable id (the invocation id, say) to make `deliver` idempotent; random otherwise. */
  deliveryId?: string;
}

export interface DeliveryResult {
  deliveryId: string;
  invocationId: string;
  /**
   * `pending`: the dispatcher closed first; the delivery resumes at the next start. `refused`:
   * nothing was sent, the address rules refuse the URL or an address its host resolves to.
   */
  state: 'delivered' | 'failed' | 'refused' | 'pending';
  attempts: number;
  /** The last HTTP status received; null when no attempt got an answer. */
  status: number | null;
  /** Why the delivery failed (or the last attempt did); null once delivered. */
  error: string | null;
}

/** A step of a delivery, as `observe` tells it: `pending` after an attempt that is retried, or how it ended. */
export type DeliveryProgress = DeliveryResult & {
  /** When it ended (epoch milliseconds); null while pending. */
  finishedAt: number | null;
};

export type DeliveryObserver = (progress: DeliveryProgress) => void;

export interface DeliveryHandle {
  deliveryId: string;
  /** Resolves when the delivery ends or the dispatcher closes; never rejects. */
  settled: Promise<DeliveryResult>;
  /**
   * The delivery is in the store (or was already, or ended at once): it resumes after a crash.
   * False when the store refused the record: it goes on in memory only.
   */
  recorded: boolean;
}

export interface CallbackDispatcherOptions {
  kv: KvStore;
  /** HMAC key of X-Faas-Signature (`loadCallbackSecret`). */
  secret: string;
  policy: AddressPolicy;
  log: Logger;
  /** Attempts per delivery, the first included (FAAS_CALLBACK_MAX_ATTEMPTS; default 6). */
  maxAttempts?: number;
  /** One attempt's deadline (FAAS_CALLBACK_TIMEOUT_MS; default 10 s). */
  attemptTimeoutMs?: number;
  /** Delay before the first retry, doubled for each later one (FAAS_CALLBACK_RETRY_BASE_MS; default 20 s). */
  retryBaseMs?: number;
  /** Longest wait between attempts, Retry-After included (default one hour). */
  maxRetryDelayMs?: number;
  /** Bytes of a receiver's answer read at most (default 64 KiB). */
  maxResponseBytes?: number;
  /** Attempts in flight at once (default 16). */
  concurrency?: number;
  /** Name resolution; the system resolver by default. */
  lookup?: LookupAll;
  /** Extra certificate authorities for https receivers. */
  ca?: string | Buffer;
  /** Source of jitter, [0, 1). */
  random?: () => number;
  /** Told of every delivery that ends (or is left pending by `close`), resumed ones included. */
  onSettled?: (result: DeliveryResult) => void;
}

interface Active {
  record: DeliveryRecord;
  /** From the moment its timer fires until it waits for the next one or ends: `close` leaves it be. */
  busy: boolean;
  timer: NodeJS.Timeout | undefined;
  controller: AbortController | undefined;
  settle: (result: DeliveryResult) => void;
  settled: Promise<DeliveryResult>;
  /** Its record is in the store (a record the store refused goes on in memory only). */
  recorded: boolean;
}

const resultOf = (r: DeliveryRecord, state: DeliveryResult['state'] = r.state): DeliveryResult => ({
  deliveryId: r.id,
  invocationId: r.invocationId,
  state,
  attempts: r.attempts,
  status: r.lastStatus,
  error: state === 'delivered' ? null : r.lastError,
});

/** The URL as logs show it: no query, which may carry a receiver's token. */
function logUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(malformed)';
  }
}

export class CallbackDispatcher {
  private readonly o: Required<Omit<CallbackDispatcherOptions, 'ca' | 'onSettled'>> & Pick<CallbackDispatcherOptions, 'ca' | 'onSettled'>;
  private readonly active = new Map<string, Active>();
  private readonly records: DeliveryRecords;
  private readonly observers = new Set<DeliveryObserver>();
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  private closed = false;

  constructor(options: CallbackDispatcherOptions) {
    this.o = {
      maxAttempts: 6,
      attemptTimeoutMs: 10_000,
      retryBaseMs: 20_000,
      maxRetryDelayMs: 3_600_000,
      maxResponseBytes: 64 * 1024,
      concurrency: 16,
      lookup: systemLookup,
      random: Math.random,
      ...options,
    };
    this.records = new DeliveryRecords(options.kv, options.log);
  }

  /**
   * Records the delivery durably and starts it; resolves once it is recorded, so a caller that
   * acknowledges its own work afterwards loses nothing to a crash. An invalid or refused URL ends
   * the delivery as `refused` at once, nothing sent. Never rejects.
   */
  async deliver(request: DeliveryRequest): Promise<DeliveryHandle> {
    const id = request.deliveryId ?? randomUUID();
    const current = this.active.get(id);
    if (current) return { deliveryId: id, settled: current.settled, recorded: current.recorded };
    const existing = request.deliveryId === undefined ? undefined : await this.records.read(id);
    const raced = this.active.get(id);
    if (raced) return { deliveryId: id, settled: raced.settled, recorded: raced.recorded };
    if (existing) {
      // The same delivery asked for again (a retried caller): its outcome (told again, for an
      // observer that missed it to a crash), or its resumption.
      if (existing.state !== 'pending') {
        this.tell(existing);
        return { deliveryId: id, settled: Promise.resolve(resultOf(existing)), recorded: true };
      }
      this.records.adopt(existing);
      return { deliveryId: id, settled: this.schedule(existing, true), recorded: true };
    }
    const now = Date.now();
    const record: DeliveryRecord = {
      v: 1,
      id,
      invocationId: request.invocationId,
      url: request.url,
      body: Buffer.from(request.body).toString('base64'),
      state: 'pending',
      attempts: 0,
      nextAttemptAt: now,
      createdAt: now,
      finishedAt: null,
      lastStatus: null,
      lastError: null,
    };
    try {
      validateCallbackUrl(request.url, this.o.policy);
    } catch (err) {
      record.lastError = (err as Error).message;
      // It ends here, whatever the store says: there is nothing to resume.
      return { deliveryId: id, settled: this.finish(record, 'refused'), recorded: true };
    }
    const recorded = await this.records.save(record);
    return { deliveryId: id, settled: this.schedule(record, recorded), recorded };
  }

  /** Schedules every delivery a previous run left pending; returns how many. Call once at start-up. */
  async resumePending(): Promise<number> {
    const records = await this.records.readPending((id) => this.active.has(id));
    for (const record of records) void this.schedule(record, true);
    const resumed = records.length;
    if (resumed > 0) this.o.log.info({ deliveries: resumed }, 'resumed pending callback deliveries');
    return resumed;
  }

  /**
   * Tells `observer` of every step of every delivery from now on: after an attempt that is retried
   * (`pending`, its attempts, status and error), and its end (a delivery asked for again that had
   * ended is told again). Returns the function that stops it. An observer's throw is logged.
   */
  observe(observer: DeliveryObserver): () => void {
    this.observers.add(observer);
    return () => this.observers.delete(observer);
  }

  /** Deliveries under way or waiting for a retry. */
  get pending(): number {
    return this.active.size;
  }

  /**
   * Stops: no new attempt starts, attempts in flight are cut short without counting, and every
   * unfinished delivery stays recorded for `resumePending`. Close before the store.
   */
  async close(): Promise<void> {
    this.closed = true;
    for (const entry of [...this.active.values()]) {
      if (entry.busy) {
        entry.controller?.abort();
      } else {
        clearTimeout(entry.timer);
        this.leave(entry);
      }
    }
    // Waiting attempts are let through (each with a slot) only to see the dispatcher closed.
    for (const wake of this.waiting.splice(0)) {
      this.running += 1;
      wake();
    }
    while (this.active.size > 0) await new Promise((r) => setTimeout(r, 5));
    await this.records.flushed();
  }

  private schedule(record: DeliveryRecord, recorded: boolean): Promise<DeliveryResult> {
    let settle!: (result: DeliveryResult) => void;
    const settled = new Promise<DeliveryResult>((resolve) => {
      settle = resolve;
    });
    const entry: Active = { record, busy: false, timer: undefined, controller: undefined, settle, settled, recorded };
    this.active.set(record.id, entry);
    if (this.closed) this.leave(entry);
    else this.arm(entry);
    return settled;
  }

  private arm(entry: Active): void {
    entry.busy = false;
    const wait = Math.max(0, entry.record.nextAttemptAt - Date.now());
    entry.timer = setTimeout(() => void this.run(entry), wait);
    // A pending retry must not keep a process alive that is otherwise done: it is recorded.
    entry.timer.unref();
  }

  /** Leaves a delivery for the next start. */
  private leave(entry: Active): void {
    this.active.delete(entry.record.id);
    const result = resultOf(entry.record, 'pending');
    entry.settle(result);
    this.o.onSettled?.(result);
  }

  private async run(entry: Active): Promise<void> {
    entry.timer = undefined;
    entry.busy = true;
    entry.controller = new AbortController();
    await this.acquire();
    let outcome: Outcome | undefined;
    try {
      if (!this.closed) outcome = await this.attempt(entry.record, entry.record.attempts + 1, entry.controller.signal);
    } catch (err) {
      outcome = { kind: 'final', status: null, error: `internal fault: ${(err as Error).message}` };
    } finally {
      this.release();
      entry.controller = undefined;
    }
    // An attempt cut short by `close` does not count; one that got its answer does.
    if (outcome === undefined || (this.closed && outcome.kind === 'retry')) return this.leave(entry);

    const record = entry.record;
    record.attempts += 1;
    record.lastStatus = outcome.status ?? record.lastStatus;
    record.lastError = outcome.kind === 'delivered' ? null : outcome.error;
    const fields = { invocation_id: record.invocationId, delivery_id: record.id, attempt: record.attempts, url: logUrl(record.url) };
    if (outcome.kind === 'delivered') return void (await this.finish(record, 'delivered'));
    if (outcome.kind === 'final') return void (await this.finish(record, 'failed'));
    if (outcome.kind === 'refused') return void (await this.finish(record, 'refused'));
    if (record.attempts >= this.o.maxAttempts) {
      record.lastError = `gave up after ${record.attempts} attempts; the last: ${outcome.error}`;
      return void (await this.finish(record, 'failed'));
    }
    const delay = retryDelayMs(record.attempts, outcome.retryAfter, this.o.retryBaseMs, this.o.maxRetryDelayMs, this.o.random);
    record.nextAttemptAt = Date.now() + delay;
    this.o.log.warn({ ...fields, status: outcome.status, error: outcome.error, retry_in_ms: delay }, 'callback attempt failed; retrying');
    await this.records.save(record);
    this.tell(record);
    if (this.closed) return this.leave(entry);
    this.arm(entry);
  }

  private async attempt(record: DeliveryRecord, attempt: number, signal: AbortSignal): Promise<Outcome> {
    let url: URL;
    try {
      url = validateCallbackUrl(record.url, this.o.policy);
    } catch (err) {
      // The rules changed since it was recorded (FAAS_CALLBACK_ALLOW_PRIVATE turned off, say).
      return { kind: 'refused', status: null, error: (err as Error).message };
    }
    const resolved = await resolveCallbackTarget(url, this.o.policy, this.o.lookup);
    if (!resolved.ok) {
      // `final`: the name resolves to an address the rules refuse; otherwise it could not be resolved (retried).
      return resolved.final
        ? { kind: 'refused', status: null, error: resolved.reason }
        : { kind: 'retry', status: null, error: resolved.reason };
    }
    const body = Buffer.from(record.body, 'base64');
    const answer = await sendAttempt({
      target: resolved.target,
      body,
      headers: {
        'content-type': 'application/json',
        'user-agent': 'faas-callbacks',
        [SIGNATURE_HEADER]: signBody(body, this.o.secret),
        [INVOCATION_ID_HEADER]: record.invocationId,
        [DELIVERY_ID_HEADER]: record.id,
        [ATTEMPT_HEADER]: String(attempt),
      },
      timeoutMs: this.o.attemptTimeoutMs,
      maxResponseBytes: this.o.maxResponseBytes,
      ca: this.o.ca,
      signal,
    });
    return classifyAnswer(answer);
  }

  /** Ends a delivery: the record keeps its outcome (without the body) and leaves the pending list. */
  private async finish(record: DeliveryRecord, state: 'delivered' | 'failed' | 'refused'): Promise<DeliveryResult> {
    record.state = state;
    record.finishedAt = Date.now();
    record.body = '';
    const fields = {
      invocation_id: record.invocationId,
      delivery_id: record.id,
      attempts: record.attempts,
      url: logUrl(record.url),
      status: record.lastStatus,
    };
    if (state === 'delivered') this.o.log.info(fields, 'callback delivered');
    else if (state === 'refused')
      this.o.log.warn({ ...fields, error: record.lastError }, 'callback refused by the address rules; nothing sent');
    else this.o.log.warn({ ...fields, error: record.lastError }, 'callback delivery failed for good');
    // Observers first: a crash between the two then sends the delivery again (at least once), and
    // never leaves an observer without its end.
    this.tell(record);
    await this.records.save(record);
    const result = resultOf(record);
    const entry = this.active.get(record.id);
    this.active.delete(record.id);
    entry?.settle(result);
    this.o.onSettled?.(result);
    return result;
  }

  /** Tells every observer where `record` stands now. */
  private tell(record: DeliveryRecord): void {
    if (this.observers.size === 0) return;
    const progress: DeliveryProgress = { ...resultOf(record), finishedAt: record.finishedAt };
    for (const observer of this.observers) {
      try {
        observer(progress);
      } catch (err) {
        this.o.log.warn({ invocation_id: record.invocationId, err: (err as Error).message }, 'a callback delivery observer failed');
      }
    }
  }

  /** Takes one of `concurrency` slots; a waiter is handed the slot of the attempt that ends. */
  private async acquire(): Promise<void> {
    if (this.running < this.o.concurrency || this.closed) {
      this.running += 1;
      return;
    }
    await new Promise<void>((wake) => this.waiting.push(wake));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.running -= 1;
  }
}
