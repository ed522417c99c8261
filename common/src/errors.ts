/**
 * The one registry of platform error codes. Every error the platform reports to a caller comes
 * from here, so the HTTP status, the code and the documentation (docs/ERRORS.md) stay in step;
 * a test compares this table with the document. Callers match on `code`, never on message text.
 */
export const ERRORS = {
  FAAS_ERR_INVALID_JSON: { status: 400, summary: 'The request body is not valid JSON.' },
  FAAS_ERR_UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    summary: 'The request body must be sent as application/json.',
  },
  FAAS_ERR_BODY_TOO_LARGE: {
    status: 413,
    summary: 'The request body exceeds the configured maximum (FAAS_MAX_BODY_BYTES).',
  },
  FAAS_ERR_INVALID_FUNCTION_ID: {
    status: 400,
    summary: 'The function id in the path is not allowed (letters, digits, ".", "_", "-"; 1-128 chars; no path tricks).',
  },
  FAAS_ERR_INVALID_REQUEST: {
    status: 400,
    summary: 'The request body does not match the SandboxConfig schema (also: bytes that are not valid HTTP).',
  },
  FAAS_ERR_INVALID_IMAGE: { status: 400, summary: 'The image reference is malformed.' },
  FAAS_ERR_INVALID_COMMAND: {
    status: 400,
    summary: 'The command must be a non-empty array of strings (the first, the program, not empty) without NUL bytes.',
  },
  FAAS_ERR_INVALID_ENV: {
    status: 400,
    summary: 'env_vars must be KEY=VALUE strings within the count and size limits, without NUL bytes.',
  },
  FAAS_ERR_INVALID_BASE64: {
    status: 400,
    summary: 'payload_base64 is not valid standard base64 (RFC 4648, with padding).',
  },
  FAAS_ERR_PAYLOAD_TOO_LARGE: {
    status: 413,
    summary: 'The decoded payload exceeds the configured maximum (FAAS_MAX_PAYLOAD_BYTES).',
  },
  FAAS_ERR_INVALID_TIMEOUT: {
    status: 400,
    summary: 'timeout_ms must be a positive integer no larger than FAAS_MAX_TIMEOUT_MS.',
  },
  FAAS_ERR_INVALID_LIMITS: {
    status: 400,
    summary: 'A resource limit is out of range for this platform.',
  },
  FAAS_ERR_EXECUTOR_NOT_ALLOWED: {
    status: 403,
    summary: 'The requested executor is unknown or not enabled (FAAS_ALLOWED_EXECUTORS).',
  },
  FAAS_ERR_IMAGE_NOT_FOUND: {
    status: 422,
    summary: 'The image is not present on the host and cannot be pulled.',
  },
  FAAS_ERR_NOT_FOUND: { status: 404, summary: 'No such route.' },
  FAAS_ERR_METHOD_NOT_ALLOWED: { status: 405, summary: 'The method is not allowed on this route.' },
  FAAS_ERR_REQUEST_TIMEOUT: {
    status: 408,
    summary: 'The client did not send the request in time.',
  },
  FAAS_ERR_HEADERS_TOO_LARGE: {
    status: 431,
    summary: 'The request headers exceed the limit.',
  },
  FAAS_ERR_SATURATED: {
    status: 429,
    summary: 'All execution slots are busy and the wait queue is full; retry later.',
  },
  FAAS_ERR_TIMEOUT: {
    status: 504,
    summary: 'The function did not finish within its timeout and was killed.',
  },
  FAAS_ERR_SHUTTING_DOWN: {
    status: 503,
    summary: 'The server is draining for shutdown and accepts no new invocations.',
  },
  FAAS_ERR_EXECUTOR_UNAVAILABLE: {
    status: 503,
    summary: 'The executor backend (Docker engine, VMM) cannot be reached.',
  },
  FAAS_ERR_SANDBOX_FAILURE: {
    status: 502,
    summary: 'The sandbox failed for a reason outside the function (engine error, guest fault).',
  },
  FAAS_ERR_SANDBOX_LOST: {
    status: 502,
    summary:
      'The sandbox died under the invocation (killed from outside, its engine or VMM went away); `started` says whether the command may have started.',
  },
  FAAS_ERR_WORKER_LOST: {
    status: 503,
    summary:
      'The platform stopped (killed, crashed, restarted) or the worker running an asynchronous attempt lost its lease while it ran; the attempt was taken back and retried, or the invocation is dead past its attempts. Recorded on the attempt and on a dead invocation, never an HTTP answer. Also the on-chain answer (failed) to a Tangle job call that was running when the operator stopped; such a call is never run again.',
  },
  FAAS_ERR_TANGLE_OPERATOR_STOPPED: {
    status: 503,
    summary:
      'The Tangle operator of this process stopped on a fault it cannot retry (FAAS_TANGLE_CONTRACT has no code, a service of FAAS_TANGLE_SERVICE_IDS does not exist) and serves no job calls until faas restarts; answered by GET /ready only.',
  },
  FAAS_ERR_UNAUTHORIZED: {
    status: 401,
    summary: 'The request carries no API key, or one that is unknown, revoked or expired (send Authorization: Bearer <key>).',
  },
  FAAS_ERR_FORBIDDEN: {
    status: 403,
    summary: 'The API key lacks the scope this route needs, or is not allowed this function.',
  },
  FAAS_ERR_RATE_LIMITED: {
    status: 429,
    summary: "The API key's request rate limit is used up; retry after the Retry-After seconds.",
  },
  FAAS_ERR_FUNCTION_NOT_FOUND: {
    status: 404,
    summary: 'No function is registered under this id (and the request is not an ad-hoc SandboxConfig the platform allows).',
  },
  FAAS_ERR_FUNCTION_EXISTS: { status: 409, summary: 'A function is already registered under this id.' },
  FAAS_ERR_VERSION_CONFLICT: {
    status: 412,
    summary:
      'The function changed since the version named in If-Match (or a web console file since its If-Match or If-Unmodified-Since); read it again and retry.',
  },
  FAAS_ERR_INVALID_FUNCTION: {
    status: 400,
    summary: 'The function definition is malformed (a field out of range, unknown or of the wrong type).',
  },
  FAAS_ERR_FIELD_NOT_ALLOWED: {
    status: 400,
    summary:
      'The invocation of a registered function sets a field its definition fixes (image, command, executor, a larger limit or timeout, a defined variable).',
  },
  FAAS_ERR_CONCURRENCY_LIMIT: {
    status: 429,
    summary: "The function's own concurrency cap (max_concurrency) is reached; retry later.",
  },
  FAAS_ERR_KEY_CONCURRENCY_LIMIT: {
    status: 429,
    summary:
      "The API key's concurrency cap (its max_concurrency, or FAAS_KEY_MAX_CONCURRENCY) is reached: that many of its invocations are running or waiting for a slot; retry when one has finished.",
  },
  FAAS_ERR_INVOCATION_NOT_FOUND: {
    status: 404,
    summary: 'No invocation with this id is in the history (never recorded, or removed by retention).',
  },
  FAAS_ERR_KEY_NOT_FOUND: { status: 404, summary: 'No API key with this id exists.' },
  FAAS_ERR_IDEMPOTENCY_KEY_REUSED: {
    status: 422,
    summary: 'The Idempotency-Key was already used, by this API key, for a different request; use a new key for a new request.',
  },
  FAAS_ERR_INVOCATION_FINISHED: {
    status: 409,
    summary: 'The invocation already reached a final state (succeeded, failed, cancelled or dead) and cannot be cancelled.',
  },
  FAAS_ERR_QUEUE_FULL: {
    status: 429,
    summary:
      'The queue of asynchronous invocations holds FAAS_ASYNC_MAX_QUEUED waiting invocations, or FAAS_ASYNC_MAX_QUEUED_PER_KEY of the calling API key; nothing was queued, retry after the Retry-After seconds.',
  },
  FAAS_ERR_DEAD_LETTER_NOT_FOUND: {
    status: 404,
    summary: 'No dead letter with this id: the invocation is unknown, or is not dead (still queued or running, or finished).',
  },
  FAAS_ERR_INVALID_CALLBACK: {
    status: 400,
    summary:
      'callback_url must be an absolute http or https URL of at most 2048 characters, without credentials, to an address callbacks may reach.',
  },
  FAAS_ERR_INVALID_QUERY: {
    status: 400,
    summary:
      'A query parameter is malformed (limit, cursor, status, since, until) or unknown to the route (only the list routes take any; the invoke route takes none: queue with the header Prefer: respond-async, not ?async).',
  },
  FAAS_ERR_INVALID_JOB_INPUT: {
    status: 400,
    summary:
      "The inputs of a Tangle job call are not the canonical ABI encoding of the job's layout, or are too large (docs/tangle-jobs.md); answered on chain as a rejected result.",
  },
  FAAS_ERR_UNKNOWN_JOB: {
    status: 400,
    summary:
      'A Tangle job call names a job index this blueprint does not have (0 execute, 1 invoke); answered on chain as a rejected result.',
  },
  FAAS_ERR_STORE_UNAVAILABLE: {
    status: 503,
    summary: 'The platform storage cannot be read or written (disk full, database locked too long).',
  },
  FAAS_ERR_INTERNAL: { status: 500, summary: 'An unexpected platform fault.' },
  FAAS_ERR_CONFIG: {
    status: 500,
    summary: 'The platform configuration is invalid (reported at start-up, never to callers).',
  },
} as const satisfies Record<string, { status: number; summary: string }>;

export type ErrorCode = keyof typeof ERRORS;

/** A platform error: carries a registry code, so its HTTP status can never drift from the table. */
export class FaasError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message?: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super(message ?? ERRORS[code].summary, options?.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = 'FaasError';
    this.code = code;
    this.status = ERRORS[code].status;
    this.details = options?.details;
  }

  toJSON(): { error: string; code: ErrorCode } & Record<string, unknown> {
    return { error: this.message, code: this.code, ...(this.details ?? {}) };
  }
}

export function isFaasError(err: unknown, code?: ErrorCode): err is FaasError {
  return err instanceof FaasError && (code === undefined || err.code === code);
}
