/**
 * Who is calling: what the auth hook attaches to every request it lets through, and what routes
 * consult for function restrictions and for the key id they record.
 */
import { FaasError } from '@faas/common';
import { SCOPES, type Scope } from '@faas/store';

export interface Principal {
  /** The API key's id (`admin` for the admin key); undefined in open mode. */
  keyId: string | undefined;
  /** Scopes the key holds (`admin` implies every scope). */
  scopes: ReadonlySet<Scope>;
  /** Function ids (exact, or a prefix ending in `*`) the key is limited to; null: every function. */
  functions: readonly string[] | null;
  /**
   * Invocations the key may have under way at once (concurrency.ts: its own `max_concurrency`, or
   * FAAS_KEY_MAX_CONCURRENCY); null: no cap (the admin key, open mode).
   */
  maxConcurrency: number | null;
}

const EVERY_SCOPE: ReadonlySet<Scope> = new Set(SCOPES);

/** The admin key (FAAS_ADMIN_KEY): everything, on every function. */
export const ADMIN_PRINCIPAL: Principal = Object.freeze({ keyId: 'admin', scopes: EVERY_SCOPE, functions: null, maxConcurrency: null });

/** Open mode (FAAS_AUTH=open, loopback only): no keys, so nobody to name and nothing to refuse. */
export const OPEN_PRINCIPAL: Principal = Object.freeze({ keyId: undefined, scopes: EVERY_SCOPE, functions: null, maxConcurrency: null });

/** True when `principal` holds `scope`, itself or through `admin`. */
export function hasScope(principal: Principal, scope: Scope): boolean {
  return principal.scopes.has(scope) || principal.scopes.has('admin');
}

/** True when `principal` may act on function `functionId` (its restriction list allows it). */
export function allowsFunction(principal: Principal, functionId: string): boolean {
  if (principal.functions === null) return true;
  return principal.functions.some((pattern) =>
    pattern.endsWith('*') ? functionId.startsWith(pattern.slice(0, -1)) : functionId === pattern,
  );
}

/**
 * Throws 403 FAAS_ERR_FORBIDDEN unless `principal` may act on `functionId`; for routes that learn
 * the function id from somewhere the auth hook cannot see (a body, a stored record). A request
 * without a principal (a public route) is refused too: no route that names a function is public.
 */
export function assertFunctionAllowed(principal: Principal | undefined, functionId: string): void {
  if (!principal || !allowsFunction(principal, functionId)) {
    throw new FaasError('FAAS_ERR_FORBIDDEN', 'this API key is not allowed this function');
  }
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the auth hook before any route runs; undefined only on the public routes. */
    principal?: Principal;
  }
}
