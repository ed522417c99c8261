/**
 * The durable side of callback deliveries, on the store's KvStore (which has only get and set):
 * each delivery is a JSON record under `callback:<deliveryId>`, and the ids of those not yet
 * ended are listed under `callback:pending`, which `resumePending()` reads at start-up. An ended
 * delivery keeps a small record (outcome, no body), which makes a repeated `deliver` with the
 * same id answer its outcome.
 *
 * Writes run one at a time, in the order they were asked for, so the list on disk is never older
 * than a record written after it. A store fault is logged and swallowed: the delivery goes on in
 * memory, and only its survival of a restart is lost.
 */
import type { Logger } from '@faas/common';
import type { KvStore } from '@faas/store';

/** KvStore key listing the ids of deliveries not yet ended (a JSON array). */
export const PENDING_KEY = 'callback:pending';
export const recordKey = (deliveryId: string) => `callback:${deliveryId}`;

/** What is stored per delivery; `body` (base64) is emptied once the delivery ends. */
export interface DeliveryRecord {
  v: 1;
  id: string;
  invocationId: string;
  url: string;
  body: string;
  /** `refused`: nothing was sent, the address rules refuse the URL or the address its host resolves to. */
  state: 'pending' | 'delivered' | 'failed' | 'refused';
  attempts: number;
  /** Epoch milliseconds. */
  nextAttemptAt: number;
  createdAt: number;
  finishedAt: number | null;
  lastStatus: number | null;
  lastError: string | null;
}

export class DeliveryRecords {
  private readonly pendingIds = new Set<string>();
  private writes: Promise<void> = Promise.resolve();

  constructor(
    private readonly kv: KvStore,
    private readonly log: Logger,
  ) {}

  /** The record, or undefined when there is none or it cannot be read. */
  async read(id: string): Promise<DeliveryRecord | undefined> {
    try {
      const text = await this.kv.get(recordKey(id));
      return text === undefined ? undefined : (JSON.parse(text) as DeliveryRecord);
    } catch (err) {
      this.log.warn({ delivery_id: id, err: (err as Error).message }, 'cannot read a callback delivery record');
      return undefined;
    }
  }

  /** The pending records a previous run left; the list is rewritten without the ids that ended or cannot be read. */
  async readPending(skip: (id: string) => boolean): Promise<DeliveryRecord[]> {
    let ids: string[];
    try {
      const text = await this.kv.get(PENDING_KEY);
      ids = text === undefined ? [] : (JSON.parse(text) as string[]);
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'cannot read the pending callback deliveries; they resume at the next start');
      return [];
    }
    const records: DeliveryRecord[] = [];
    for (const id of ids) {
      if (skip(id)) continue;
      const record = await this.read(id);
      if (record?.state !== 'pending') continue;
      this.pendingIds.add(id);
      records.push(record);
    }
    await this.writeList();
    return records;
  }

  /** Marks a record pending again (a repeated `deliver` of one a previous run left). */
  adopt(record: DeliveryRecord): void {
    this.pendingIds.add(record.id);
  }

  /**
   * Writes the record, then the pending list when the record joined or left it. Resolves once
   * written: true when both writes were made, false when the store refused one (logged).
   */
  save(record: DeliveryRecord): Promise<boolean> {
    const listed = this.pendingIds.has(record.id);
    const pending = record.state === 'pending';
    if (pending) this.pendingIds.add(record.id);
    else this.pendingIds.delete(record.id);
    const text = JSON.stringify(record);
    let written = true;
    this.writes = this.writes.then(async () => {
      try {
        await this.kv.set(recordKey(record.id), text);
      } catch (err) {
        written = false;
        this.log.warn(
          { delivery_id: record.id, invocation_id: record.invocationId, err: (err as Error).message },
          'cannot record a callback delivery; it goes on in memory',
        );
      }
    });
    const done = listed === pending ? this.writes : this.writeList(() => (written = false));
    return done.then(() => written);
  }

  /** Resolves when every write asked for so far is done. */
  flushed(): Promise<void> {
    return this.writes;
  }

  private writeList(onFailure?: () => void): Promise<void> {
    this.writes = this.writes.then(async () => {
      try {
        await this.kv.set(PENDING_KEY, JSON.stringify([...this.pendingIds]));
      } catch (err) {
        onFailure?.();
        this.log.warn({ err: (err as Error).message }, 'cannot record the pending callback deliveries');
      }
    });
    return this.writes;
  }
}
