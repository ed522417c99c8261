/**
 * Who sent a request: the `Authorization: Bearer <key>` header checked against the admin key and
 * the store's API keys. Every comparison of secrets takes the same time whatever the bytes (both
 * sides hashed to 32 bytes, then `timingSafeEqual`), and an unknown key id is compared against a
 * dummy hash, so neither the time nor the answer tells a guessed id from a real one.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { KeyRecord, KeyStore } from '@faas/store';
import { keyConcurrencyCap } from './concurrency.js';
import { hashSecret, parseKey } from './keys.js';
import { ADMIN_PRINCIPAL, type Principal } from './principal.js';
import type { RateLimit } from './rate-limit.js';

/** Why a request was not let in; only a caller that proved it holds the key learns more than `invalid`. */
export type Refusal = 'missing' | 'malformed' | 'invalid' | 'revoked' | 'expired';

export type Verification =
  | { ok: true; principal: Principal; limit: RateLimit | null }
  | { ok: false; refusal: Refusal; keyId?: string | undefined };

/** The answer's message per refusal: how to fix it, never what the key was. */
export const REFUSAL_MESSAGES: Record<Refusal, string> = {
  missing: 'this route needs an API key: send Authorization: Bearer <key>',
  malformed: 'send the API key as one Authorization: Bearer <key> header',
  invalid: 'the API key is not valid',
  revoked: 'the API key has been revoked',
  expired: 'the API key has expired',
};

/** Longest bearer token considered: far above any key, far below what would cost to hash. */
const MAX_TOKEN_LENGTH = 1024;
/** `Bearer`, any case, then the token: visible ASCII, no spaces (RFC 6750 b64token is stricter still). */
const BEARER = /^bearer +([!-~]+) *$/i;

/**
 * The bearer token of a request, from its raw header list: one Authorization header, scheme
 * Bearer. Node keeps only the first of repeated Authorization headers in `headers`, so the raw
 * list is what can tell that a second one was sent.
 */
export function bearerToken(rawHeaders: readonly string[]): { token: string } | { refusal: 'missing' | 'malformed' } {
  let value: string | undefined;
  let count = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] as string;
    if (name.length === 13 && name.toLowerCase() === 'authorization') {
      count++;
      value = rawHeaders[i + 1];
    }
  }
  if (count === 0) return { refusal: 'missing' };
  if (count > 1 || value === undefined || value.length > MAX_TOKEN_LENGTH + 16) return { refusal: 'malformed' };
  const match = BEARER.exec(value);
  return match ? { token: match[1] as string } : { refusal: 'malformed' };
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

export interface VerifierOptions {
  keys: KeyStore;
  /** The admin key; undefined: none (open mode, where nothing is verified). */
  adminKey: string | undefined;
  /** The cap of a key without a `max_concurrency` of its own (FAAS_KEY_MAX_CONCURRENCY); null: none. */
  keyMaxConcurrency: number | null;
  /** Wall-clock epoch milliseconds, for expiry. */
  now?: () => number;
}

/**
 * Builds the check the auth hook runs on every request. The admin key is checked first and
 * synchronously; an API key costs one indexed lookup (the store's prepared statement) and a
 * `touch` that the store batches to once a minute.
 */
export function createVerifier(options: VerifierOptions): (token: string) => Verification | Promise<Verification> {
  const { keys } = options;
  const now = options.now ?? Date.now;
  const adminHash = options.adminKey === undefined ? undefined : sha256(options.adminKey);
  // Compared against when the id is unknown: same work, same (negative) answer.
  const dummyHash = randomBytes(32);

  const decide = (found: { record: KeyRecord; secretHash: Buffer } | undefined, secretHash: Buffer): Verification => {
    const stored = found && found.secretHash.length === secretHash.length ? found.secretHash : dummyHash;
    const matches = timingSafeEqual(secretHash, stored);
    if (!found || !matches) return { ok: false, refusal: 'invalid' };
    const { record } = found;
    if (record.revokedAt !== null) return { ok: false, refusal: 'revoked', keyId: record.id };
    if (record.expiresAt !== null && now() >= record.expiresAt) return { ok: false, refusal: 'expired', keyId: record.id };
    keys.touch(record.id);
    return { ok: true, principal: principalOf(record, options.keyMaxConcurrency), limit: limitOf(record) };
  };

  return (token) => {
    if (token.length > MAX_TOKEN_LENGTH) return { ok: false, refusal: 'invalid' };
    if (adminHash && timingSafeEqual(sha256(token), adminHash)) return { ok: true, principal: ADMIN_PRINCIPAL, limit: null };
    const parsed = parseKey(token);
    if (!parsed) return { ok: false, refusal: 'invalid' };
    const secretHash = hashSecret(parsed.secret);
    return keys.lookup(parsed.id).then((found) => decide(found, secretHash));
  };
}

export function principalOf(record: KeyRecord, keyMaxConcurrency: number | null): Principal {
  return {
    keyId: record.id,
    scopes: new Set(record.scopes),
    functions: record.functions,
    maxConcurrency: keyConcurrencyCap(record, keyMaxConcurrency),
  };
}

/** The key's own rate limit; a key stored with a rate but no burst may send one second's worth at once. */
export function limitOf(record: KeyRecord): RateLimit | null {
  if (record.ratePerSecond === null || !(record.ratePerSecond > 0)) return null;
  return { perSecond: record.ratePerSecond, burst: record.rateBurst ?? Math.max(1, Math.ceil(record.ratePerSecond)) };
}
