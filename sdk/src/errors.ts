/**
 * The errors the SDK throws, and the one place where an answer's `FAAS_ERR_*` code picks its class.
 * Match on `code` or on the class, never on the message (the gateway may reword it).
 */
import { base64ToBytes } from './base64.js';
import type { ErrorBody, ErrorCode } from './types.js';

/** An error answer of the gateway: its status, its code and the body's other fields. */
export class FaasError extends Error {
  override name = 'FaasError';
  /** The registry code (docs/ERRORS.md), or `FAAS_ERR_HTTP_<status>` for an answer without one (a proxy's). */
  readonly code: string;
  readonly status: number;
  /** The request field (or query parameter) a validation error is about. */
  readonly field: string | undefined;
  /** The invocation the answer names (every invoke answer names one). */
  readonly invocationId: string | undefined;
  /** How long the gateway asked to wait before another try (`Retry-After`), in milliseconds. */
  readonly retryAfterMs: number | undefined;
  /** The body as the gateway sent it. */
  readonly body: Readonly<ErrorBody>;

  constructor(status: number, body: ErrorBody, retryAfterMs?: number) {
    super(body.error);
    this.status = status;
    this.code = body.code;
    this.field = body.field;
    this.invocationId = body.invocation_id;
    this.retryAfterMs = retryAfterMs;
    this.body = body;
  }
}

/** 400, 408, 413, 415, 431: the request is malformed, invalid or too large; sending it again will not help. */
export class InvalidRequestError extends FaasError {
  override name = 'InvalidRequestError';
}
/** 401: no API key, or one that is unknown, revoked or expired. */
export class UnauthorizedError extends FaasError {
  override name = 'UnauthorizedError';
}
/** 403: the key lacks the route's scope or the function, or the executor is not enabled. */
export class ForbiddenError extends FaasError {
  override name = 'ForbiddenError';
}
/** 404: the function, invocation, key or dead letter does not exist. */
export class NotFoundError extends FaasError {
  override name = 'NotFoundError';
}
/** 409, 412, 422 (idempotency): the request conflicts with the state (exists, another version, finished, key reused). */
export class ConflictError extends FaasError {
  override name = 'ConflictError';
  /** On FAAS_ERR_VERSION_CONFLICT: the function's current version. */
  get currentVersion(): number | undefined {
    return this.body.version;
  }
}
/** 422 FAAS_ERR_IMAGE_NOT_FOUND: the image is not on the host and cannot be pulled. */
export class ImageNotFoundError extends FaasError {
  override name = 'ImageNotFoundError';
  get image(): string | undefined {
    return this.body.image;
  }
}
/** 429: the key's rate limit, the function's max_concurrency, every slot of the platform, or a full queue of asynchronous invocations. */
export class RateLimitedError extends FaasError {
  override name = 'RateLimitedError';
}
/** 500: a fault of the platform. */
export class InternalError extends FaasError {
  override name = 'InternalError';
}
/** 502: the sandbox failed or died under the invocation; `started` tells whether the command may have run. */
export class SandboxError extends FaasError {
  override name = 'SandboxError';
  get started(): boolean | undefined {
    return this.body.started;
  }
}
/** 503: the gateway is draining, or its executor or store cannot be used. */
export class UnavailableError extends FaasError {
  override name = 'UnavailableError';
}
/** 504 FAAS_ERR_TIMEOUT: the function ran past its timeout and was killed; the output so far is kept. */
export class FunctionTimeoutError extends FaasError {
  override name = 'FunctionTimeoutError';
  get timeoutMs(): number | undefined {
    return this.body.timeout_ms;
  }
  /** Stdout and stderr interleaved, as far as the function got. */
  get logs(): Uint8Array {
    return base64ToBytes(this.body.logs_base64);
  }
  get truncated(): boolean {
    return this.body.truncated === true;
  }
}

type ErrorClass = new (status: number, body: ErrorBody, retryAfterMs?: number) => FaasError;

/**
 * Every code the API document lists, and its class. The key set is checked against the document
 * (ErrorCode is the union of its error enums): a code added to gateway/openapi.json fails the type
 * check here until it is given a class, and one removed fails it until it is taken out.
 */
const CLASS_OF_CODE: { readonly [C in ErrorCode]: ErrorClass } = {
  FAAS_ERR_INVALID_JSON: InvalidRequestError,
  FAAS_ERR_INVALID_REQUEST: InvalidRequestError,
  FAAS_ERR_INVALID_QUERY: InvalidRequestError,
  FAAS_ERR_INVALID_FUNCTION: InvalidRequestError,
  FAAS_ERR_INVALID_FUNCTION_ID: InvalidRequestError,
  FAAS_ERR_INVALID_IMAGE: InvalidRequestError,
  FAAS_ERR_INVALID_COMMAND: InvalidRequestError,
  FAAS_ERR_INVALID_ENV: InvalidRequestError,
  FAAS_ERR_INVALID_BASE64: InvalidRequestError,
  FAAS_ERR_INVALID_TIMEOUT: InvalidRequestError,
  FAAS_ERR_INVALID_LIMITS: InvalidRequestError,
  FAAS_ERR_FIELD_NOT_ALLOWED: InvalidRequestError,
  FAAS_ERR_PAYLOAD_TOO_LARGE: InvalidRequestError,
  FAAS_ERR_BODY_TOO_LARGE: InvalidRequestError,
  FAAS_ERR_UNSUPPORTED_MEDIA_TYPE: InvalidRequestError,
  FAAS_ERR_HEADERS_TOO_LARGE: InvalidRequestError,
  FAAS_ERR_REQUEST_TIMEOUT: InvalidRequestError,
  FAAS_ERR_INVALID_CALLBACK: InvalidRequestError,
  FAAS_ERR_UNAUTHORIZED: UnauthorizedError,
  FAAS_ERR_FORBIDDEN: ForbiddenError,
  FAAS_ERR_EXECUTOR_NOT_ALLOWED: ForbiddenError,
  FAAS_ERR_FUNCTION_NOT_FOUND: NotFoundError,
  FAAS_ERR_INVOCATION_NOT_FOUND: NotFoundError,
  FAAS_ERR_KEY_NOT_FOUND: NotFoundError,
  FAAS_ERR_DEAD_LETTER_NOT_FOUND: NotFoundError,
  FAAS_ERR_FUNCTION_EXISTS: ConflictError,
  FAAS_ERR_VERSION_CONFLICT: ConflictError,
  FAAS_ERR_INVOCATION_FINISHED: ConflictError,
  FAAS_ERR_IDEMPOTENCY_KEY_REUSED: ConflictError,
  FAAS_ERR_IMAGE_NOT_FOUND: ImageNotFoundError,
  FAAS_ERR_RATE_LIMITED: RateLimitedError,
  FAAS_ERR_SATURATED: RateLimitedError,
  FAAS_ERR_KEY_CONCURRENCY_LIMIT: RateLimitedError,
  FAAS_ERR_CONCURRENCY_LIMIT: RateLimitedError,
  FAAS_ERR_QUEUE_FULL: RateLimitedError,
  FAAS_ERR_INTERNAL: InternalError,
  FAAS_ERR_SANDBOX_FAILURE: SandboxError,
  FAAS_ERR_SANDBOX_LOST: SandboxError,
  FAAS_ERR_SHUTTING_DOWN: UnavailableError,
  FAAS_ERR_EXECUTOR_UNAVAILABLE: UnavailableError,
  FAAS_ERR_STORE_UNAVAILABLE: UnavailableError,
  FAAS_ERR_TANGLE_OPERATOR_STOPPED: UnavailableError,
  FAAS_ERR_TIMEOUT: FunctionTimeoutError,
};

/** The codes the SDK knows, as the API document lists them. */
export const ERROR_CODES = Object.freeze(Object.keys(CLASS_OF_CODE)) as readonly ErrorCode[];

/** A code the document does not list (404 of an unknown path, 405, a newer gateway's): by status. */
function classOfStatus(status: number): ErrorClass {
  if (status === 401) return UnauthorizedError;
  if (status === 403) return ForbiddenError;
  if (status === 404) return NotFoundError;
  if (status === 409 || status === 412 || status === 422) return ConflictError;
  if (status === 429) return RateLimitedError;
  if (status === 502) return SandboxError;
  if (status === 503) return UnavailableError;
  if (status === 504) return FunctionTimeoutError;
  if (status >= 500) return InternalError;
  if (status >= 400) return InvalidRequestError;
  return FaasError;
}

function isErrorBody(body: unknown): body is ErrorBody {
  if (typeof body !== 'object' || body === null) return false;
  const { error, code } = body as Record<string, unknown>;
  return typeof error === 'string' && typeof code === 'string';
}

/** The error an answer stands for. `body` is the parsed JSON, or text when it was none (a proxy's page). */
export function errorFromResponse(status: number, body: unknown, retryAfterMs?: number): FaasError {
  const parsed: ErrorBody = isErrorBody(body)
    ? body
    : {
        error: `HTTP ${status}${typeof body === 'string' && body.trim() ? `: ${body.trim().slice(0, 200)}` : ''}`,
        code: `FAAS_ERR_HTTP_${status}`,
      };
  const Class = (CLASS_OF_CODE as Record<string, ErrorClass | undefined>)[parsed.code] ?? classOfStatus(status);
  return new Class(status, parsed, retryAfterMs);
}

/** The call ran past its `timeoutMs` (the SDK's deadline, not the function's timeout: see FunctionTimeoutError). */
export class CallTimeoutError extends Error {
  override name = 'CallTimeoutError';
  readonly code = 'FAAS_SDK_CALL_TIMEOUT';
  constructor(readonly timeoutMs: number) {
    super(`no answer within ${timeoutMs} ms`);
  }
}

/** The gateway could not be reached (refused, reset, DNS, TLS). `cause` is what fetch threw. */
export class ConnectionError extends Error {
  override name = 'ConnectionError';
  readonly code = 'FAAS_SDK_CONNECTION';
  constructor(
    readonly url: string,
    options: { cause: unknown },
  ) {
    const detail = describeCause(options.cause);
    super(`cannot reach ${url}${detail ? `: ${detail}` : ''}`, options);
  }
}

function describeCause(cause: unknown): string {
  if (!(cause instanceof Error)) return '';
  // Node's fetch says "fetch failed" and keeps the reason (ECONNREFUSED, ...) in its own cause.
  const inner = (cause as { cause?: unknown }).cause;
  if (inner instanceof Error) return (inner as { code?: string }).code ?? inner.message;
  return cause.message;
}
