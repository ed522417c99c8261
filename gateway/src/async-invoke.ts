/**
 * Asynchronous invocations at the HTTP edge (docs/API.md "Asynchronous invocations"):
 * `Prefer: respond-async` on the invoke route, `Idempotency-Key`, and the durable acceptance
 * (committed to the store's queue before the 202 leaves). Also the worker's side of the same front
 * door: the stored request resolved again into an `Invocation` when it runs, and its outcome into
 * the body a synchronous call would have answered.
 */
import { createHash } from 'node:crypto';
import { type Config, FaasError, type Invocation, type InvocationResult, type Outcome } from '@faas/common';
import type { AsyncJob, Store } from '@faas/store';
import { queuedCaller } from './auth/concurrency.js';
import type { Principal } from './auth/principal.js';
import { validateCallbackField } from './definition.js';
import { type InvocationJson, readInvocation } from './invocation-answer.js';
import { invocationSource, type ResolvedInvocation } from './invocation-source.js';
import { toInvocationResult } from './results.js';
import { fail, isPlainObject, type ValidationPolicy } from './validation.js';

/** The preference (RFC 7240) that asks for a 202 and a queued invocation instead of the result. */
export const RESPOND_ASYNC = 'respond-async';
/** Visible ASCII, 1-255 characters; a structured-field string (`"..."`) is read without its quotes. */
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;
const QUOTED_KEY = /^"([\x21\x23-\x7e]{1,253})"$/;

/** True when a `Prefer` header (one or several, comma-separated) holds `respond-async`. Other preferences are ignored. */
export function prefersAsync(header: string | string[] | undefined): boolean {
  if (header === undefined) return false;
  for (const value of Array.isArray(header) ? header : [header]) {
    for (const preference of value.split(',')) {
      const token = (preference.split(';')[0] ?? '').split('=')[0]?.trim().toLowerCase();
      if (token === RESPOND_ASYNC) return true;
    }
  }
  return false;
}

/** The `Idempotency-Key` header, if sent: 400 FAAS_ERR_INVALID_REQUEST (`field` idempotency-key) when malformed. */
export function readIdempotencyKey(header: string | string[] | undefined): string | undefined {
  if (header === undefined) return undefined;
  const value = Array.isArray(header) ? header.join(', ') : header;
  const quoted = QUOTED_KEY.exec(value);
  if (quoted?.[1]) return quoted[1];
  if (!IDEMPOTENCY_KEY.test(value)) {
    fail('FAAS_ERR_INVALID_REQUEST', 'Idempotency-Key must be 1-255 visible ASCII characters (a UUID, say), sent once', 'idempotency-key');
  }
  return value;
}

/**
 * The invoke body without its `callback_url`, and that URL checked by the callback rules (400
 * FAAS_ERR_INVALID_CALLBACK); null when it names none. The rest is validated as the body of a
 * synchronous call.
 */
export function takeCallbackUrl(body: unknown, policy: ValidationPolicy): { body: unknown; callbackUrl: string | null } {
  if (!isPlainObject(body) || !('callback_url' in body)) return { body, callbackUrl: null };
  const { callback_url: url, ...rest } = body;
  return { body: rest, callbackUrl: validateCallbackField(url, policy) };
}

/** JSON with object keys sorted, so that the same request spelled in another order digests the same. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, canonical((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

/** What an idempotency key is compared on: the function id and the body, whatever the key order or spacing. */
export function requestDigest(functionId: string, body: unknown): string {
  return createHash('sha256')
    .update(JSON.stringify([functionId, canonical(body ?? null)]))
    .digest('base64url');
}

/** What the queue keeps of a request (sealed at rest): enough to resolve it again when it runs. */
interface StoredRequest {
  function_id: string;
  body?: unknown;
}

export interface AcceptOptions {
  invocationId: string;
  functionId: string;
  /** The body without `callback_url` (takeCallbackUrl). */
  body: unknown;
  resolved: ResolvedInvocation;
  principal: Principal | undefined;
  idempotencyKey: string | undefined;
  /** The request's own callback URL; null: the function's, if it has one. */
  callbackUrl: string | null;
}

/**
 * Writes the invocation to the queue (one transaction, committed before it returns). With an
 * idempotency key already used by this API key for the same request, the invocation it made comes
 * back instead (`created` false); for another request, FAAS_ERR_IDEMPOTENCY_KEY_REUSED. With
 * FAAS_ASYNC_MAX_QUEUED invocations waiting, or FAAS_ASYNC_MAX_QUEUED_PER_KEY of the caller's key
 * (the admin key is exempt), FAAS_ERR_QUEUE_FULL and nothing is written.
 */
export async function acceptAsync(
  config: Readonly<Config>,
  store: Store,
  options: AcceptOptions,
): Promise<{ job: AsyncJob; created: boolean }> {
  const { input, registered } = options.resolved;
  const request: StoredRequest = { function_id: options.functionId, ...(options.body === undefined ? {} : { body: options.body }) };
  // The callback URL is part of the request an idempotency key stands for.
  const requestHash = requestDigest(options.functionId, options.callbackUrl === null ? options.body : [options.body, options.callbackUrl]);
  const keyId = options.principal?.keyId ?? null;
  return store.queue.enqueue({
    id: options.invocationId,
    functionId: input.functionId,
    functionVersion: registered?.record.version ?? null,
    executor: input.executor,
    keyId,
    maxAttempts: registered?.record.maxAttempts ?? config.async.maxAttempts,
    retryOnFailure: registered?.record.retryOnFailure ?? false,
    stdinBytes: input.stdin.length,
    callbackUrl: options.callbackUrl ?? registered?.record.callbackUrl ?? null,
    request: JSON.stringify(request),
    requestHash,
    maxQueued: config.async.maxQueued,
    // The admin key (and open mode) is the operator's own: it has no share of its own.
    ...(config.async.maxQueuedPerKey !== null && keyId !== null && keyId !== 'admin'
      ? { maxQueuedPerKey: config.async.maxQueuedPerKey }
      : {}),
    ...(options.idempotencyKey === undefined
      ? {}
      : {
          idempotency: {
            // Keys are the caller's own: scoped to its API key (open mode has one caller).
            scope: keyId ?? '',
            key: options.idempotencyKey,
            expiresAt: Date.now() + config.async.idempotencyWindowMs,
          },
        }),
  });
}

/** The 202 body of an accepted (or redriven) invocation. */
export function acceptedJson(job: AsyncJob) {
  return {
    invocation_id: job.id,
    function_id: job.functionId,
    state: job.state,
    accepted_at: new Date(job.acceptedAt).toISOString(),
  };
}

/**
 * The front door's part in running a queued invocation, for the worker: the stored request
 * resolved against what is registered now, and the result body of an outcome.
 */
export interface AsyncFrontDoor {
  /** Throws FaasError when the request no longer resolves (the function was deleted or changed under it). */
  resolve(job: AsyncJob, request: string): Promise<{ invocation: Invocation; functionVersion: number | undefined }>;
  /** The `InvocationResult` a synchronous call answers for this outcome. */
  result(outcome: Outcome, functionVersion: number | undefined): InvocationResult;
  /**
   * The invocation as `GET /invocations/{id}` answers it, less its `callback` (the delivery of the
   * very body this is): a callback's body. Undefined when unknown.
   */
  describe(id: string): Promise<Omit<InvocationJson, 'callback'> | undefined>;
}

export function asyncFrontDoor(config: Readonly<Config>, store: Store): AsyncFrontDoor {
  const source = invocationSource(config, store);
  return {
    async resolve(job, request) {
      const stored = JSON.parse(request) as StoredRequest;
      if (stored.function_id !== job.functionId) {
        throw new FaasError('FAAS_ERR_INTERNAL', `the queued request of ${job.id} names another function`);
      }
      const { input, registered } = await source(stored.function_id, stored.body);
      // The key's cap as it is now: one refused for it goes back to the queue (worker/src/retry.ts).
      const invocation: Invocation = { id: job.id, ...input, ...(await queuedCaller(config, store.keys, job.keyId)) };
      return { invocation, functionVersion: registered?.record.version };
    },
    result(outcome, functionVersion) {
      return toInvocationResult(outcome, functionVersion);
    },
    async describe(id) {
      const found = await readInvocation(store, id);
      if (!found) return undefined;
      const { callback: _delivery, ...body } = found.json;
      return body;
    },
  };
}
