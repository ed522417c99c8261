/**
 * The SDK's own behaviour with a fetch double (no gateway): retries of 429 and 503 with Retry-After,
 * the call's deadline and AbortSignal, errors by code, base64 of every byte value, and results that
 * serialize back to the gateway's JSON. The routes themselves are tested against a real gateway in
 * tester/src/e2e/sdk.test.ts.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { type AddressInfo, createServer } from 'node:net';
import { describe, it } from 'node:test';
import {
  base64ToBytes,
  bytesToBase64,
  CallTimeoutError,
  ConflictError,
  ConnectionError,
  ERROR_CODES,
  errorFromResponse,
  FaasClient,
  FunctionTimeoutError,
  InvalidRequestError,
  NotFoundError,
  parseRetryAfter,
  RateLimitedError,
  UnavailableError,
} from './index.js';

interface Seen {
  method: string;
  url: string;
  headers: Headers;
  body: string;
}

type Reply = { status: number; body?: unknown; headers?: Record<string, string> } | (() => Promise<Response>);

/** A fetch that answers the replies in turn and records what it was sent. */
function fakeFetch(replies: Reply[]) {
  const seen: Seen[] = [];
  const fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const request = new Request(input, init);
    seen.push({ method: request.method, url: request.url, headers: request.headers, body: await request.text() });
    const reply = replies.shift();
    if (reply === undefined) throw new Error('no more replies');
    if (typeof reply === 'function') return reply();
    const text = reply.body === undefined ? '' : JSON.stringify(reply.body);
    return new Response(reply.status === 204 ? null : text, {
      status: reply.status,
      headers: { 'content-type': 'application/json', ...reply.headers },
    });
  };
  return { fetch: fetch as typeof globalThis.fetch, seen };
}

const RESULT = {
  request_id: 'f',
  invocation_id: 'i-1',
  response_base64: bytesToBase64(new Uint8Array([0x61, 0, 0x62])),
  logs_base64: 'YQBi',
  stderr_base64: 'ZXJy',
  error: null,
  exit_code: 0,
  signal: null,
  truncated: false,
  duration_ms: 3,
  executor: 'docker',
  function_version: null,
  phases: { queue_ms: 0, acquire_ms: 1, run_ms: 2 },
};

const fast = { retries: 3, baseDelayMs: 1, maxDelayMs: 2000 };

describe('FaasClient with a fetch double', () => {
  it('sends the key, the body with stdin in base64, and decodes stdout and stderr', async () => {
    const { fetch, seen } = fakeFetch([{ status: 200, body: RESULT }]);
    const client = new FaasClient({ url: 'http://gw.test/', apiKey: 'k', fetch });
    const result = await client.invoke('f', { image: 'faas/busybox:latest', command: ['cat'], stdin: new Uint8Array([1, 0, 255]) });
    assert.equal(seen[0]?.url, 'http://gw.test/functions/f/invoke');
    assert.equal(seen[0]?.headers.get('authorization'), 'Bearer k');
    assert.deepEqual(JSON.parse(seen[0]?.body ?? ''), { image: 'faas/busybox:latest', command: ['cat'], payload_base64: 'AQD/' });
    assert.deepEqual([...result.stdout], [0x61, 0, 0x62]);
    assert.equal(result.stderrText(), 'err');
    assert.equal(result.ok, true);
    assert.deepEqual(JSON.parse(JSON.stringify(result)), RESULT, 'the result serializes as the gateway sent it');
  });

  it('retries 429 and 503, honouring Retry-After, and answers the first success', async () => {
    const { fetch, seen } = fakeFetch([
      { status: 429, body: { error: 'slow down', code: 'FAAS_ERR_RATE_LIMITED' }, headers: { 'retry-after': '1' } },
      { status: 503, body: { error: 'draining', code: 'FAAS_ERR_SHUTTING_DOWN' } },
      { status: 200, body: { status: 'ok' } },
    ]);
    const client = new FaasClient({ url: 'http://gw.test', fetch, retry: fast });
    const started = Date.now();
    assert.deepEqual(await client.health(), { status: 'ok' });
    assert.equal(seen.length, 3);
    assert.ok(Date.now() - started >= 950, 'it waited the second Retry-After asked for');
  });

  it('sends a request body again on a retry', async () => {
    const { fetch, seen } = fakeFetch([
      { status: 429, body: { error: 'busy', code: 'FAAS_ERR_SATURATED', invocation_id: 'x' } },
      { status: 200, body: RESULT },
    ]);
    const client = new FaasClient({ url: 'http://gw.test', fetch, retry: fast });
    await client.invoke('f', { stdin: 'hi' });
    assert.equal(seen.length, 2);
    assert.equal(seen[1]?.body, seen[0]?.body);
    assert.deepEqual(JSON.parse(seen[1]?.body ?? ''), { payload_base64: 'aGk=' });
  });

  it('gives up after its retries with the last answer as a typed error', async () => {
    const busy = { status: 429, body: { error: 'busy', code: 'FAAS_ERR_SATURATED', invocation_id: 'x' } };
    const { fetch, seen } = fakeFetch([busy, busy, busy]);
    const client = new FaasClient({ url: 'http://gw.test', fetch, retry: { ...fast, retries: 2 } });
    const err = await client.invoke('f').catch((e: unknown) => e);
    assert.ok(err instanceof RateLimitedError);
    assert.equal(err.code, 'FAAS_ERR_SATURATED');
    assert.equal(err.invocationId, 'x');
    assert.equal(seen.length, 3);
  });

  it('does not wait for a Retry-After longer than allowed', async () => {
    const { fetch, seen } = fakeFetch([
      { status: 429, body: { error: 'later', code: 'FAAS_ERR_RATE_LIMITED' }, headers: { 'retry-after': '3600' } },
    ]);
    const err = await new FaasClient({ url: 'http://gw.test', fetch, retry: fast }).health().catch((e: unknown) => e);
    assert.ok(err instanceof RateLimitedError);
    assert.equal(err.retryAfterMs, 3_600_000);
    assert.equal(seen.length, 1);
  });

  it('does not retry /ready', async () => {
    const { fetch, seen } = fakeFetch([{ status: 503, body: { error: 'engine down', code: 'FAAS_ERR_EXECUTOR_UNAVAILABLE' } }]);
    const err = await new FaasClient({ url: 'http://gw.test', fetch, retry: fast }).ready().catch((e: unknown) => e);
    assert.ok(err instanceof UnavailableError);
    assert.equal(seen.length, 1);
  });

  it('stops at its deadline, a retry wait included', async () => {
    const { fetch } = fakeFetch([
      { status: 503, body: { error: 'down', code: 'FAAS_ERR_STORE_UNAVAILABLE' } },
      { status: 200, body: { status: 'ok' } },
    ]);
    const client = new FaasClient({ url: 'http://gw.test', fetch, retry: { retries: 3, baseDelayMs: 5000, maxDelayMs: 10_000 } });
    const err = await client.health({ timeoutMs: 100 }).catch((e: unknown) => e);
    assert.ok(err instanceof UnavailableError, 'a wait past the deadline is not begun: the answer is the error');
    const hanging = () => new Promise<Response>(() => undefined);
    const slow = new FaasClient({ url: 'http://gw.test', fetch: fakeFetch([hanging]).fetch });
    const timedOut = await slow.health({ timeoutMs: 50 }).catch((e: unknown) => e);
    assert.ok(timedOut instanceof CallTimeoutError);
    assert.equal(timedOut.timeoutMs, 50);
  });

  it("rejects with the caller's abort reason", async () => {
    const fetch = ((_: unknown, init?: RequestInit) =>
      new Promise<Response>((_resolve, reject) =>
        init?.signal?.addEventListener('abort', () => reject(init.signal?.reason)),
      )) as typeof globalThis.fetch;
    const controller = new AbortController();
    const call = new FaasClient({ url: 'http://gw.test', fetch }).health({ signal: controller.signal });
    controller.abort(new Error('stop'));
    await assert.rejects(call, /stop/);
    await assert.rejects(
      new FaasClient({ url: 'http://gw.test', fetch }).health({ signal: AbortSignal.abort(new Error('before')) }),
      /before/,
    );
  });

  it('names the gateway it cannot reach', async () => {
    const server = createServer().listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    server.close();
    await once(server, 'close');
    const err = await new FaasClient({ url: `http://127.0.0.1:${port}` }).health().catch((e: unknown) => e);
    assert.ok(err instanceof ConnectionError);
    assert.equal(err.message, `cannot reach http://127.0.0.1:${port}: ECONNREFUSED`);
  });

  it('polls an asynchronous invocation until it ends, with its result decoded', async () => {
    const base = { id: 'a', state: 'queued', status: null, result: null };
    const { fetch, seen } = fakeFetch([
      { status: 202, body: { invocation_id: 'a', function_id: 'f', state: 'queued', accepted_at: '2026-01-01T00:00:00.000Z' } },
      { status: 200, body: base },
      { status: 200, body: { ...base, state: 'running' } },
      { status: 200, body: { ...base, state: 'succeeded', status: 'completed', result: RESULT } },
    ]);
    const states: unknown[] = [];
    const client = new FaasClient({ url: 'http://gw.test', fetch });
    const done = await client.invokeAndWait(
      'f',
      { stdin: 'x' },
      { idempotencyKey: 'k-1', initialIntervalMs: 1, onPoll: (i) => states.push(i.state) },
    );
    assert.equal(seen[0]?.headers.get('prefer'), 'respond-async');
    assert.equal(seen[0]?.headers.get('idempotency-key'), 'k-1');
    assert.deepEqual(states, ['queued', 'running', 'succeeded']);
    assert.deepEqual([...(done.result?.stdout ?? [])], [0x61, 0, 0x62]);
  });
});

describe('errors', () => {
  it('lists keys a page at a time, and all() follows next_cursor until it is null', async () => {
    const key = (id: string) => ({
      id,
      name: id,
      scopes: ['invoke'],
      functions: null,
      rate_limit: null,
      created_at: '2026-11-29T19:27:24.123Z',
      expires_at: null,
      revoked_at: null,
      last_used_at: null,
    });
    const { fetch, seen } = fakeFetch([
      { status: 200, body: { keys: [key('a')], next_cursor: 'c1' } },
      { status: 200, body: { keys: [key('a'), key('b')], next_cursor: 'c+/=' } },
      { status: 200, body: { keys: [key('c')], next_cursor: null } },
    ]);
    const client = new FaasClient({ url: 'http://gw.test', apiKey: 'k', fetch });
    const page = await client.keys.list({ limit: 1 });
    assert.deepEqual([page.keys.map((k) => k.id), page.next_cursor], [['a'], 'c1']);
    const ids: string[] = [];
    for await (const k of client.keys.all({ limit: 2 })) ids.push(k.id);
    assert.deepEqual(ids, ['a', 'b', 'c']);
    assert.deepEqual(
      seen.map((s) => s.url),
      ['http://gw.test/keys?limit=1', 'http://gw.test/keys?limit=2', 'http://gw.test/keys?limit=2&cursor=c%2B%2F%3D'],
    );
  });

  it('picks the class by code, then by status for a code the document does not list', () => {
    assert.ok(errorFromResponse(404, { error: 'no', code: 'FAAS_ERR_FUNCTION_NOT_FOUND' }) instanceof NotFoundError);
    assert.ok(errorFromResponse(412, { error: 'v', code: 'FAAS_ERR_VERSION_CONFLICT', version: 4 }) instanceof ConflictError);
    assert.equal(
      (errorFromResponse(412, { error: 'v', code: 'FAAS_ERR_VERSION_CONFLICT', version: 4 }) as ConflictError).currentVersion,
      4,
    );
    assert.ok(errorFromResponse(404, { error: 'no route', code: 'FAAS_ERR_NOT_FOUND' }) instanceof NotFoundError);
    const proxy = errorFromResponse(502, '<html>Bad Gateway</html>');
    assert.equal(proxy.code, 'FAAS_ERR_HTTP_502');
    const timeout = errorFromResponse(504, { error: 't', code: 'FAAS_ERR_TIMEOUT', logs_base64: 'aGk=', timeout_ms: 5 });
    assert.ok(timeout instanceof FunctionTimeoutError);
    assert.deepEqual([...timeout.logs], [0x68, 0x69]);
    assert.ok(
      errorFromResponse(400, { error: 'b', code: 'FAAS_ERR_INVALID_BASE64', field: 'payload_base64' }) instanceof InvalidRequestError,
    );
    assert.ok(ERROR_CODES.includes('FAAS_ERR_SATURATED'));
  });

  it('reads Retry-After as seconds or an HTTP date', () => {
    assert.equal(parseRetryAfter('3'), 3000);
    assert.equal(parseRetryAfter(new Date(10_000).toUTCString(), 4000), 6000);
    assert.equal(parseRetryAfter(null), undefined);
    assert.equal(parseRetryAfter('soon'), undefined);
  });
});

describe('base64', () => {
  it('round-trips every byte value and large buffers without Buffer', () => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    assert.equal(bytesToBase64(all), Buffer.from(all).toString('base64'));
    assert.deepEqual(base64ToBytes(bytesToBase64(all)), all);
    const big = Uint8Array.from({ length: 200_003 }, (_, i) => (i * 7) & 0xff);
    assert.deepEqual(base64ToBytes(bytesToBase64(big)), big);
    assert.deepEqual(base64ToBytes(null), new Uint8Array(0));
  });
});
