/** Asynchronous invocations that used up their attempts: `/dead-letters`. */
import type { CallOptions, Transport } from './call.js';
import { everyItem } from './paging.js';
import type { AsyncAccepted, DeadLetter, DeadLetterList, ListDeadLettersQuery } from './types.js';

export class DeadLetters {
  constructor(private readonly t: Transport) {}

  /** One page, most recently dead first; `function_id` narrows it to one function. */
  async list(query: ListDeadLettersQuery = {}, options?: CallOptions): Promise<DeadLetterList> {
    const { data } = await this.t.call(options, (init) => this.t.api.GET('/dead-letters', { params: { query }, ...init }));
    return data;
  }

  all(query: Omit<ListDeadLettersQuery, 'cursor'> = {}, options?: CallOptions): AsyncGenerator<DeadLetter, void, undefined> {
    return everyItem(
      (cursor) => this.list({ ...query, ...(cursor === undefined ? {} : { cursor }) }, options),
      (page) => page.dead_letters,
    );
  }

  /** Queues it again under the same id, with a new set of attempts. */
  async redrive(invocationId: string, options?: CallOptions): Promise<AsyncAccepted> {
    const { data } = await this.t.call(options, (init) =>
      this.t.api.POST('/dead-letters/{invocation_id}/redrive', { params: { path: { invocation_id: invocationId } }, ...init }),
    );
    return data;
  }

  /** Drops it from the dead letters; the invocation stays readable as `failed`. */
  async delete(invocationId: string, options?: CallOptions): Promise<void> {
    await this.t.call(options, (init) =>
      this.t.api.DELETE('/dead-letters/{invocation_id}', { params: { path: { invocation_id: invocationId } }, ...init }),
    );
  }
}
