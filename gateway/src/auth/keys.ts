/**
 * The text of an API key: `faas_<id>_<secret>`. The id (12 characters of lowercase base32hex,
 * 60 random bits) is public: it names the key in lists, logs and the history, and finds its record
 * with one indexed lookup. The secret (32 random bytes, base64url, 43 characters) is shown once,
 * when the key is created; the store keeps only its SHA-256. A key has 256 bits of entropy, so a
 * fast hash is enough: nobody can guess it, slowly or quickly.
 */
import { createHash, randomBytes } from 'node:crypto';

export const KEY_PREFIX = 'faas_';
export const KEY_ID_LENGTH = 12;
export const KEY_SECRET_BYTES = 32;

/** RFC 4648 base32hex, lowercase: sorts like the bytes it encodes, and has no `_` to confuse the parser. */
const BASE32HEX = '0123456789abcdefghijklmnopqrstuv';

/** An id as it appears in a key and in the `/keys/{id}` routes. */
export const KEY_ID = /^[0-9a-v]{12}$/;

/**
 * The whole key: the id, then 43 base64url characters of which the last carries only 4 bits (its 2 low bits are zero), so
 * exactly one text stands for each secret (no second spelling of the same key is accepted).
 */
const KEY_TEXT = /^faas_([0-9a-v]{12})_([A-Za-z0-9_-]{42}[AEIMQUYcgkosw048])$/;

export interface ParsedKey {
  id: string;
  /** The base64url text of the secret (what is hashed). */
  secret: string;
}

export interface NewKey extends ParsedKey {
  /** The key as the caller sends it; shown once and never logged. */
  text: string;
  /** What the store keeps. */
  secretHash: Buffer;
}

/** A new random key id. */
export function newKeyId(): string {
  const bytes = randomBytes(8);
  let bits = bytes.readBigUInt64BE();
  let id = '';
  for (let i = 0; i < KEY_ID_LENGTH; i++) {
    id += BASE32HEX[Number(bits & 31n)];
    bits >>= 5n;
  }
  return id;
}

/** A new key: id, secret, its text and the hash the store keeps. */
export function generateKey(): NewKey {
  const id = newKeyId();
  const secret = randomBytes(KEY_SECRET_BYTES).toString('base64url');
  return { id, secret, text: `${KEY_PREFIX}${id}_${secret}`, secretHash: hashSecret(secret) };
}

/** The key's id and secret, or undefined for anything that is not exactly a key's text. */
export function parseKey(text: string): ParsedKey | undefined {
  const match = KEY_TEXT.exec(text);
  if (!match) return undefined;
  return { id: match[1] as string, secret: match[2] as string };
}

/** SHA-256 of the secret's text (what KeyInput.secretHash holds). */
export function hashSecret(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}
