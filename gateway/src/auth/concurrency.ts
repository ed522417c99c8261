/**
 * How many invocations an API key may have under way at once (docs/auth.md, "Concurrency"), decided
 * here for both of the gateway's front doors: the invoke route (from the key the auth hook
 * verified) and the asynchronous worker's (from the key an invocation was accepted with, read
 * again when it runs). The invocation core enforces what they resolve (`keyMaxConcurrency`,
 * orchestrator/src/layers/key-limit.ts); an invocation without one is not capped.
 */
import type { Config, Invocation } from '@faas/common';
import type { KeyRecord, KeyStore } from '@faas/store';
import { ADMIN_PRINCIPAL, type Principal } from './principal.js';

/**
 * A stored key's cap: its own `max_concurrency`, else the platform's FAAS_KEY_MAX_CONCURRENCY
 * (`platformDefault`; null: none). The admin key is not stored and has none (ADMIN_PRINCIPAL).
 */
export function keyConcurrencyCap(record: KeyRecord, platformDefault: number | null): number | null {
  return record.maxConcurrency ?? platformDefault;
}

/** What an invocation carries of its caller: the key's id and its cap, when it has them. */
export function callerOf(
  principal: Pick<Principal, 'keyId' | 'maxConcurrency'> | undefined,
): Pick<Invocation, 'keyId' | 'keyMaxConcurrency'> {
  const keyId = principal?.keyId;
  const cap = principal?.maxConcurrency ?? null;
  return { ...(keyId === undefined ? {} : { keyId }), ...(cap === null ? {} : { keyMaxConcurrency: cap }) };
}

/**
 * The caller of a queued invocation, when it runs: the key it was accepted with (null in open
 * mode) and that key's cap now. A key revoked since keeps its cap; one no longer stored gets the
 * platform's default; the admin key, and every key while the platform runs in open mode, none.
 */
export async function queuedCaller(
  config: Readonly<Config>,
  keys: KeyStore,
  keyId: string | null,
): Promise<Pick<Invocation, 'keyId' | 'keyMaxConcurrency'>> {
  if (keyId === null) return {};
  if (keyId === ADMIN_PRINCIPAL.keyId || config.auth.mode === 'open') return callerOf({ keyId, maxConcurrency: null });
  const record = await keys.get(keyId);
  const fallback = config.auth.keyMaxConcurrency;
  return callerOf({ keyId, maxConcurrency: record ? keyConcurrencyCap(record, fallback) : fallback });
}
