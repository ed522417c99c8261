/** API keys: `/keys` (admin scope). */
import type { CallOptions, Transport } from './call.js';
import { everyItem } from './paging.js';
import type { KeyCreate, KeyCreated, KeyInfo, KeyList, ListKeysQuery } from './types.js';

export class Keys {
  constructor(private readonly t: Transport) {}

  /** Makes a key; `key` in the answer is its only sight of the secret. */
  async create(request: KeyCreate, options?: CallOptions): Promise<KeyCreated> {
    const { data } = await this.t.call(options, (init) => this.t.api.POST('/keys', { body: request, ...init }));
    return data;
  }

  /**
   * One page of the keys made with create, revoked and expired ones included, oldest first; pass
   * `next_cursor` back as `cursor` for the next.
   */
  async list(query: ListKeysQuery = {}, options?: CallOptions): Promise<KeyList> {
    const { data } = await this.t.call(options, (init) => this.t.api.GET('/keys', { params: { query }, ...init }));
    return data;
  }

  /** Every key, page after page; a key made meanwhile comes last. */
  all(query: Omit<ListKeysQuery, 'cursor'> = {}, options?: CallOptions): AsyncGenerator<KeyInfo, void, undefined> {
    return everyItem(
      (cursor) => this.list({ ...query, ...(cursor === undefined ? {} : { cursor }) }, options),
      (page) => page.keys,
    );
  }

  async get(keyId: string, options?: CallOptions): Promise<KeyInfo> {
    const { data } = await this.t.call(options, (init) =>
      this.t.api.GET('/keys/{key_id}', { params: { path: { key_id: keyId } }, ...init }),
    );
    return data;
  }

  /** Revokes a key: refused from the next request on; revoking it again changes nothing. */
  async revoke(keyId: string, options?: CallOptions): Promise<void> {
    await this.t.call(options, (init) => this.t.api.DELETE('/keys/{key_id}', { params: { path: { key_id: keyId } }, ...init }));
  }
}
