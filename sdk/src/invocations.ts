/** The history and asynchronous invocations: `/invocations/{id}`, its output, cancel, and waiting for one to end. */
import type { CallOptions, Transport } from './call.js';
import { CallTimeoutError } from './errors.js';
import { everyItem } from './paging.js';
import { type DecodedOutput, decodeOutput, decodeResult, type InvokeResult } from './results.js';
import { sleep } from './retry.js';
import type { Invocation, InvocationList, InvocationState, ListInvocationsQuery } from './types.js';

/** An invocation with its result's output decoded (an asynchronous one's, once it ran to an end). */
export type InvocationRecord = Omit<Invocation, 'result'> & { result?: InvokeResult | null };

/** The states after which nothing changes any more. */
export const FINAL_STATES: ReadonlySet<InvocationState> = new Set(['succeeded', 'failed', 'cancelled', 'dead']);

export function isFinal(invocation: Pick<Invocation, 'state' | 'status'>): boolean {
  // A gateway without asynchronous invocations answers no state: a recorded status is the end.
  return invocation.state === undefined ? invocation.status !== null : FINAL_STATES.has(invocation.state);
}

export interface WaitOptions {
  /** Stops waiting (the promise rejects with the signal's reason); the invocation goes on. */
  signal?: AbortSignal;
  /** Gives up after this long (CallTimeoutError); the invocation goes on. Default: no limit. */
  timeoutMs?: number;
  /** The first pause between polls (default 250 ms); each next one is 1.5 times longer. */
  initialIntervalMs?: number;
  /** The longest pause between polls (default 5 s). */
  maxIntervalMs?: number;
  /** Called with every answer, final or not: progress for a user who watches. */
  onPoll?: (invocation: InvocationRecord) => void;
}

function decodeInvocation(raw: Invocation): InvocationRecord {
  const { result, ...rest } = raw;
  if (result === undefined) return rest;
  return { ...rest, result: result === null ? null : decodeResult(result) };
}

export class Invocations {
  constructor(private readonly t: Transport) {}

  /** Where it stands (state, attempts) and, once an asynchronous one ran, its result. */
  async get(invocationId: string, options?: CallOptions): Promise<InvocationRecord> {
    const { data } = await this.t.call(options, (init) =>
      this.t.api.GET('/invocations/{invocation_id}', { params: { path: { invocation_id: invocationId } }, ...init }),
    );
    return decodeInvocation(data);
  }

  /** One page of a function's history, newest first (an id nothing ran under has an empty one). */
  async list(functionId: string, query: ListInvocationsQuery = {}, options?: CallOptions): Promise<InvocationList> {
    const { data } = await this.t.call(options, (init) =>
      this.t.api.GET('/functions/{function_id}/invocations', { params: { path: { function_id: functionId }, query }, ...init }),
    );
    return data;
  }

  all(
    functionId: string,
    query: Omit<ListInvocationsQuery, 'cursor'> = {},
    options?: CallOptions,
  ): AsyncGenerator<Invocation, void, undefined> {
    return everyItem(
      (cursor) => this.list(functionId, { ...query, ...(cursor === undefined ? {} : { cursor }) }, options),
      (page) => page.invocations,
    );
  }

  /** The output the history kept (FAAS_HISTORY_OUTPUT_BYTES of each stream), decoded. */
  async output(invocationId: string, options?: CallOptions): Promise<DecodedOutput> {
    const { data } = await this.t.call(options, (init) =>
      this.t.api.GET('/invocations/{invocation_id}/output', { params: { path: { invocation_id: invocationId } }, ...init }),
    );
    return decodeOutput(data);
  }

  /**
   * Cancels an asynchronous invocation: a queued one never runs, a running one is killed. The answer
   * is `cancelled`, or still `running` when the kill took longer than the gateway waits (poll it).
   * ConflictError FAAS_ERR_INVOCATION_FINISHED when it had already ended otherwise.
   */
  async cancel(invocationId: string, options?: CallOptions): Promise<InvocationRecord> {
    const { data } = await this.t.call(options, (init) =>
      this.t.api.DELETE('/invocations/{invocation_id}', { params: { path: { invocation_id: invocationId } }, ...init }),
    );
    return decodeInvocation(data);
  }

  /** Polls until the invocation is in a final state (succeeded, failed, cancelled, dead) and answers it. */
  async wait(invocationId: string, options: WaitOptions = {}): Promise<InvocationRecord> {
    const controller = new AbortController();
    const { signal, timeoutMs } = options;
    const onAbort = () => controller.abort(signal?.reason);
    if (signal?.aborted) controller.abort(signal.reason);
    else signal?.addEventListener('abort', onAbort, { once: true });
    const timer = timeoutMs === undefined ? undefined : setTimeout(() => controller.abort(new CallTimeoutError(timeoutMs)), timeoutMs);
    let interval = options.initialIntervalMs ?? 250;
    const maxInterval = options.maxIntervalMs ?? 5000;
    try {
      for (;;) {
        const invocation = await this.get(invocationId, { signal: controller.signal });
        options.onPoll?.(invocation);
        if (isFinal(invocation)) return invocation;
        await sleep(interval, controller.signal);
        interval = Math.min(maxInterval, interval * 1.5);
      }
    } finally {
      if (timer !== undefined) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
  }
}
