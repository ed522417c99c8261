/**
 * The API key routes: POST /keys, GET /keys, GET /keys/{id}, DELETE /keys/{id} (docs/API.md),
 * scope `admin` (checked by the auth hook). A key's text is in the creation answer only: it is
 * never stored (its SHA-256 is), never logged and never shown again.
 */
import { FaasError } from '@faas/common';
import type { KeyRecord } from '@faas/store';
import type { FastifyInstance } from 'fastify';
import type { GatewayDeps } from '../deps.js';
import { sendFault } from '../errors.js';
import { parseCursor, parseLimit, readQuery } from '../query.js';
import { parseKeyRequest } from './key-request.js';
import { generateKey, KEY_ID } from './keys.js';

/** A key as the API shows it (`KeyInfo`): snake_case, times in RFC 3339 or null. */
export interface KeyInfo {
  id: string;
  name: string;
  scopes: string[];
  functions: string[] | null;
  rate_limit: { per_second: number; burst: number } | null;
  /** The key's own cap on invocations under way at once; null: FAAS_KEY_MAX_CONCURRENCY. */
  max_concurrency: number | null;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
  last_used_at: string | null;
}

const time = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export function keyInfo(record: KeyRecord): KeyInfo {
  return {
    id: record.id,
    name: record.name,
    scopes: [...record.scopes],
    functions: record.functions === null ? null : [...record.functions],
    rate_limit:
      record.ratePerSecond === null
        ? null
        : { per_second: record.ratePerSecond, burst: record.rateBurst ?? Math.max(1, Math.ceil(record.ratePerSecond)) },
    max_concurrency: record.maxConcurrency,
    created_at: new Date(record.createdAt).toISOString(),
    expires_at: time(record.expiresAt),
    revoked_at: time(record.revokedAt),
    last_used_at: time(record.lastUsedAt),
  };
}

function keyNotFound(): FaasError {
  return new FaasError('FAAS_ERR_KEY_NOT_FOUND', 'no API key with this id; see GET /keys');
}

export function registerKeyRoutes(app: FastifyInstance, deps: GatewayDeps): void {
  const { keys } = deps.store;

  app.post('/keys', async (request, reply) => {
    try {
      const fields = parseKeyRequest(request.body, Date.now());
      const key = generateKey();
      const record = await keys.create({ id: key.id, secretHash: key.secretHash, ...fields });
      request.log.info({ keyId: record.id, name: record.name, scopes: record.scopes, by: request.principal?.keyId }, 'API key created');
      return reply
        .code(201)
        .header('location', `/keys/${record.id}`)
        .send({ key: key.text, ...keyInfo(record) });
    } catch (err) {
      return sendFault(request, reply, err);
    }
  });

  app.get('/keys', async (request, reply) => {
    try {
      const query = readQuery(request.query, ['limit', 'cursor']);
      const limit = parseLimit(query.limit);
      const cursor = parseCursor(query.cursor);
      // Oldest first: a key made while a client pages comes on a later page, never before its cursor.
      const page = await keys.list({ limit, ...(cursor !== undefined ? { cursor } : {}) });
      return { keys: page.items.map(keyInfo), next_cursor: page.nextCursor };
    } catch (err) {
      return sendFault(request, reply, err);
    }
  });

  app.get<{ Params: { key_id: string } }>('/keys/:key_id', async (request, reply) => {
    try {
      const id = request.params.key_id;
      const record = KEY_ID.test(id) ? await keys.get(id) : undefined;
      if (!record) throw keyNotFound();
      return keyInfo(record);
    } catch (err) {
      return sendFault(request, reply, err);
    }
  });

  app.delete<{ Params: { key_id: string } }>('/keys/:key_id', async (request, reply) => {
    try {
      const id = request.params.key_id;
      // The hook reads the record on every request, so the next request with this key is refused.
      if (!KEY_ID.test(id) || !(await keys.revoke(id))) throw keyNotFound();
      request.log.info({ keyId: id, by: request.principal?.keyId }, 'API key revoked');
      return reply.code(204).send();
    } catch (err) {
      return sendFault(request, reply, err);
    }
  });
}
