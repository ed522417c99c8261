/**
 * Which scope each route needs (docs/API.md, the table under "Authentication"), looked up by the
 * route Fastify actually matched, so what is checked is what will run. A route missing from the
 * table needs `admin`: a new route is closed until someone decides who may call it.
 */
import type { Scope } from '@faas/store';

export interface AccessRule {
  /** Any one of these lets the caller in (`admin` always does). */
  scopes: readonly Scope[];
  /** The route parameter holding a function id the key must be allowed; undefined: none. */
  functionParam?: string | undefined;
  /** The route shows every function (GET /metrics: its labels name them): a key limited to some may not use it. */
  everyFunction?: boolean;
}

/**
 * Keyed by method and path shape: parameters are written `{}` whatever their name. HEAD follows
 * GET. An empty scope list: any valid key (the public routes, reached by another spelling of
 * their path such as `/%68ealth`, which the router decodes but the public check does not).
 */
const TABLE: Record<string, { scopes: readonly Scope[]; function?: true; everyFunction?: true }> = {
  'POST /functions/{}/invoke': { scopes: ['invoke'], function: true },
  'GET /functions': { scopes: ['functions', 'invoke'] },
  'POST /functions': { scopes: ['functions'] },
  'GET /functions/{}': { scopes: ['functions', 'invoke'], function: true },
  'PATCH /functions/{}': { scopes: ['functions'], function: true },
  'DELETE /functions/{}': { scopes: ['functions'], function: true },
  'GET /functions/{}/invocations': { scopes: ['history'], function: true },
  // Checked against the record's function by the history routes (allowsFunction).
  'GET /invocations/{}': { scopes: ['history'] },
  'GET /invocations/{}/output': { scopes: ['history'] },
  // Asynchronous invocations: cancelling one is part of invoking; reading dead letters is history,
  // re-driving or discarding one acts on an invocation (checked against its function by the routes).
  'DELETE /invocations/{}': { scopes: ['invoke'] },
  'GET /dead-letters': { scopes: ['history'] },
  'POST /dead-letters/{}/redrive': { scopes: ['invoke'] },
  'DELETE /dead-letters/{}': { scopes: ['invoke'] },
  'GET /metrics': { scopes: ['metrics'], everyFunction: true },
  'POST /keys': { scopes: ['admin'] },
  'GET /keys': { scopes: ['admin'] },
  'GET /keys/{}': { scopes: ['admin'] },
  'DELETE /keys/{}': { scopes: ['admin'] },
  'GET /health': { scopes: [] },
  'GET /ready': { scopes: [] },
  'GET /openapi.json': { scopes: [] },
  // The console's static files (console.ts): public as spelled plainly, any valid key otherwise.
  'GET /console': { scopes: [] },
  'GET /console/*': { scopes: [] },
};

const ADMIN_ONLY: AccessRule = { scopes: ['admin'] };

const cache = new Map<string, AccessRule>();

/** `/functions/:function_id/invoke` (Fastify) or `/functions/{function_id}/invoke` (OpenAPI) → `/functions/{}/invoke`. */
export function routeShape(url: string): string {
  return url
    .split('/')
    .map((segment) => (segment.startsWith(':') || /^\{[^}]*\}$/.test(segment) ? '{}' : segment))
    .join('/');
}

/** True when the table names the route (the tests check every documented operation is there). */
export function hasAccessRule(method: string, url: string): boolean {
  return `${method === 'HEAD' ? 'GET' : method} ${routeShape(url)}` in TABLE;
}

/** The rule for `method` on the route `url` (Fastify's `/a/:b` or OpenAPI's `/a/{b}`). */
export function access(method: string, url: string): AccessRule {
  const key = `${method} ${url}`;
  let rule = cache.get(key);
  if (!rule) {
    const entry = TABLE[`${method === 'HEAD' ? 'GET' : method} ${routeShape(url)}`];
    if (!entry) {
      rule = ADMIN_ONLY;
    } else {
      // The function id is the parameter right after /functions/.
      const segment = url.split('/')[2] ?? '';
      const name = segment.startsWith(':') ? segment.slice(1) : segment.replace(/^\{|\}$/g, '');
      rule = {
        scopes: entry.scopes,
        functionParam: entry.function ? name : undefined,
        ...(entry.everyFunction ? { everyFunction: true } : {}),
      };
    }
    cache.set(key, rule);
  }
  return rule;
}
