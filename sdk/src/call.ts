/**
 * One call to the gateway as the SDK makes it: its deadline and the caller's AbortSignal over every
 * try, the API key, retries of 429 and 503 (retry.ts), and an error answer turned into a FaasError
 * (errors.ts). The typed requests themselves are openapi-fetch's, built from the generated paths.
 */
import createClient, { type Client } from 'openapi-fetch';
import { CallTimeoutError, ConnectionError, errorFromResponse } from './errors.js';
import type { paths } from './generated/openapi.js';
import { isRetryableStatus, parseRetryAfter, RETRY_DEFAULTS, type RetryOptions, retryDelay, sleep } from './retry.js';

/** What every method takes last. */
export interface CallOptions {
  /** Aborts the call (and its retries); the promise rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Gives up after this long, retries and their waits included (CallTimeoutError). Overrides the client's. */
  timeoutMs?: number;
  /** Overrides the client's retry settings for this call. */
  retry?: RetryOptions;
}

export interface TransportOptions {
  baseUrl: string;
  apiKey: string | undefined;
  timeoutMs: number | undefined;
  retry: Required<RetryOptions>;
  fetch: typeof fetch;
  userAgent: string | undefined;
}

/** What openapi-fetch answers: the parsed body on success, the parsed error otherwise. */
interface Answer {
  data?: unknown;
  error?: unknown;
  response: Response;
}

/** The fields of a request that the transport sets on every call. */
export type RequestInitExtra = {
  fetch: (input: Request) => Promise<Response>;
};

export type Api = Client<paths>;

/** A deadline and the caller's signal, as one signal; `dispose` clears the timer. */
function callScope(signal: AbortSignal | undefined, timeoutMs: number | undefined) {
  const controller = new AbortController();
  let timedOut = false;
  const onAbort = () => controller.abort(signal?.reason);
  if (signal?.aborted) controller.abort(signal.reason);
  else signal?.addEventListener('abort', onAbort, { once: true });
  const timer =
    timeoutMs === undefined
      ? undefined
      : setTimeout(() => {
          timedOut = true;
          controller.abort(new CallTimeoutError(timeoutMs));
        }, timeoutMs);
  const deadline = timeoutMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + timeoutMs;
  const aborted = new Promise<never>((_resolve, reject) => {
    const fail = () => reject(controller.signal.reason);
    if (controller.signal.aborted) fail();
    else controller.signal.addEventListener('abort', fail, { once: true });
  });
  aborted.catch(() => undefined);
  return {
    signal: controller.signal,
    aborted,
    deadline,
    timedOut: () => timedOut,
    dispose() {
      if (timer !== undefined) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    },
  };
}

export class Transport {
  readonly api: Api;

  constructor(private readonly options: TransportOptions) {
    const headers: Record<string, string> = {};
    if (options.apiKey !== undefined) headers.authorization = `Bearer ${options.apiKey}`;
    if (options.userAgent !== undefined) headers['user-agent'] = options.userAgent;
    this.api = createClient<paths>({ baseUrl: options.baseUrl, headers });
  }

  get baseUrl(): string {
    return this.options.baseUrl;
  }

  /**
   * Runs one typed request (`send` builds it with openapi-fetch) under the call's options; resolves
   * to the success body and the response, or rejects with a FaasError, CallTimeoutError,
   * ConnectionError, or the signal's reason.
   */
  async call<A extends Answer>(
    options: CallOptions | undefined,
    send: (init: RequestInitExtra) => Promise<A>,
  ): Promise<{ data: Exclude<A['data'], undefined>; response: Response }> {
    const timeoutMs = options?.timeoutMs ?? this.options.timeoutMs;
    const scope = callScope(options?.signal, timeoutMs);
    const retry = { ...this.options.retry, ...options?.retry };
    try {
      // Raced with the signal too: a fetch that ignores it (some test doubles and polyfills) cannot hold the call.
      const answer = await Promise.race([
        send({ fetch: (request) => this.fetchWithRetries(request, scope.signal, scope.deadline, retry) }),
        scope.aborted,
      ]);
      const { response } = answer;
      if (!response.ok) {
        throw errorFromResponse(response.status, answer.error, parseRetryAfter(response.headers.get('retry-after')));
      }
      return { data: answer.data as Exclude<A['data'], undefined>, response };
    } catch (err) {
      if (scope.signal.aborted) throw scope.timedOut() ? new CallTimeoutError(timeoutMs as number) : scope.signal.reason;
      throw err;
    } finally {
      scope.dispose();
    }
  }

  private async fetchWithRetries(
    request: Request,
    signal: AbortSignal,
    deadline: number,
    retry: Required<RetryOptions>,
  ): Promise<Response> {
    for (let attempt = 0; ; attempt++) {
      let response: Response;
      try {
        // A clone per try: the original's body is never read, so it can be sent again.
        response = await this.options.fetch(request.clone(), { signal });
      } catch (err) {
        if (signal.aborted) throw signal.reason;
        throw new ConnectionError(this.options.baseUrl, { cause: err });
      }
      if (!isRetryableStatus(response.status) || attempt >= retry.retries) return response;
      const delay = retryDelay(attempt, parseRetryAfter(response.headers.get('retry-after')), retry);
      // A wait longer than allowed, or past the deadline, is not waited for: the caller gets the answer now.
      if (delay > retry.maxDelayMs || Date.now() + delay >= deadline) return response;
      await response.body?.cancel().catch(() => undefined);
      await sleep(delay, signal);
    }
  }
}

export { RETRY_DEFAULTS };
