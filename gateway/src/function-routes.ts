/**
 * The function registry routes (docs/API.md "Functions"): POST /functions, GET /functions,
 * GET|PATCH|DELETE /functions/{id}. Definitions are checked by definition.ts; the store keeps
 * them, encrypts their secrets and counts their versions. `ETag` and `If-Match` carry the version.
 */
import { FaasError, type IsolationMode } from '@faas/common';
import type { FunctionLimits, FunctionRecord } from '@faas/store';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { allowsFunction, assertFunctionAllowed, hasScope, type Principal } from './auth/principal.js';
import { applyPatch, type DefinitionPatch, validateFunctionCreate, validateFunctionPatch } from './definition.js';
import type { GatewayDeps } from './deps.js';
import { parseCursor, parseLimit, readQuery } from './query.js';
import { validateFunctionId, validationPolicy } from './validation.js';

type FunctionParams = { Params: { function_id: string } };

/** Store pages read to fill one page of a key limited to some functions, before a short page is answered. */
const MAX_PAGES_PER_LIST = 20;
/** Tries of a PATCH without If-Match that keeps meeting concurrent changes. */
const PATCH_TRIES = 3;

/** The `Function` answer: the definition with `secret_names` for `secrets`, its version and times. */
export interface FunctionJson {
  id: string;
  image: string;
  command: string[];
  env_vars: string[];
  allowed_env_vars: string[];
  secret_names: string[];
  executor: string | null;
  pool_mode: IsolationMode | null;
  limits: FunctionLimits;
  timeout_ms: number | null;
  max_concurrency: number | null;
  max_attempts: number | null;
  retry_on_failure: boolean;
  callback_url: string | null;
  description: string;
  version: number;
  created_at: string;
  updated_at: string;
}

/**
 * The `Function` answer for `principal`. A key that may not change functions (no `functions`
 * scope: an invoker) sees the callback URL's origin only: its path and query may hold a token
 * (docs/API.md "Callbacks").
 */
export function toFunctionJson(record: FunctionRecord, principal?: Principal): FunctionJson {
  const callbackUrl = principal && !hasScope(principal, 'functions') ? callbackOrigin(record.callbackUrl) : record.callbackUrl;
  return {
    id: record.id,
    image: record.image,
    command: record.command,
    env_vars: record.env,
    allowed_env_vars: record.allowedEnvVars,
    secret_names: record.secretNames,
    executor: record.executor,
    pool_mode: record.poolMode,
    limits: record.limits,
    timeout_ms: record.timeoutMs,
    max_concurrency: record.maxConcurrency,
    max_attempts: record.maxAttempts,
    retry_on_failure: record.retryOnFailure,
    callback_url: callbackUrl,
    description: record.description,
    version: record.version,
    created_at: new Date(record.createdAt).toISOString(),
    updated_at: new Date(record.updatedAt).toISOString(),
  };
}

/** `https://host/[redacted]` for a URL with anything past its origin; the URL itself otherwise. */
function callbackOrigin(url: string | null): string | null {
  if (url === null) return null;
  try {
    const parsed = new URL(url);
    return `${parsed.origin}/${parsed.pathname === '/' && !parsed.search && !parsed.hash ? '' : '[redacted]'}`;
  } catch {
    return '[redacted]';
  }
}

export function etagOf(version: number): string {
  return `"${version}"`;
}

/** The version an `If-Match` header asks for; undefined when absent or `*` (any version). */
export function parseIfMatch(header: string | string[] | undefined): number | undefined {
  if (header === undefined) return undefined;
  const value = (Array.isArray(header) ? header.join(',') : header).trim();
  if (value === '*') return undefined;
  const match = /^"([0-9]{1,15})"$/.exec(value);
  if (!match) {
    throw new FaasError('FAAS_ERR_INVALID_REQUEST', 'If-Match must be the ETag of the function, such as "3" (quotes included)', {
      details: { field: 'if-match' },
    });
  }
  return Number(match[1]);
}

function sendFunction(reply: FastifyReply, record: FunctionRecord, principal: Principal | undefined, status = 200): FastifyReply {
  return reply.code(status).header('etag', etagOf(record.version)).send(toFunctionJson(record, principal));
}

function notFound(id: string): FaasError {
  return new FaasError('FAAS_ERR_FUNCTION_NOT_FOUND', `no function "${id}" is registered`);
}

export function registerFunctionRoutes(app: FastifyInstance, deps: GatewayDeps): void {
  const functions = deps.store.functions;
  const policy = validationPolicy(deps.config);

  app.post('/functions', async (request, reply) => {
    const input = validateFunctionCreate(request.body, policy);
    // A key limited to some functions registers only those.
    assertFunctionAllowed(request.principal, input.id);
    const record = await functions.create(input);
    reply.header('location', `/functions/${record.id}`);
    return sendFunction(reply, record, request.principal, 201);
  });

  app.get('/functions', async (request) => {
    const query = readQuery(request.query, ['limit', 'cursor']);
    const limit = parseLimit(query.limit);
    let cursor = parseCursor(query.cursor);
    const principal = request.principal;
    const visible = (record: FunctionRecord) => principal !== undefined && allowsFunction(principal, record.id);
    // A restricted key sees only its functions. Each store page asked for is exactly what is still
    // missing, so the page answered ends where a store page ends and its cursor stays valid.
    const page: FunctionRecord[] = [];
    for (let read = 0; read < MAX_PAGES_PER_LIST; read++) {
      const got = await functions.list({ limit: limit - page.length, ...(cursor !== undefined ? { cursor } : {}) });
      page.push(...got.items.filter(visible));
      cursor = got.nextCursor ?? undefined;
      if (cursor === undefined || page.length >= limit) break;
    }
    return { functions: page.map((record) => toFunctionJson(record, principal)), next_cursor: cursor ?? null };
  });

  app.get<FunctionParams>('/functions/:function_id', async (request, reply) => {
    const id = validateFunctionId(request.params.function_id);
    const record = await functions.get(id);
    if (!record) throw notFound(id);
    return sendFunction(reply, record, request.principal);
  });

  /**
   * The function and its secrets for a PATCH. Secrets that cannot be decrypted (another
   * FAAS_SECRETS_KEY, a format this build does not know) are not needed when the patch replaces or
   * deletes every one of them: that is how their error tells the operator to recover.
   */
  const resolveForPatch = async (id: string, patch: DefinitionPatch) => {
    try {
      return await functions.resolveSecrets(id);
    } catch (err) {
      if (!(err instanceof FaasError) || err.code !== 'FAAS_ERR_STORE_UNAVAILABLE' || patch.secrets === undefined) throw err;
      const record = await functions.get(id);
      const secrets = patch.secrets;
      if (!record?.secretNames.every((name) => secrets === null || Object.hasOwn(secrets, name))) throw err;
      return { record, secrets: [] as string[] };
    }
  };

  app.patch<FunctionParams>('/functions/:function_id', async (request, reply) => {
    const id = validateFunctionId(request.params.function_id);
    const expected = parseIfMatch(request.headers['if-match']);
    const patch = validateFunctionPatch(request.body, policy);
    // Read, merge (limits and secrets member by member), write if the version is still the one
    // read; without If-Match a concurrent change is merged again, with it the caller decides.
    for (let attempt = 1; ; attempt++) {
      // The secrets are read only for their sizes (the limits count them) and never leave here.
      const resolved = await resolveForPatch(id, patch);
      if (!resolved) throw notFound(id);
      const current = resolved.record;
      if (expected !== undefined && current.version !== expected) throw conflict(id, expected, current.version);
      const merged = applyPatch(current, resolved.secrets, patch);
      if (!merged.changed) return sendFunction(reply, current, request.principal);
      try {
        return sendFunction(reply, await functions.update(id, merged.patch, current.version), request.principal);
      } catch (err) {
        const retry =
          expected === undefined && attempt < PATCH_TRIES && err instanceof FaasError && err.code === 'FAAS_ERR_VERSION_CONFLICT';
        if (!retry) throw err;
      }
    }
  });

  app.delete<FunctionParams>('/functions/:function_id', async (request, reply) => {
    const id = validateFunctionId(request.params.function_id);
    const expected = parseIfMatch(request.headers['if-match']);
    if (!(await functions.delete(id, expected))) throw notFound(id);
    return reply.code(204).send();
  });
}

function conflict(id: string, expected: number, current: number): FaasError {
  return new FaasError(
    'FAAS_ERR_VERSION_CONFLICT',
    `function "${id}" is at version ${current}, not ${expected} (If-Match); read it again and retry`,
    { details: { version: current } },
  );
}
