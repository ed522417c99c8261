/**
 * How the gateway turns anything that goes wrong into an answer and a log line. Every error answer
 * is `{"error", "code", ...}` with a registry code; answers on the invoke route also carry the
 * invocation id (body `invocation_id` and the `x-faas-invocation-id` header), whatever stage of
 * the request failed.
 */
import { FaasError } from '@faas/common';
import type { FastifyBaseLogger, FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { documentedPath, hasTrailingSlash, pathOf } from './routes.js';

export const INVOCATION_HEADER = 'x-faas-invocation-id';
/** The `Retry-After` of FAAS_ERR_QUEUE_FULL, in seconds: the worker takes what is due at least this often. */
export const QUEUE_FULL_RETRY_AFTER_S = 1;

/** Fastify's own error codes for malformed HTTP input, mapped to the registry. */
const FASTIFY_ERRORS: Record<string, (err: FastifyError) => FaasError> = {
  FST_ERR_CTP_BODY_TOO_LARGE: () => new FaasError('FAAS_ERR_BODY_TOO_LARGE'),
  FST_ERR_CTP_INVALID_MEDIA_TYPE: () =>
    new FaasError('FAAS_ERR_UNSUPPORTED_MEDIA_TYPE', 'send the SandboxConfig with content-type: application/json'),
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: () => new FaasError('FAAS_ERR_INVALID_REQUEST', 'content-length does not match the body'),
  FST_ERR_CTP_EMPTY_JSON_BODY: () => new FaasError('FAAS_ERR_INVALID_JSON', 'the request body is empty: send a SandboxConfig JSON object'),
  FST_ERR_CTP_INVALID_JSON_BODY: () => new FaasError('FAAS_ERR_INVALID_JSON'),
};

/** The JSON parser refuses keys that could poison prototypes; the body is JSON, but not an acceptable one. */
const POISONING = /^Object contains forbidden prototype property$/;

export function toFaasError(err: unknown): FaasError {
  if (err instanceof FaasError) return err;
  const e = (err ?? {}) as FastifyError;
  const mapped = e.code ? FASTIFY_ERRORS[e.code] : undefined;
  if (mapped) return mapped(e);
  if (e instanceof SyntaxError && POISONING.test(e.message)) {
    return new FaasError('FAAS_ERR_INVALID_REQUEST', 'the request body has a "__proto__" or "constructor" key; these are refused');
  }
  if (e instanceof SyntaxError) {
    return new FaasError('FAAS_ERR_INVALID_JSON', `the request body is not valid JSON: ${String(e.message).slice(0, 200)}`);
  }
  // A status code is trusted only on the HTTP framework's own errors (codes FST_*): an error from a
  // layer below (the engine's 400 for an image, say) is a platform fault, never the client's JSON.
  if (typeof e.code === 'string' && e.code.startsWith('FST_')) {
    if (e.statusCode === 400) return new FaasError('FAAS_ERR_INVALID_REQUEST', String(e.message).slice(0, 200));
    if (e.statusCode === 413) return new FaasError('FAAS_ERR_BODY_TOO_LARGE');
    if (e.statusCode === 415) return new FaasError('FAAS_ERR_UNSUPPORTED_MEDIA_TYPE');
  }
  return new FaasError('FAAS_ERR_INTERNAL', 'internal error', { cause: err });
}

/** Faults of the router itself (before any route runs), mapped by what the path was meant to be. */
export function routerFault(err: unknown, method: string, url: string): FaasError {
  const code = (err as FastifyError | undefined)?.code;
  if (code !== 'FST_ERR_BAD_URL' && code !== 'FST_ERR_MAX_PARAM_LENGTH') return toFaasError(err);
  const documented = documentedPath(url);
  if (!documented) return notFound(method, url);
  if (!documented.methods.includes(method)) return methodNotAllowed(documented.methods);
  if (documented.template.includes('{invocation_id}')) {
    return new FaasError(
      'FAAS_ERR_INVOCATION_NOT_FOUND',
      'no invocation has this id (its percent-encoding is malformed, or it is far too long)',
    );
  }
  if (documented.template.includes('{key_id}')) {
    return new FaasError('FAAS_ERR_KEY_NOT_FOUND', 'no API key has this id (its percent-encoding is malformed, or it is far too long)');
  }
  if (documented.template.includes('{function_id}')) {
    return new FaasError(
      'FAAS_ERR_INVALID_FUNCTION_ID',
      code === 'FST_ERR_BAD_URL'
        ? 'function_id has malformed percent-encoding (or encodes bytes that are not UTF-8)'
        : 'function_id is far longer than the 128 characters allowed',
      { details: { field: 'function_id' } },
    );
  }
  return notFound(method, url);
}

export function notFound(method: string, url: string): FaasError {
  const full = pathOf(url);
  const path = full.slice(0, 200);
  if (hasTrailingSlash(full)) {
    const without = full.replace(/\/+$/, '') || '/';
    const hint = documentedPath(without) ? ` (the path is ${without.slice(0, 200)})` : '';
    return new FaasError(
      'FAAS_ERR_NOT_FOUND',
      `no route ${method.slice(0, 20)} ${path}: no path of this API ends in "/"${hint}; see /openapi.json`,
    );
  }
  return new FaasError('FAAS_ERR_NOT_FOUND', `no route ${method.slice(0, 20)} ${path}; see /openapi.json`);
}

/** A 405: carries the methods the path does accept, for the `Allow` header. */
export class MethodNotAllowedError extends FaasError {
  readonly allow: string;

  constructor(allowed: readonly string[]) {
    super('FAAS_ERR_METHOD_NOT_ALLOWED', `this path accepts ${allowed.join(', ')} only; see /openapi.json`);
    this.allow = allowed.join(', ');
  }
}

export function methodNotAllowed(allowed: readonly string[]): MethodNotAllowedError {
  return new MethodNotAllowedError(allowed);
}

/**
 * The error body: the fault's own fields, plus the invocation id where the request has one. A 502
 * (a fault of the sandbox) always says `started`: the core sets it (false for any fault while
 * getting a sandbox); one that reaches here without it is answered as one that may have started.
 */
export function errorBody(fault: FaasError, invocationId?: string): Record<string, unknown> {
  const body = fault.toJSON();
  if (fault.status === 502 && typeof body.started !== 'boolean') body.started = true;
  return invocationId ? { ...body, invocation_id: invocationId } : body;
}

/** The invocation id this request was given (invoke route only), read back from its reply header. */
export function invocationIdOf(reply: FastifyReply): string | undefined {
  const value = reply.getHeader(INVOCATION_HEADER);
  return typeof value === 'string' ? value : undefined;
}

/** True once the caller has closed its connection: nobody is left to read an answer. */
export function clientGone(request: FastifyRequest, reply: FastifyReply, signal?: AbortSignal): boolean {
  if (signal?.aborted) return true;
  return reply.raw.writableEnded ? false : request.raw.socket?.destroyed === true || reply.raw.destroyed;
}

/**
 * Logs a fault at the level it deserves: the caller's own mistakes at debug, platform faults
 * (5xx) at warn with their cause, and anything unexpected at error with the stack of what was
 * thrown and the invocation id. A caller that hung up is not a fault: it is logged at info.
 */
export function logFault(
  log: FastifyBaseLogger,
  err: unknown,
  fault: FaasError,
  context: { invocationId?: string | undefined; url: string; method: string; cancelled?: boolean },
): void {
  // The path only: a query string can carry what must never be logged (a key sent as ?api_key=...).
  const where = { invocationId: context.invocationId, method: context.method, url: pathOf(context.url).slice(0, 300) };
  if (context.cancelled) {
    log.info(where, 'request cancelled: the client closed the connection');
  } else if (fault.code === 'FAAS_ERR_INTERNAL') {
    // What was thrown, not the registry wrapper (the core wraps foreign errors): its stack is the clue.
    const thrown = err instanceof FaasError && err.code === 'FAAS_ERR_INTERNAL' && err.cause !== undefined ? err.cause : err;
    log.error({ ...where, code: fault.code, err: thrown }, `unexpected fault: ${describe(thrown)}`);
  } else if (fault.status >= 500) {
    log.warn({ ...where, code: fault.code, err }, fault.message);
  } else {
    log.debug({ ...where, code: fault.code, field: fault.details?.field }, fault.message);
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}`.slice(0, 300) : String(err).slice(0, 300);
}

/**
 * Answers a request with the error `err` maps to, logged by `logFault`. On the invoke route the
 * body carries the invocation id of the header.
 */
export function sendFault(request: FastifyRequest, reply: FastifyReply, err: unknown, signal?: AbortSignal): FastifyReply {
  const fault = toFaasError(err);
  const invocationId = invocationIdOf(reply);
  const cancelled = clientGone(request, reply, signal);
  logFault(request.log, err, fault, { invocationId, url: request.url, method: request.method, cancelled });
  if (fault instanceof MethodNotAllowedError) reply.header('allow', fault.allow);
  if (fault.code === 'FAAS_ERR_QUEUE_FULL') reply.header('retry-after', String(QUEUE_FULL_RETRY_AFTER_S));
  if (fault.code === 'FAAS_ERR_BODY_TOO_LARGE') lingerAfterRefusal(request, reply);
  return reply.code(fault.status).send(errorBody(fault, invocationId));
}

/**
 * A body refused for its size: the connection is kept (the framework asks to close it). The answer
 * itself waits for the rest of the body (see `drainRefusedBody`).
 */
function lingerAfterRefusal(_request: FastifyRequest, reply: FastifyReply): void {
  reply.removeHeader('connection');
}

/**
 * Reads and discards the rest of a body refused for its size, so that the client, still sending,
 * can read the 413 instead of failing its next write (EPIPE, ECONNRESET) when the connection
 * closes under it. Bounded: nothing is waited for when the declared length exceeds `maxBytes`, and
 * never longer than `maxMs` (the request timeout bounds a slow sender anyway).
 */
export async function drainRefusedBody(request: FastifyRequest, maxMs: number, maxBytes: number): Promise<void> {
  const raw = request.raw;
  if (raw.complete || raw.destroyed) return;
  const declared = Number(request.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) return;
  await new Promise<void>((resolve) => {
    let seen = 0;
    const done = () => {
      clearTimeout(timer);
      raw.off('data', onData);
      raw.off('end', done);
      raw.off('close', done);
      resolve();
    };
    const onData = (chunk: Buffer) => {
      seen += chunk.length;
      if (seen > maxBytes) done();
    };
    const timer = setTimeout(done, maxMs);
    raw.on('data', onData);
    raw.once('end', done);
    raw.once('close', done);
    raw.resume();
  });
}
