/**
 * Who is calling: what the auth hook attaches to every request it lets through, and what routes
 * consult for function restrictions and for the key id they record.
 */
import type { Scope } from '@faas/store';

export interface Principal {
  /** The API key's id (`admin` for the admin key); undefined in open mode. */
  keyId: string | undefined;
  /** Scopes the key holds (`admin` implies every scope). */
  scopes: ReadonlySet<Scope>;
  /** Function ids (exact, or a prefix ending in `*`) the key is limited to; null: every function. */
  functions: readonly string[] | null;
}

/** True when `principal` may act on function `functionId` (its restriction list allows it). */
export function allowsFunction(principal: Principal, functionId: string): boolean {
  if (principal.functions === null) return true;
  return principal.functions.some((pattern) =>
    pattern.endsWith('*') ? functionId.startsWith(pattern.slice(0, -1)) : functionId === pattern,
  );
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the auth hook before any route runs; undefined only on the public routes. */
    principal?: Principal;
  }
}
