/** API keys: `/keys` (admin scope). */
import type { CallOptions, Transport } from './call.js';
import type { KeyCreate, KeyCreated, KeyInfo } from './types.js';

export class Keys {
  constructor(private readonly t: Transport) {}

  /** Makes a key; `key` in the answer is its only sight of the secret. */
  async create(request: KeyCreate, options?: CallOptions): Promise<KeyCreated> {
    const { data } = await this.t.call(options, (init) => this.t.api.POST('/keys', { body: request, ...init }));
    return data;
  }

  /** Every key made with create, revoked and expired ones included, newest first. */
  async list(options?: CallOptions): Promise<KeyInfo[]> {
    const { data } = await this.t.call(options, (init) => this.t.api.GET('/keys', init));
    return data.keys;
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
