/**
 * Asynchronous invocations end to end over HTTP, against the real Docker engine: acceptance and
 * results, idempotency keys, cancel (queued and running), a real platform fault retried (the
 * sandbox's container killed under the command), dead letters and their redrive, callbacks (a
 * signed delivery, and with the default address rules, loopback refused at acceptance or, for a name
 * that resolves to it, at delivery, each answered on GET /invocations/{id}), and a platform killed
 * with SIGKILL in the middle of a batch and started again on the same FAAS_DATA_DIR, after which
 * every invocation ends exactly once and each attempt the kill cut short says so (FAAS_ERR_WORKER_LOST).
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { describe, it } from 'node:test';
import { startServe } from '../support/cli.js';
import { DOCKER_HOST, describeContainers, survivingProcesses, waitForNoContainers, waitForNoSurvivor } from '../support/docker.js';
import { HttpClient, type HttpResponse } from '../support/http.js';
import { BUSYBOX } from '../support/images.js';
import { freshDataDir, OWN_CONTAINERS, usePlatform } from '../support/platform.js';

interface Attempt {
  attempt: number;
  started_at: string;
  status: string;
  exit_code: number | null;
  error: string | null;
  error_code: string | null;
}

interface Callback {
  url_origin: string;
  state: 'pending' | 'delivered' | 'failed' | 'refused';
  attempts: number;
  last_error: string | null;
  last_status: number | null;
  delivered_at: string | null;
}

interface State {
  id: string;
  state: string;
  status: string | null;
  attempts: number;
  max_attempts: number;
  attempt_history: Attempt[];
  error: string | null;
  error_code: string | null;
  finished_at: string | null;
  result: { response_base64: string; exit_code: number | null; invocation_id: string } | null;
  callback?: Callback | null;
}

const ASYNC = { prefer: 'respond-async' };
const FINAL = ['succeeded', 'failed', 'cancelled', 'dead'];

function ok<T = Record<string, unknown>>(res: HttpResponse, status = 200): T {
  assert.equal(res.status, status, `expected ${status}, got ${res.status}: ${res.text.slice(0, 500)}`);
  return res.json<T>();
}

async function register(client: HttpClient, body: Record<string, unknown>): Promise<void> {
  ok(await client.request('/functions', { method: 'POST', body: { image: BUSYBOX, ...body } }), 201);
}

async function accept(client: HttpClient, functionId: string, body?: unknown, headers: Record<string, string> = {}): Promise<string> {
  const res = await client.request(`/functions/${functionId}/invoke`, { method: 'POST', body, headers: { ...ASYNC, ...headers } });
  const accepted = ok<{ invocation_id: string }>(res, 202);
  assert.equal(res.headers.location, `/invocations/${accepted.invocation_id}`);
  return accepted.invocation_id;
}

async function state(client: HttpClient, id: string): Promise<State> {
  return ok<State>(await client.request(`/invocations/${id}`));
}

async function waitFor(client: HttpClient, id: string, states: string[], withinMs = 60_000): Promise<State> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const now = await state(client, id);
    if (states.includes(now.state)) return now;
    if (Date.now() > deadline) assert.fail(`${id} never reached ${states.join('/')}; last: ${JSON.stringify(now).slice(0, 800)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Waits until the callback of `id` is no longer pending (its delivery ended), and answers it. */
async function callbackEnded(client: HttpClient, id: string, withinMs = 30_000): Promise<Callback> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const now = await state(client, id);
    if (now.callback && now.callback.state !== 'pending') return now.callback;
    if (Date.now() > deadline) assert.fail(`the callback of ${id} never ended: ${JSON.stringify(now.callback)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A loopback receiver that records every request it gets. */
async function startRecorder(): Promise<{
  server: http.Server;
  origin: string;
  port: number;
  received: Array<{ path: string; body: string; signature: string }>;
}> {
  const received: Array<{ path: string; body: string; signature: string }> = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({
        path: req.url ?? '',
        body: Buffer.concat(chunks).toString('utf8'),
        signature: String(req.headers['x-faas-signature']),
      });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return { server, origin: `http://127.0.0.1:${port}`, port, received };
}

/**
 * A host name other than `localhost` (which is refused at acceptance) that resolves to loopback
 * only: the machine's own name usually does (/etc/hosts). Undefined when none does here.
 */
async function nameOfLoopback(): Promise<string | undefined> {
  for (const name of [hostname(), 'localhost.localdomain', 'ip6-localhost', 'ip6-loopback']) {
    if (name === '' || name.toLowerCase() === 'localhost' || name.toLowerCase().endsWith('.localhost')) continue;
    try {
      const addresses = await lookup(name, { all: true, verbatim: true });
      const loopback = (a: string) => /^127\./.test(a) || a === '::1' || /^::ffff:127\./i.test(a);
      if (addresses.length > 0 && addresses.every((a) => loopback(a.address))) return name;
    } catch {}
  }
  return undefined;
}

const stdoutOf = (s: State): string => Buffer.from(s.result?.response_base64 ?? '', 'base64').toString();

/** POST /containers/{id}/kill on the engine: the sandbox dies under the command, as a crash of the engine's container would. */
function killContainer(id: string): Promise<number> {
  const target = DOCKER_HOST.startsWith('unix://')
    ? { socketPath: DOCKER_HOST.slice('unix://'.length) }
    : { host: new URL(DOCKER_HOST.replace(/^tcp:/, 'http:')).hostname, port: Number(new URL(DOCKER_HOST.replace(/^tcp:/, 'http:')).port) };
  return new Promise((resolve, reject) => {
    const req = http.request({ ...target, method: 'POST', path: `/containers/${id}/kill`, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('asynchronous invocations', { concurrency: 1 }, () => {
  const p = usePlatform({
    FAAS_POOL_MODE: 'off',
    FAAS_MAX_CONCURRENCY: '4',
    FAAS_ASYNC_CONCURRENCY: '2',
    FAAS_ASYNC_RETRY_BASE_MS: '200',
    FAAS_ASYNC_RETRY_MAX_MS: '1000',
  });

  it('answers 202 at once, then the same result a synchronous call gives; the history records it', async () => {
    await register(p.client, { id: 'async-echo', command: ['sh', '-c', 'cat; echo " $GREETING"'], env_vars: ['GREETING=hi'] });
    const id = await accept(p.client, 'async-echo', { payload_base64: Buffer.from('hello').toString('base64') });
    const done = await waitFor(p.client, id, FINAL);
    assert.equal(done.state, 'succeeded');
    assert.equal(done.attempts, 1);
    assert.equal(done.status, 'completed');
    assert.equal(stdoutOf(done), 'hello hi\n');
    assert.equal(done.result?.invocation_id, id);
    assert.deepEqual(
      done.attempt_history.map((a) => [a.attempt, a.status, a.exit_code]),
      [[1, 'completed', 0]],
    );
    const sync = ok<{ response_base64: string }>(
      await p.client.request('/functions/async-echo/invoke', {
        method: 'POST',
        body: { payload_base64: Buffer.from('hello').toString('base64') },
      }),
    );
    assert.equal(Buffer.from(sync.response_base64, 'base64').toString(), stdoutOf(done), 'the result a synchronous call gives');
    const history = ok<{ invocations: Array<{ id: string }> }>(await p.client.request('/functions/async-echo/invocations'));
    assert.ok(history.invocations.some((i) => i.id === id));
  });

  it('an idempotency key makes one invocation, whatever the repeats; another request under it is 422', async () => {
    await register(p.client, { id: 'async-once', command: ['sh', '-c', 'cat'] });
    const body = { payload_base64: Buffer.from('one').toString('base64') };
    const headers = { 'idempotency-key': `once-${Date.now()}` };
    const ids = await Promise.all([1, 2, 3].map(() => accept(p.client, 'async-once', body, headers)));
    assert.equal(new Set(ids).size, 1, `one invocation for one key: ${ids.join(', ')}`);
    const id = ids[0] as string;
    const done = await waitFor(p.client, id, FINAL);
    assert.equal(done.state, 'succeeded');
    assert.equal(done.attempts, 1, 'it ran once');
    assert.equal(await accept(p.client, 'async-once', body, headers), id, 'after it ended too');
    const other = await p.client.request('/functions/async-once/invoke', {
      method: 'POST',
      body: { payload_base64: Buffer.from('two').toString('base64') },
      headers: { ...ASYNC, ...headers },
    });
    assert.equal(other.status, 422, other.text);
    assert.equal(other.json<{ code: string }>().code, 'FAAS_ERR_IDEMPOTENCY_KEY_REUSED');
    const history = ok<{ invocations: unknown[] }>(await p.client.request('/functions/async-once/invocations'));
    assert.equal(history.invocations.length, 1, 'one run in the history');
  });

  it('cancels a queued invocation (it never runs) and kills a running one', async () => {
    const marker = `cancel-${Date.now()}`;
    await register(p.client, { id: 'async-slow', command: ['sh', '-c', `sleep 30; echo ${marker}`] });
    // Two asynchronous slots: two run, the third waits.
    const running = [await accept(p.client, 'async-slow'), await accept(p.client, 'async-slow')];
    const queued = await accept(p.client, 'async-slow');
    for (const id of running) await waitFor(p.client, id, ['running']);
    const before = await state(p.client, queued);
    assert.equal(before.state, 'queued');
    const cancelledQueued = ok<State>(await p.client.request(`/invocations/${queued}`, { method: 'DELETE' }));
    assert.equal(cancelledQueued.state, 'cancelled');
    assert.equal(cancelledQueued.attempts, 0, 'it never ran');
    // Wait for the processes to exist, then kill the running ones through the API.
    const deadline = Date.now() + 20_000;
    while ((await survivingProcesses(marker, OWN_CONTAINERS)).length < 2 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    for (const id of running) {
      const res = await p.client.request(`/invocations/${id}`, { method: 'DELETE' });
      assert.ok(res.status === 200 || res.status === 202, res.text);
      const done = await waitFor(p.client, id, FINAL, 20_000);
      assert.equal(done.state, 'cancelled');
      assert.equal(done.attempts, 1);
      assert.equal(done.attempt_history[0]?.status, 'cancelled');
    }
    assert.deepEqual(await waitForNoSurvivor(marker, OWN_CONTAINERS), [], 'the killed invocations left no process');
    const again = await p.client.request(`/invocations/${running[0]}`, { method: 'DELETE' });
    assert.equal(again.status, 200, 'cancelling a cancelled invocation answers it again');
    assert.equal((await state(p.client, queued)).attempts, 0, 'the cancelled queued one still never ran');
    await register(p.client, { id: 'async-quick', command: ['true'] });
    const finished = await accept(p.client, 'async-quick');
    await waitFor(p.client, finished, FINAL);
    const conflict = await p.client.request(`/invocations/${finished}`, { method: 'DELETE' });
    assert.equal(conflict.status, 409, conflict.text);
    assert.equal(conflict.json<{ code: string }>().code, 'FAAS_ERR_INVOCATION_FINISHED');
  });

  it('retries a real platform fault: the sandbox killed under the command, then a second attempt succeeds', async () => {
    const marker = `retry-${Date.now()}`;
    await register(p.client, { id: 'async-retry', command: ['sh', '-c', `sleep 3 # ${marker}\necho survived`] });
    const id = await accept(p.client, 'async-retry');
    const deadline = Date.now() + 30_000;
    let victims: string[] = [];
    while (victims.length === 0 && Date.now() < deadline) {
      victims = await survivingProcesses(marker, OWN_CONTAINERS);
      if (victims.length === 0) await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(victims.length, 1, 'the first attempt runs');
    const container = (victims[0] as string).split(':')[0] as string;
    assert.equal(await killContainer(container), 204);
    const done = await waitFor(p.client, id, FINAL);
    assert.equal(done.state, 'succeeded', JSON.stringify(done.attempt_history));
    assert.equal(done.attempts, 2);
    const [first, second] = done.attempt_history;
    assert.equal(first?.status, 'error');
    assert.match(first?.error_code ?? '', /^FAAS_ERR_SANDBOX_(LOST|FAILURE)$/);
    assert.equal(second?.status, 'completed');
    assert.equal(stdoutOf(done), 'survived\n');
  });

  it('dead-letters what used up its attempts, lists it, re-drives it with new attempts, and deletes another', async () => {
    await register(p.client, { id: 'async-flaky', command: ['sh', '-c', 'exit 3'], max_attempts: 2, retry_on_failure: true });
    const doomed = [await accept(p.client, 'async-flaky'), await accept(p.client, 'async-flaky')];
    for (const id of doomed) {
      const dead = await waitFor(p.client, id, FINAL);
      assert.equal(dead.state, 'dead');
      assert.equal(dead.attempts, 2);
      assert.deepEqual(
        dead.attempt_history.map((a) => a.exit_code),
        [3, 3],
      );
    }
    const letters = ok<{ dead_letters: Array<{ invocation_id: string; attempts: number }>; next_cursor: string | null }>(
      await p.client.request('/dead-letters?function_id=async-flaky&limit=1'),
    );
    assert.equal(letters.dead_letters.length, 1);
    assert.ok(letters.next_cursor);
    const rest = ok<{ dead_letters: Array<{ invocation_id: string }> }>(
      await p.client.request(`/dead-letters?function_id=async-flaky&limit=1&cursor=${letters.next_cursor}`),
    );
    assert.deepEqual([letters.dead_letters[0]?.invocation_id, rest.dead_letters[0]?.invocation_id].sort(), [...doomed].sort());

    // The function is fixed; the redriven invocation runs what is registered now.
    ok(await p.client.request('/functions/async-flaky', { method: 'PATCH', body: { command: ['sh', '-c', 'echo fixed'] } }));
    const [redrive, discard] = doomed as [string, string];
    const res = await p.client.request(`/dead-letters/${redrive}/redrive`, { method: 'POST' });
    assert.equal(ok<{ state: string }>(res, 202).state, 'queued');
    const fixed = await waitFor(p.client, redrive, FINAL);
    assert.equal(fixed.state, 'succeeded');
    assert.equal(fixed.attempts, 3, 'two attempts before, one after');
    assert.equal(fixed.max_attempts, 4);
    assert.equal(stdoutOf(fixed), 'fixed\n');

    assert.equal((await p.client.request(`/dead-letters/${discard}`, { method: 'DELETE' })).status, 204);
    assert.equal((await state(p.client, discard)).state, 'failed');
    const none = ok<{ dead_letters: unknown[] }>(await p.client.request('/dead-letters?function_id=async-flaky'));
    assert.deepEqual(none.dead_letters, []);
    const missing = await p.client.request(`/dead-letters/${discard}/redrive`, { method: 'POST' });
    assert.equal(missing.status, 404);
    assert.equal(missing.json<{ code: string }>().code, 'FAAS_ERR_DEAD_LETTER_NOT_FOUND');

    const metrics = (await p.client.request('/metrics')).text;
    assert.match(metrics, /faas_async_attempts_total\{result="dead"\} [1-9]/);
    assert.match(metrics, /faas_async_queue_depth \d/);
    assert.match(metrics, /faas_async_oldest_queued_age_seconds \d/);
  });
});

describe('asynchronous invocations with callbacks', () => {
  const SECRET = 'callback-secret-of-this-test-0123456789';
  const p = usePlatform({ FAAS_POOL_MODE: 'off', FAAS_CALLBACK_ALLOW_PRIVATE: 'on', FAAS_CALLBACK_SECRET: SECRET });

  it("posts the ended invocation, signed, to the request's callback_url or else the function's", async () => {
    const { server, origin, received } = await startRecorder();
    try {
      await register(p.client, { id: 'async-hooked', command: ['sh', '-c', 'echo hooked'], callback_url: `${origin}/from-definition` });
      const byDefinition = await accept(p.client, 'async-hooked');
      const byRequest = await accept(p.client, 'async-hooked', { callback_url: `${origin}/from-request` });
      for (const id of [byDefinition, byRequest]) await waitFor(p.client, id, FINAL);
      const deadline = Date.now() + 20_000;
      while (received.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.equal(received.length, 2, JSON.stringify(received.map((r) => r.path)));
      for (const [id, path] of [
        [byDefinition, '/from-definition'],
        [byRequest, '/from-request'],
      ] as const) {
        const delivery = received.find((r) => r.path === path);
        assert.ok(delivery, `a delivery to ${path}`);
        const body = JSON.parse(delivery.body) as State;
        assert.equal(body.id, id);
        assert.equal(body.state, 'succeeded');
        assert.equal(stdoutOf(body), 'hooked\n');
        const t = /t=(\d+)/.exec(delivery.signature)?.[1] ?? '';
        const v1 = /v1=([0-9a-f]{64})/.exec(delivery.signature)?.[1];
        assert.equal(v1, createHmac('sha256', SECRET).update(`${t}.${delivery.body}`).digest('hex'), 'signed with the secret');
        assert.equal('callback' in body, false, 'the body carries no state of its own delivery');
        // The caller sees it delivered, at the first attempt, without polling the receiver.
        const callback = await callbackEnded(p.client, id);
        assert.deepEqual(
          { ...callback, delivered_at: typeof callback.delivered_at },
          { url_origin: origin, state: 'delivered', attempts: 1, last_error: null, last_status: 204, delivered_at: 'string' },
        );
        assert.ok(Date.parse(callback.delivered_at ?? '') >= Date.parse((await state(p.client, id)).finished_at ?? ''));
      }
      const sync = await p.client.request('/functions/async-hooked/invoke', { method: 'POST', body: { callback_url: `${origin}/x` } });
      assert.equal(sync.status, 400, sync.text);
      assert.equal(sync.json<{ field: string }>().field, 'callback_url');
      const bad = await p.client.request('/functions/async-hooked/invoke', {
        method: 'POST',
        body: { callback_url: 'ftp://example.com/x' },
        headers: ASYNC,
      });
      assert.equal(bad.status, 400, bad.text);
      assert.equal(bad.json<{ code: string }>().code, 'FAAS_ERR_INVALID_CALLBACK');
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('asynchronous invocations with callbacks, under the default address rules (private addresses refused)', () => {
  const p = usePlatform({ FAAS_POOL_MODE: 'off' });

  it('refuses a loopback callback_url at acceptance (a literal address, localhost), and at delivery a name that resolves to loopback: nothing is sent, GET says refused', async (t) => {
    const r = await startRecorder();
    try {
      await register(p.client, { id: 'async-hook-refused', command: ['sh', '-c', 'echo refused'] });
      // Literal loopback addresses, in any spelling, and localhost names: 400 before anything is queued.
      for (const url of [
        `${r.origin}/literal`,
        `http://localhost:${r.port}/named`,
        `http://[::1]:${r.port}/v6`,
        `http://2130706433:${r.port}/decimal`,
      ]) {
        const res = await p.client.request('/functions/async-hook-refused/invoke', {
          method: 'POST',
          body: { callback_url: url },
          headers: ASYNC,
        });
        assert.equal(res.status, 400, `${url}: ${res.text}`);
        const refused = res.json<{ code: string; field: string; error: string; invocation_id: string }>();
        assert.deepEqual([refused.code, refused.field], ['FAAS_ERR_INVALID_CALLBACK', 'callback_url'], url);
        assert.match(refused.error, /loopback address .*FAAS_CALLBACK_ALLOW_PRIVATE/, url);
        assert.equal((await p.client.request(`/invocations/${refused.invocation_id}`)).status, 404, 'nothing was queued');
      }
      // A function's own callback_url is held to the same rules.
      const definition = await p.client.request('/functions', {
        method: 'POST',
        body: { id: 'async-hook-defined', image: BUSYBOX, command: ['true'], callback_url: `${r.origin}/defined` },
      });
      assert.equal(definition.status, 400, definition.text);
      assert.equal(definition.json<{ code: string }>().code, 'FAAS_ERR_INVALID_CALLBACK');

      // A name is resolved at delivery time only: accepted, run, then refused without a connection.
      const name = await nameOfLoopback();
      if (name === undefined) {
        t.diagnostic(
          'no host name other than localhost resolves to loopback only on this machine: the delivery-time refusal is not checked',
        );
      } else {
        const url = `http://${name}:${r.port}/resolved?token=kept-out`;
        const id = await accept(p.client, 'async-hook-refused', { callback_url: url });
        const done = await waitFor(p.client, id, FINAL);
        assert.equal(done.state, 'succeeded', 'the invocation itself is not affected');
        assert.equal(stdoutOf(done), 'refused\n');
        const callback = await callbackEnded(p.client, id);
        assert.equal(callback.state, 'refused', JSON.stringify(callback));
        assert.equal(callback.url_origin, new URL(url).origin);
        assert.deepEqual([callback.attempts, callback.last_status, callback.delivered_at], [1, null, null]);
        assert.match(callback.last_error ?? '', new RegExp(`^${name.replace(/[.]/g, '\\.')} resolves to a loopback address \\(`));
        assert.match(callback.last_error ?? '', /callbacks may not reach unless the operator sets FAAS_CALLBACK_ALLOW_PRIVATE=on/);
        assert.ok(!JSON.stringify(await state(p.client, id)).includes('kept-out'), 'the query is never answered');
      }
      // Nothing reached the receiver, whatever the way.
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.deepEqual(r.received, []);
    } finally {
      r.server.closeAllConnections();
      await new Promise((resolve) => r.server.close(resolve));
    }
  });
});

describe('asynchronous invocations: refusals for capacity, and a bounded queue', { concurrency: 1 }, () => {
  const p = usePlatform({ FAAS_POOL_MODE: 'off', FAAS_MAX_CONCURRENCY: '4', FAAS_ASYNC_CONCURRENCY: '2', FAAS_ASYNC_MAX_QUEUED: '3' });

  it("one refused at its function's max_concurrency goes back to the queue: no history row, no error metric", async () => {
    await register(p.client, { id: 'async-capped', command: ['sh', '-c', 'sleep 1; echo done'], max_concurrency: 1 });
    const first = await accept(p.client, 'async-capped');
    await waitFor(p.client, first, ['running']);
    const second = await accept(p.client, 'async-capped');
    // While the first runs, the second is refused by the cap, again and again, and waits.
    for (let i = 0; i < 5; i++) {
      await new Promise((r) => setTimeout(r, 150));
      const waiting = await state(p.client, second);
      if (waiting.state === 'succeeded') break;
      assert.ok(['queued', 'running'].includes(waiting.state), waiting.state);
      assert.equal(waiting.status, null, `no history record for a refusal: ${JSON.stringify(waiting).slice(0, 400)}`);
      assert.equal(waiting.error_code, null);
    }
    for (const id of [first, second]) {
      const done = await waitFor(p.client, id, FINAL);
      assert.equal(done.state, 'succeeded');
      assert.equal(done.attempts, 1, 'the refusals cost no attempt');
      assert.deepEqual(
        done.attempt_history.map((a) => a.status),
        ['completed'],
      );
    }
    const history = ok<{ invocations: Array<{ id: string; status: string }> }>(
      await p.client.request('/functions/async-capped/invocations'),
    );
    assert.deepEqual(
      history.invocations.map((i) => [i.id, i.status]).sort(),
      [
        [first, 'completed'],
        [second, 'completed'],
      ].sort(),
    );
    const metrics = (await p.client.request('/metrics')).text;
    assert.doesNotMatch(metrics, /faas_invocations_total\{function="async-capped",[^}]*outcome="error"/);
    assert.match(
      metrics,
      /faas_invocations_total\{function="async-capped",executor="docker",outcome="requeued",code="FAAS_ERR_CONCURRENCY_LIMIT"\} [1-9]/,
    );
    assert.match(metrics, /faas_async_attempts_total\{result="released"\} [1-9]/);
  });

  it('refuses one more than FAAS_ASYNC_MAX_QUEUED waiting with 429 FAAS_ERR_QUEUE_FULL and Retry-After, and writes nothing', async () => {
    await register(p.client, { id: 'async-backlog', command: ['sh', '-c', 'sleep 30'] });
    // Two run (FAAS_ASYNC_CONCURRENCY), three wait: the queue is full.
    const running = [await accept(p.client, 'async-backlog'), await accept(p.client, 'async-backlog')];
    for (const id of running) await waitFor(p.client, id, ['running']);
    const queued = [];
    for (let i = 0; i < 3; i++) queued.push(await accept(p.client, 'async-backlog', undefined, { 'idempotency-key': `backlog-${i}` }));
    const res = await p.client.request('/functions/async-backlog/invoke', {
      method: 'POST',
      headers: { ...ASYNC, 'idempotency-key': 'backlog-3' },
    });
    assert.equal(res.status, 429, res.text);
    assert.equal(res.json<{ code: string }>().code, 'FAAS_ERR_QUEUE_FULL');
    assert.equal(res.headers['retry-after'], '1');
    const refusedId = String(res.headers['x-faas-invocation-id']);
    assert.equal((await p.client.request(`/invocations/${refusedId}`)).status, 404, 'nothing was written');
    // A key that made an invocation still answers it.
    assert.equal(await accept(p.client, 'async-backlog', undefined, { 'idempotency-key': 'backlog-0' }), queued[0]);
    // Synchronous calls do not use the queue.
    ok(await p.client.request('/functions/async-capped/invoke', { method: 'POST' }));
    for (const id of [...queued, ...running]) {
      const cancel = await p.client.request(`/invocations/${id}`, { method: 'DELETE' });
      assert.ok(cancel.status === 200 || cancel.status === 202, cancel.text);
    }
    for (const id of [...queued, ...running]) assert.equal((await waitFor(p.client, id, FINAL, 20_000)).state, 'cancelled');
    // Room again: the refused key makes its invocation now.
    const later = await accept(p.client, 'async-backlog', undefined, { 'idempotency-key': 'backlog-3' });
    ok(await p.client.request(`/invocations/${later}`, { method: 'DELETE' }));
  });
});

describe('asynchronous invocations across a crash', () => {
  it('a platform killed with SIGKILL mid-batch and started again on its data folder ends every invocation exactly once, each posted to its callback', async (t) => {
    const N = 20;
    // The callback receiver outlives both platforms: every final state must reach it.
    const deliveries: Array<{ deliveryId: string; invocationId: string; state: string }> = [];
    const receiver = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as State;
        deliveries.push({ deliveryId: String(req.headers['x-faas-delivery-id']), invocationId: body.id, state: body.state });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/crash`;
    const env = {
      FAAS_DATA_DIR: freshDataDir(),
      FAAS_POOL_MODE: 'off',
      FAAS_MAX_CONCURRENCY: '8',
      FAAS_ASYNC_CONCURRENCY: '4',
      FAAS_ASYNC_RETRY_BASE_MS: '200',
      FAAS_ASYNC_RETRY_MAX_MS: '1000',
      FAAS_CALLBACK_ALLOW_PRIVATE: 'on',
      FAAS_CALLBACK_RETRY_BASE_MS: '200',
    };
    t.after(
      () =>
        new Promise<void>((resolve) => {
          receiver.closeAllConnections();
          receiver.close(() => resolve());
        }),
    );
    const first = await startServe(env);
    let firstDown = false;
    const ids: string[] = [];
    try {
      const client = new HttpClient(first.url);
      await register(client, { id: 'crash-work', command: ['sh', '-c', 'sleep 2; cat'] });
      for (let i = 0; i < N; i++) {
        ids.push(
          await accept(
            client,
            'crash-work',
            { payload_base64: Buffer.from(`item-${i}`).toString('base64'), callback_url: hook },
            { 'idempotency-key': `crash-${i}` },
          ),
        );
      }
      // Mid-run: some ended, some running, most still queued.
      const deadline = Date.now() + 60_000;
      for (;;) {
        const states = await Promise.all(ids.map((id) => state(client, id)));
        const done = states.filter((s) => s.state === 'succeeded').length;
        // Running for less than a second of its `sleep 2`: surely still running when the kill lands
        // (just after a batch ends, every slot may be releasing its sandbox, with nothing running).
        const running = states.filter(
          (s) => s.state === 'running' && Date.now() - Date.parse(s.attempt_history.at(-1)?.started_at ?? '') < 1000,
        ).length;
        if (done >= 1 && running >= 1) break;
        if (Date.now() > deadline) assert.fail(`the batch never got going: ${states.map((s) => s.state).join(' ')}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      await first.stop('SIGKILL');
      firstDown = true;
    } finally {
      if (!firstDown) await first.stop('SIGKILL');
    }

    const second = await startServe(env);
    try {
      const client = new HttpClient(second.url);
      // Resending every request with its idempotency key: the same invocations, nothing new.
      for (const [i, id] of ids.entries()) {
        const again = await accept(
          client,
          'crash-work',
          { payload_base64: Buffer.from(`item-${i}`).toString('base64'), callback_url: hook },
          { 'idempotency-key': `crash-${i}` },
        );
        assert.equal(again, id);
      }
      const ended = [];
      for (const id of ids) ended.push(await waitFor(client, id, FINAL, 120_000));
      let interrupted = 0;
      for (const [i, s] of ended.entries()) {
        assert.equal(s.state, 'succeeded', `${s.id}: ${JSON.stringify(s.attempt_history)}`);
        assert.equal(stdoutOf(s), `item-${i}`, 'one result, its own');
        assert.equal(s.attempt_history.length, s.attempts);
        assert.deepEqual(
          s.attempt_history.map((a) => a.attempt),
          Array.from({ length: s.attempts }, (_, k) => k + 1),
        );
        // Every attempt but the last was cut short by the kill, and says so: the platform stopped
        // under it (not a fault of the function, nor of its sandbox, nor an unexplained one).
        for (const a of s.attempt_history.slice(0, -1)) {
          assert.deepEqual([a.status, a.error_code], ['error', 'FAAS_ERR_WORKER_LOST']);
          assert.match(a.error ?? '', /^the platform stopped while this attempt ran/);
        }
        assert.equal(s.attempt_history.at(-1)?.status, 'completed');
        if (s.attempts > 1) interrupted++;
      }
      assert.ok(interrupted >= 1, 'the kill interrupted at least one running invocation, which was retried');
      const history = ok<{ invocations: Array<{ id: string }> }>(await client.request('/functions/crash-work/invocations?limit=100'));
      assert.deepEqual(history.invocations.map((r) => r.id).sort(), [...ids].sort(), 'one history record per invocation');
      // One delivery per final state (at least once: a repeat carries the same delivery id), none lost to the kill.
      const expected = ended.map((s) => `${s.id}.${s.attempts}`).sort();
      const deadline = Date.now() + 30_000;
      while (new Set(deliveries.map((d) => d.deliveryId)).size < N && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      assert.deepEqual(
        [...new Set(deliveries.map((d) => d.deliveryId))].sort(),
        expected,
        'every final state posted, under its own delivery id',
      );
      for (const d of deliveries) assert.deepEqual([d.deliveryId.startsWith(`${d.invocationId}.`), d.state], [true, 'succeeded']);
      // And every caller can see it delivered, deliveries the kill interrupted included.
      for (const s of ended) {
        const callback = await callbackEnded(client, s.id);
        assert.deepEqual([callback.state, callback.url_origin, callback.last_status], ['delivered', new URL(hook).origin, 204], s.id);
      }
      const left = await waitForNoContainers({ 'dev.faas.pid': String(first.pid) }, 15_000);
      assert.deepEqual(left, [], `the killed process's sandboxes were removed at the restart:\n${describeContainers(left)}`);
    } finally {
      await second.stop('SIGTERM');
    }
  });
});
