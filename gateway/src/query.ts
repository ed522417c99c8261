/**
 * Query strings: each parameter of the list routes checked, an unknown or repeated one refused, and
 * any parameter refused on every route that reads none (all but the list routes: `refuseUndeclaredQuery`,
 * run for every route by server.ts); every fault a 400 FAAS_ERR_INVALID_QUERY naming the parameter.
 * A parameter is never ignored.
 */
import { FaasError } from '@faas/common';
import { parseRfc3339 } from './auth/key-request.js';
import { INVOKE_TEMPLATE, openApiDocument } from './routes.js';
import { toWellFormedText } from './validation.js';

export const LIST_LIMIT_DEFAULT = 100;
export const LIST_LIMIT_MAX = 1000;

/** Longest cursor accepted; the store's are far shorter. */
const CURSOR_MAX_LENGTH = 1024;
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;

function invalid(name: string, message: string): never {
  throw new FaasError('FAAS_ERR_INVALID_QUERY', message, { details: { field: name } });
}

/** The query as single strings; throws for a parameter not in `known` or given twice. */
export function readQuery(query: unknown, known: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries((query ?? {}) as Record<string, unknown>)) {
    const shown = toWellFormedText(name.slice(0, 64));
    if (!known.includes(name)) invalid(shown, `unknown query parameter "${shown}"; this route takes ${known.join(', ')}`);
    if (typeof value !== 'string') invalid(shown, `${shown} is given more than once`);
    out[name] = value;
  }
  return out;
}

/**
 * For a route that reads no query string: throws for its first parameter, naming it. `instead`
 * tells, per parameter name, what to send in its place (a request that meant something by it must
 * not run as if it had not been sent).
 */
export function refuseQuery(query: unknown, route: string, instead: Record<string, string> = {}): void {
  for (const name of Object.keys((query ?? {}) as Record<string, unknown>)) {
    const shown = toWellFormedText(name.slice(0, 64));
    const hint = Object.hasOwn(instead, name) ? `: ${instead[name]}` : '';
    invalid(shown, `unknown query parameter "${shown}"; ${route} takes no query parameters${hint}`);
  }
}

const OPERATIONS = ['get', 'head', 'post', 'put', 'delete', 'patch'] as const;

interface ParameterObject {
  name?: string;
  in?: string;
  $ref?: string;
}

/** A parameter of the document, its `$ref` followed (components/parameters only). */
function parameterOf(p: ParameterObject): ParameterObject {
  if (typeof p.$ref !== 'string') return p;
  const name = p.$ref.replace(/^#\/components\/parameters\//, '');
  const components = (openApiDocument.components ?? {}) as { parameters?: Record<string, ParameterObject> };
  return components.parameters?.[name] ?? {};
}

/**
 * The query parameters of each operation of the OpenAPI document, by `METHOD /template`: what the
 * route reads. A route whose operation has none takes no query string at all.
 */
export const DOCUMENTED_QUERY: ReadonlyMap<string, readonly string[]> = (() => {
  const out = new Map<string, readonly string[]>();
  const paths = (openApiDocument.paths ?? {}) as Record<string, Record<string, { parameters?: ParameterObject[] }>>;
  for (const [template, item] of Object.entries(paths)) {
    const shared = (item.parameters ?? []) as unknown as ParameterObject[];
    for (const method of OPERATIONS) {
      const operation = item[method];
      if (!operation) continue;
      const names = [...shared, ...(operation.parameters ?? [])]
        .map(parameterOf)
        .filter((p) => p.in === 'query' && typeof p.name === 'string')
        .map((p) => p.name as string);
      out.set(`${method.toUpperCase()} ${template}`, names);
    }
  }
  return out;
})();

/**
 * What to send instead of the query parameters callers try on a route that takes none, by path
 * template (async-invoke.ts's RESPOND_ASYNC, spelled out: that module's imports lead back here).
 */
const INSTEAD: Record<string, Record<string, string>> = {
  [INVOKE_TEMPLATE]: { async: 'to queue the invocation, send the header Prefer: respond-async instead' },
};

/**
 * The public probes, which read no query string and ignore one: load balancers and orchestrators
 * are often configured with a cache-busting or tagging query on their health checks, and a probe
 * that failed on it would take a healthy platform out of service.
 */
export const PROBES: ReadonlySet<string> = new Set(['/health', '/ready', '/openapi.json']);

/**
 * For every routed request (server.ts, before the route's handler): a route whose operation the
 * document gives no query parameter reads no query string, so any parameter is refused, naming it;
 * a route that has some reads them itself (`readQuery`, which refuses one it does not know).
 * `routeUrl` is the route as registered (`/functions/:function_id`); a route the document does
 * not describe (the console's files) is left alone.
 */
export function refuseUndeclaredQuery(method: string, routeUrl: string | undefined, query: unknown): void {
  if (routeUrl === undefined || PROBES.has(routeUrl)) return;
  const template = routeUrl.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, '{$1}');
  const taken = DOCUMENTED_QUERY.get(`${method} ${template}`) ?? (method === 'HEAD' ? DOCUMENTED_QUERY.get(`GET ${template}`) : undefined);
  if (taken === undefined || taken.length > 0) return;
  const route = template === INVOKE_TEMPLATE ? 'the invoke route' : `${method} ${template}`;
  refuseQuery(query, route, INSTEAD[template]);
}

export function parseLimit(value: string | undefined): number {
  if (value === undefined) return LIST_LIMIT_DEFAULT;
  const n = Number(value);
  if (!/^[0-9]{1,4}$/.test(value) || n < 1 || n > LIST_LIMIT_MAX) invalid('limit', `limit must be an integer from 1 to ${LIST_LIMIT_MAX}`);
  return n;
}

export function parseCursor(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (value.length === 0 || value.length > CURSOR_MAX_LENGTH) invalid('cursor', 'cursor must be the next_cursor of a previous page');
  return value;
}

/** An RFC 3339 time or epoch milliseconds, as epoch milliseconds. */
export function parseTime(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  let ms = Number.NaN;
  if (/^[0-9]{1,16}$/.test(value)) ms = Number(value);
  // parseRfc3339 refuses a day or an hour that does not exist (2026-02-30, 24:00), which Date.parse rolls over.
  else if (RFC3339.test(value)) ms = parseRfc3339(value.replace(' ', 'T')) ?? Number.NaN;
  if (!Number.isSafeInteger(ms) || ms < 0) {
    invalid(name, `${name} must be an RFC 3339 time (2026-01-31T12:00:00Z) or epoch milliseconds`);
  }
  return ms;
}
