/**
 * The auth hook: API keys, scopes, function restrictions and rate limits on every route but the
 * public ones (docs/API.md, "Authentication"). It runs at onRequest, first of the gateway's hooks:
 * before the 404/405 answers and before any body is read, so a caller without a valid key learns
 * nothing about paths, methods or bodies and cannot make the gateway read or parse a large body.
 *
 * Order: public route? → a valid key (401) → its rate limit (429) → the scope of the path's family
 * and shape and the function it names (403; access.ts), for every method and spelling of the
 * path → only then, for a key that holds the scope, the 404/405 of unknown paths and wrong methods.
 */
import { FaasError } from '@faas/common';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isConsolePath } from '../console.js';
import type { GatewayDeps } from '../deps.js';
import { sendFault } from '../errors.js';
import { hasTrailingSlash, pathOf } from '../routes.js';
import { access, type Requirement, requirementsOf } from './access.js';
import { reachesEveryFunction } from './key-request.js';
import { allowsFunction, hasScope, OPEN_PRINCIPAL, type Principal } from './principal.js';
import { RateLimiter } from './rate-limit.js';
import { bearerToken, createVerifier, REFUSAL_MESSAGES, type Refusal, type Verification } from './verify.js';

/** Answered without a key, matched on the raw path: no case folding, no decoding, no trailing slash. */
const PUBLIC_PATHS: ReadonlySet<string> = new Set(['/health', '/ready', '/openapi.json']);

export const WWW_AUTHENTICATE = 'Bearer realm="faas"';

/**
 * True for the routes anyone may call: GET or HEAD of /health, /ready and /openapi.json, spelled
 * exactly so, and of the console's static files (console.ts, isConsolePath: the page holds no data;
 * its calls carry a key).
 */
export function isPublic(method: string, rawUrl: string): boolean {
  if (method !== 'GET' && method !== 'HEAD') return false;
  const path = pathOf(rawUrl);
  return PUBLIC_PATHS.has(path) || isConsolePath(path);
}

/** Runs `next` when the request may go on; otherwise it has been answered. */
type Guard = (request: FastifyRequest, reply: FastifyReply, next: () => void) => void;

/** One guard per gateway: the hook and the router-fault path share its rate limits. */
const guards = new WeakMap<GatewayDeps, Guard>();

function guardOf(deps: GatewayDeps): Guard {
  let guard = guards.get(deps);
  if (!guard) {
    guard = createGuard(deps);
    guards.set(deps, guard);
  }
  return guard;
}

function createGuard(deps: GatewayDeps): Guard {
  if (deps.config.auth.mode === 'open') {
    return (request, _reply, next) => {
      request.principal = OPEN_PRINCIPAL;
      next();
    };
  }
  const verify = createVerifier({
    keys: deps.store.keys,
    adminKey: deps.adminKey,
    keyMaxConcurrency: deps.config.auth.keyMaxConcurrency,
  });
  const limiter = new RateLimiter();

  const refuse = (request: FastifyRequest, reply: FastifyReply, refusal: Refusal, keyId?: string) => {
    if (keyId) request.log.info({ keyId, refusal }, 'API key refused');
    reply.header('www-authenticate', WWW_AUTHENTICATE);
    sendFault(request, reply, new FaasError('FAAS_ERR_UNAUTHORIZED', REFUSAL_MESSAGES[refusal]));
  };

  const admit = (request: FastifyRequest, reply: FastifyReply, verdict: Verification, next: () => void) => {
    if (!verdict.ok) return refuse(request, reply, verdict.refusal, verdict.keyId);
    const { principal, limit } = verdict;
    if (limit && principal.keyId) {
      const retryAfter = limiter.take(principal.keyId, limit);
      if (retryAfter > 0) {
        reply.header('retry-after', String(retryAfter));
        return sendFault(
          request,
          reply,
          new FaasError(
            'FAAS_ERR_RATE_LIMITED',
            `this API key may make ${limit.perSecond} requests per second; retry after ${retryAfter} s`,
          ),
        );
      }
    }
    request.principal = principal;
    const forbidden = forbiddenBy(request);
    if (forbidden) return sendFault(request, reply, forbidden);
    next();
  };

  return (request, reply, next) => {
    if (isPublic(request.raw.method ?? '', request.raw.url ?? '')) return next();
    const bearer = bearerToken(request.raw.rawHeaders);
    if ('refusal' in bearer) return refuse(request, reply, bearer.refusal);
    let verdict: ReturnType<typeof verify>;
    try {
      verdict = verify(bearer.token);
    } catch (err) {
      return sendFault(request, reply, err);
    }
    if (!(verdict instanceof Promise)) return admit(request, reply, verdict, next);
    verdict.then(
      (v) => admit(request, reply, v, next),
      // The store cannot be read (FAAS_ERR_STORE_UNAVAILABLE): nobody is let in meanwhile.
      (err) => sendFault(request, reply, err),
    );
  };
}

/**
 * The 403 the request's principal earns, if any. Decided from the path's shape (access.ts), so it
 * comes before any 404 or 405: a key learns which paths and methods exist only within the scopes it
 * holds (and the functions it may use). A routed request also needs what its route's rule says.
 */
function forbiddenBy(request: FastifyRequest): FaasError | undefined {
  const principal = request.principal;
  if (!principal) return undefined;
  const method = request.raw.method ?? '';
  const url = request.raw.url ?? '';
  const requirements: Requirement[] = requirementsOf(method, pathOf(url));
  // A path with a trailing slash runs no route (server.ts answers it 404), whatever the router made of it.
  const routeUrl = request.routeOptions.url;
  if (!request.is404 && routeUrl !== undefined && !hasTrailingSlash(url)) {
    const rule = access(method, routeUrl);
    if (rule.scopes.length > 0) {
      const functionId =
        rule.functionParam === undefined ? undefined : (request.params as Record<string, string | undefined>)[rule.functionParam];
      requirements.push({
        scopes: rule.scopes,
        what: 'this route needs',
        ...(rule.functionParam !== undefined ? { functionId: functionId ?? '' } : {}),
        ...(rule.everyFunction ? { everyFunction: true } : {}),
      });
    }
  }
  for (const requirement of requirements) {
    const refusal = refusalOf(principal, requirement);
    if (refusal) return refusal;
  }
  return undefined;
}

function refusalOf(principal: Principal, requirement: Requirement): FaasError | undefined {
  if (!requirement.scopes.some((scope) => hasScope(principal, scope))) {
    return new FaasError('FAAS_ERR_FORBIDDEN', `this API key lacks the scope ${requirement.what}: ${orList(requirement.scopes)}`);
  }
  // The key routes make keys for any function: a key limited to some cannot use them, whatever
  // its scopes (POST /keys refuses to make such an admin key; this covers any stored before).
  if (requirement.scopes.includes('admin') && !reachesEveryFunction(principal.functions)) {
    return new FaasError(
      'FAAS_ERR_FORBIDDEN',
      'this API key is limited to some functions; only a key for every function may use this route',
    );
  }
  // GET /metrics reports on every function (POST /keys refuses `metrics` with a function list).
  if (requirement.everyFunction && !reachesEveryFunction(principal.functions)) {
    return new FaasError(
      'FAAS_ERR_FORBIDDEN',
      'this API key is limited to some functions, and this route reports on every function (the metrics name them): use a key without a functions list',
    );
  }
  if (requirement.functionId !== undefined && !allowsFunction(principal, requirement.functionId)) {
    return new FaasError('FAAS_ERR_FORBIDDEN', 'this API key is not allowed this function');
  }
  return undefined;
}

function orList(items: readonly string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}`;
}

/** Registers the hook; call it before any other onRequest hook. */
export function registerAuth(app: FastifyInstance, deps: GatewayDeps): void {
  const guard = guardOf(deps);
  app.addHook('onRequest', (request, reply, done) => guard(request, reply, done));
}

/**
 * Wraps Fastify's `frameworkErrors` handler: a request the router cannot even parse (malformed
 * percent-encoding, an absurd parameter) skips every hook, so without this it would learn about
 * the path before showing a key.
 */
export function authenticated<E, Q extends FastifyRequest, R extends FastifyReply>(
  deps: GatewayDeps,
  handler: (err: E, request: Q, reply: R) => void,
): (err: E, request: Q, reply: R) => void {
  const guard = guardOf(deps);
  return (err, request, reply) => guard(request, reply, () => handler(err, request, reply));
}
