/**
 * FaasClient: every route of the gateway, typed from gateway/openapi.json. Invoke and the
 * operations routes are here; functions, invocations, keys and dead letters are one object each.
 */

import { bytesToBase64, toBytes } from './base64.js';
import { type CallOptions, Transport } from './call.js';
import { DeadLetters } from './dead-letters.js';
import { Functions } from './functions.js';
import { type InvocationRecord, Invocations, type WaitOptions } from './invocations.js';
import { Keys } from './keys.js';
import { decodeResult, type InvokeResult } from './results.js';
import { RETRY_DEFAULTS, type RetryOptions } from './retry.js';
import type { AsyncAccepted, Health, InvocationResult, RegisteredInvocation, SandboxConfig } from './types.js';

export interface ClientOptions {
  /** The gateway, such as `http://127.0.0.1:8080` (a path prefix is kept). */
  url: string;
  /** `faas_<id>_<secret>` or the admin key; none for an open gateway (FAAS_AUTH=open). */
  apiKey?: string;
  /** The default deadline of a call, retries included (default: none; a synchronous invoke lasts as long as its function). */
  timeoutMs?: number;
  /** Retries of 429 and 503: 3 by default, with backoff from 250 ms, honouring Retry-After. */
  retry?: RetryOptions;
  /** Another fetch (a proxy agent, a test double); the global one by default. */
  fetch?: typeof fetch;
  /** Sent as User-Agent where the runtime allows it (not in browsers). */
  userAgent?: string;
}

/** Stdin: bytes as they are, or text as UTF-8. */
export type Stdin = Uint8Array | string;

/** An ad-hoc invocation (an unregistered id): the image and command to run. */
export type AdHocInvocation = Omit<SandboxConfig, 'payload_base64'> & { stdin?: Stdin };
/** An invocation of a registered function: what its definition lets the caller narrow. */
export type RegisteredInput = Omit<RegisteredInvocation, 'payload_base64'> & { stdin?: Stdin };
export type InvokeInput = AdHocInvocation | RegisteredInput;

export interface AsyncInvokeOptions extends CallOptions {
  /** The same key (per API key, within the gateway's window) answers the invocation it made, never a second run. */
  idempotencyKey?: string;
}

function invokeBody(input: InvokeInput | undefined): SandboxConfig | RegisteredInvocation | undefined {
  if (input === undefined) return undefined;
  const { stdin, ...rest } = input;
  return stdin === undefined ? rest : { ...rest, payload_base64: bytesToBase64(toBytes(stdin)) };
}

export class FaasClient {
  readonly functions: Functions;
  readonly invocations: Invocations;
  readonly keys: Keys;
  readonly deadLetters: DeadLetters;
  private readonly t: Transport;

  constructor(options: ClientOptions) {
    const baseUrl = options.url.replace(/\/+$/, '');
    this.t = new Transport({
      baseUrl,
      apiKey: options.apiKey,
      timeoutMs: options.timeoutMs,
      retry: { ...RETRY_DEFAULTS, ...options.retry },
      fetch: options.fetch ?? ((input, init) => globalThis.fetch(input, init)),
      userAgent: options.userAgent,
    });
    this.functions = new Functions(this.t);
    this.invocations = new Invocations(this.t);
    this.keys = new Keys(this.t);
    this.deadLetters = new DeadLetters(this.t);
  }

  get url(): string {
    return this.t.baseUrl;
  }

  /**
   * Runs a function and answers its result with stdout and stderr decoded. The function's own failure
   * (a non-zero exit, a signal, out of memory) is a result (`ok` false), not an error; its timeout is
   * a FunctionTimeoutError with the output so far; the platform's faults are the other FaasErrors.
   */
  async invoke(functionId: string, input?: InvokeInput, options?: CallOptions): Promise<InvokeResult> {
    const body = invokeBody(input);
    const { data, response } = await this.t.call(options, (init) =>
      this.t.api.POST('/functions/{function_id}/invoke', {
        params: { path: { function_id: functionId } },
        ...(body === undefined ? {} : { body }),
        ...init,
      }),
    );
    if (response.status !== 200) throw new Error(`unexpected HTTP ${response.status} from the invoke route`);
    return decodeResult(data as InvocationResult);
  }

  /** Queues an invocation (`Prefer: respond-async`): answered once the gateway committed it; wait with `invocations.wait`. */
  async invokeAsync(functionId: string, input?: InvokeInput, options?: AsyncInvokeOptions): Promise<AsyncAccepted> {
    const body = invokeBody(input);
    const header = {
      Prefer: 'respond-async',
      ...(options?.idempotencyKey === undefined ? {} : { 'Idempotency-Key': options.idempotencyKey }),
    };
    const { data, response } = await this.t.call(options, (init) =>
      this.t.api.POST('/functions/{function_id}/invoke', {
        params: { path: { function_id: functionId }, header },
        ...(body === undefined ? {} : { body }),
        ...init,
      }),
    );
    if (response.status !== 202)
      throw new Error(
        `the gateway ran the invocation instead of queueing it (HTTP ${response.status}): is it older than Prefer: respond-async?`,
      );
    return data as AsyncAccepted;
  }

  /** invokeAsync, then wait for the invocation to end. */
  async invokeAndWait(functionId: string, input?: InvokeInput, options?: AsyncInvokeOptions & WaitOptions): Promise<InvocationRecord> {
    const accepted = await this.invokeAsync(functionId, input, options);
    return this.invocations.wait(accepted.invocation_id, options);
  }

  /** `GET /health`: the process serves. */
  async health(options?: CallOptions): Promise<Health> {
    const { data } = await this.t.call(options, (init) => this.t.api.GET('/health', init));
    return data;
  }

  /**
   * `GET /ready`: the default executor and the store can be used and the gateway is not draining.
   * Not ready is an UnavailableError; it is not retried unless `retry` says so.
   */
  async ready(options?: CallOptions): Promise<Health> {
    const { data } = await this.t.call({ retry: { retries: 0 }, ...options }, (init) => this.t.api.GET('/ready', init));
    return data;
  }

  /** `GET /metrics`: Prometheus text (scope `metrics`). */
  async metrics(options?: CallOptions): Promise<string> {
    const { data } = await this.t.call(options, (init) => this.t.api.GET('/metrics', { parseAs: 'text', ...init }));
    return data;
  }

  /** `GET /openapi.json`: the gateway's own API document. */
  async openapi(options?: CallOptions): Promise<Record<string, unknown>> {
    const { data } = await this.t.call(options, (init) => this.t.api.GET('/openapi.json', init));
    return data as Record<string, unknown>;
  }
}
