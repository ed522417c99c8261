/**
 * Which scope a request needs (docs/API.md, the table under "Authentication"). It is decided from
 * the shape of the path, not from what the router matched, so that a key without the scope gets
 * its 403 on every spelling of a path of the family, and on every method: a trailing slash, an
 * undeclared method, an extra segment, another case, percent-encoded dot segments. Only a key that
 * holds the scope goes on to learn the router's 404 or 405 (auth/hook.ts).
 *
 * The route families are the first path segments of the table (/functions, /invocations,
 * /dead-letters, /keys, /metrics). A path of a family needs, for its method and shape, the scopes
 * of that operation in the table; for a method its shape does not declare, the scopes of the
 * methods it does declare; for a shape the family has no route for, the scopes of the whole
 * family. A path of no family (/nope, another spelling of /health) needs none: any valid key.
 *
 * A route the router matched that is missing from the table needs `admin` besides: a new route is
 * closed until someone decides who may call it.
 */
import type { Scope } from '@faas/store';

export interface AccessRule {
  /** Any one of these lets the caller in (`admin` always does); empty: any valid key. */
  scopes: readonly Scope[];
  /** The route parameter holding a function id the key must be allowed; undefined: none. */
  functionParam?: string | undefined;
  /** The route shows every function (GET /metrics: its labels name them): a key limited to some may not use it. */
  everyFunction?: boolean;
}

/** What one reading of a request's path asks of its key. */
export interface Requirement {
  /** Any one of these lets the caller in (`admin` always does); never empty. */
  scopes: readonly Scope[];
  /** A function id (decoded) the key must be allowed; undefined: none. */
  functionId?: string;
  /** The path reports on every function: a key limited to some may not use it. */
  everyFunction?: boolean;
  /** Who needs the scopes, for the 403's message: `this route needs`, `the /functions paths need`. */
  what: string;
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

/** The rule for `method` on the route `url` (Fastify's `/a/:b` or OpenAPI's `/a/{b}`); `admin` for a route not in the table. */
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

interface Operation {
  scopes: readonly Scope[];
  function: boolean;
  everyFunction: boolean;
}

interface Shape {
  /** Literal segments (lower case) and `{}` for a parameter, the family first. */
  segments: readonly string[];
  /** By method (HEAD as GET). */
  operations: ReadonlyMap<string, Operation>;
}

interface Family {
  name: string;
  shapes: readonly Shape[];
  /** What any other path of the family needs: every scope of its operations. */
  any: Operation;
}

function union(operations: Iterable<Operation>): Operation {
  const scopes = new Set<Scope>();
  let fn = false;
  let every = false;
  for (const op of operations) {
    for (const scope of op.scopes) scopes.add(scope);
    fn ||= op.function;
    every ||= op.everyFunction;
  }
  return { scopes: [...scopes], function: fn, everyFunction: every };
}

/** The families: every first segment whose table entries need a scope. */
const FAMILIES: ReadonlyMap<string, Family> = (() => {
  const byFamily = new Map<string, Map<string, Map<string, Operation>>>();
  for (const [key, entry] of Object.entries(TABLE)) {
    if (entry.scopes.length === 0) continue;
    const [method = '', path = ''] = key.split(' ');
    const name = path.split('/')[1] ?? '';
    const shapes = byFamily.get(name) ?? new Map<string, Map<string, Operation>>();
    byFamily.set(name, shapes);
    const operations = shapes.get(path) ?? new Map<string, Operation>();
    shapes.set(path, operations);
    operations.set(method, { scopes: entry.scopes, function: entry.function === true, everyFunction: entry.everyFunction === true });
  }
  const families = new Map<string, Family>();
  for (const [name, shapes] of byFamily) {
    const list = [...shapes].map(([path, operations]) => ({ segments: path.split('/').slice(1), operations }));
    families.set(name, { name, shapes: list, any: union(list.flatMap((s) => [...s.operations.values()])) });
  }
  return families;
})();

/** The route families' first segments: `functions`, `invocations`, `dead-letters`, `keys`, `metrics`. */
export const FAMILY_NAMES: readonly string[] = [...FAMILIES.keys()];

/** A path segment percent-decoded as the router decodes a parameter; as it is when it cannot be. */
function decodeSegment(segment: string): string {
  if (!segment.includes('%')) return segment;
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/**
 * The readings of a path (no query) that decide its scope, each a list of decoded segments:
 * - as the router reads it, a trailing slash aside (`/functions/` is the /functions collection's);
 * - with empty and dot segments resolved (RFC 3986 remove_dot_segments, on the decoded segments:
 *   `%2e%2e` is `..`), as a client, a proxy or a later version of the router could read it.
 * A request must satisfy both.
 */
export function pathReadings(path: string): string[][] {
  const raw = path.split('/').slice(1).map(decodeSegment);
  if (raw.length > 1 && raw[raw.length - 1] === '') raw.pop();
  const resolved: string[] = [];
  for (const segment of raw) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') resolved.pop();
    else resolved.push(segment);
  }
  return resolved.join('/') === raw.join('/') ? [raw] : [raw, resolved];
}

/** What `method` on the path `segments` (decoded) needs; undefined for a path of no family. */
function requirementOf(method: string, segments: readonly string[]): Requirement | undefined {
  const family = FAMILIES.get((segments[0] ?? '').toLowerCase());
  if (!family) return undefined;
  const verb = method === 'HEAD' ? 'GET' : method;
  const shape = family.shapes.find(
    (s) => s.segments.length === segments.length && s.segments.every((part, i) => part === '{}' || part === segments[i]?.toLowerCase()),
  );
  const declared = shape?.operations.get(verb);
  const op = declared ?? (shape ? union(shape.operations.values()) : family.any);
  const what = declared ? 'this route needs' : shape ? 'the methods of this path need' : `the /${family.name} paths need`;
  const functionId = op.function && segments.length > 1 ? segments[1] : undefined;
  return {
    scopes: op.scopes,
    what,
    ...(functionId !== undefined ? { functionId } : {}),
    ...(op.everyFunction ? { everyFunction: true } : {}),
  };
}

/**
 * What a request for `method` on `path` (the raw request target's path, no query) asks of its key,
 * whether or not a route serves it: one requirement per reading of the path that falls in a family.
 */
export function requirementsOf(method: string, path: string): Requirement[] {
  const out: Requirement[] = [];
  for (const segments of pathReadings(path)) {
    const requirement = requirementOf(method, segments);
    if (requirement) out.push(requirement);
  }
  return out;
}
