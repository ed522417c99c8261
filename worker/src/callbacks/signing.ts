/**
 * Signatures of callback deliveries, so a receiver can tell a delivery from this platform from a
 * forged one and refuse an old one sent again. The scheme (docs/API.md "Callbacks", whose
 * verification snippets mirror `verifySignature`):
 *
 *   X-Faas-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
 *
 * The timestamp is signed with the body, so it cannot be changed without breaking the signature,
 * and a receiver refuses a signature older (or newer) than its tolerance. Every attempt signs
 * afresh, so a retry an hour later still passes a five-minute tolerance. More than one `v1` may
 * appear (a receiver accepts any that matches), which leaves room to rotate the secret.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { join } from 'node:path';
import type { Config, Logger } from '@faas/common';
import { readOrCreateKeyFile } from '@faas/store';

export const SIGNATURE_HEADER = 'x-faas-signature';
export const INVOCATION_ID_HEADER = 'x-faas-invocation-id';
export const DELIVERY_ID_HEADER = 'x-faas-delivery-id';
export const ATTEMPT_HEADER = 'x-faas-attempt';

/** A receiver's default tolerance: signatures more than five minutes from its clock are refused. */
export const DEFAULT_TOLERANCE_S = 300;

/** The key of the HMAC is the secret's text as UTF-8 bytes, as the snippets in docs/API.md use it. */
function mac(secret: string, timestamp: number, body: string | Uint8Array): Buffer {
  const hmac = createHmac('sha256', secret);
  hmac.update(`${timestamp}.`);
  hmac.update(body);
  return hmac.digest();
}

/** The X-Faas-Signature value for `body` at `timestamp` (unix seconds). */
export function signBody(body: string | Uint8Array, secret: string, timestamp = Math.floor(Date.now() / 1000)): string {
  return `t=${timestamp},v1=${mac(secret, timestamp, body).toString('hex')}`;
}

/**
 * True when `header` (X-Faas-Signature) signs `body` (the raw bytes received, before any JSON
 * parsing) with `secret`, at a time within `toleranceS` seconds of `nowS`. Compares in constant
 * time; a malformed header is false, never an exception.
 */
export function verifySignature(
  body: string | Uint8Array,
  header: string | undefined,
  secret: string,
  toleranceS = DEFAULT_TOLERANCE_S,
  nowS = Math.floor(Date.now() / 1000),
): boolean {
  if (typeof header !== 'string') return false;
  let timestamp: number | undefined;
  const candidates: string[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === 't' && /^\d{1,15}$/.test(value)) timestamp = Number(value);
    else if (key === 'v1' && /^[0-9a-f]{64}$/.test(value)) candidates.push(value);
  }
  if (timestamp === undefined || candidates.length === 0) return false;
  if (Math.abs(nowS - timestamp) > toleranceS) return false;
  const expected = mac(secret, timestamp, body);
  let ok = false;
  for (const candidate of candidates) ok = timingSafeEqual(expected, Buffer.from(candidate, 'hex')) || ok;
  return ok;
}

/**
 * The signing secret: FAAS_CALLBACK_SECRET, or `<dataDir>/callback.key`, created once with 32
 * random bytes in hex (mode 0600) and read at every later start, so receivers keep verifying
 * across restarts. The value never enters a log line.
 */
export function loadCallbackSecret(config: Readonly<Config>, log: Logger): string {
  if (config.callbacks.secret !== undefined) return config.callbacks.secret;
  const path = join(config.dataDir, 'callback.key');
  const file = readOrCreateKeyFile(path, () => randomBytes(32).toString('hex'));
  log.info(
    { path },
    file.created
      ? 'created the callback signing secret (receivers verify X-Faas-Signature with it; set FAAS_CALLBACK_SECRET to choose one)'
      : 'callback signing secret read from its key file',
  );
  return file.value;
}
