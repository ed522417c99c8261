/**
 * The HTTP side of asynchronous invocations, without a worker (the queue only fills): acceptance
 * with Prefer: respond-async, idempotency keys, the state of a queued invocation, cancel, and the
 * dead-letter routes over invocations the test moves through the queue itself.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { asyncFrontDoor, prefersAsync, readIdempotencyKey, requestDigest } from './async-invoke.js';
import { startTestGateway, type TestGateway } from './test-fixtures.js';

const IMAGE = 'faas/busybox:latest';
const ASYNC = { prefer: 'respond-async' };
let g: TestGateway;

before(async () => {
  g = await startTestGateway({ FAAS_ASYNC_MAX_ATTEMPTS: '2' });
  const res = await g.call('POST', '/functions', {
    body: { id: 'job', image: IMAGE, command: ['cat'], max_attempts: 4, retry_on_failure: true },
  });
  assert.equal(res.statusCode, 201, res.body);
});

after(async () => {
  await g?.close();
});

function body(res: LightMyRequestResponse, status: number): Record<string, unknown> {
  assert.equal(res.statusCode, status, res.body.slice(0, 500));
  return res.json() as Record<string, unknown>;
}

/** Moves a queued invocation to dead through the queue, as a worker whose attempt failed would. */
async function makeDead(id: string): Promise<void> {
  const claimed = await g.store.queue.claim({ owner: 'test', leaseMs: 60_000 });
  assert.equal(claimed?.job.id, id);
  const fault = { status: 'error' as const, exitCode: null, error: 'lost', errorCode: 'FAAS_ERR_SANDBOX_LOST' };
  const ref = { id, owner: 'test', attempt: claimed.attempt };
  assert.ok(
    await g.store.queue.finish(ref, { state: 'dead', attempt: fault, result: null, error: 'lost', errorCode: 'FAAS_ERR_SANDBOX_LOST' }),
  );
}

describe('asynchronous invocations over HTTP', () => {
  it('reads Prefer and Idempotency-Key as RFC 7240 and the draft spell them', () => {
    assert.equal(prefersAsync('respond-async'), true);
    assert.equal(prefersAsync('return=minimal, Respond-Async; wait=10'), true);
    assert.equal(prefersAsync(['handling=lenient', 'respond-async']), true);
    assert.equal(prefersAsync('respond-asynchronously'), false);
    assert.equal(prefersAsync(undefined), false);
    assert.equal(readIdempotencyKey('"8e03978e-40d5"'), '8e03978e-40d5');
    assert.equal(readIdempotencyKey('plain-key'), 'plain-key');
    assert.throws(() => readIdempotencyKey('has space'), /Idempotency-Key/);
    assert.throws(() => readIdempotencyKey('x'.repeat(256)), /Idempotency-Key/);
    assert.equal(requestDigest('f', { a: 1, b: [1, { d: 2, c: 3 }] }), requestDigest('f', { b: [1, { c: 3, d: 2 }], a: 1 }));
    assert.notEqual(requestDigest('f', { a: 1 }), requestDigest('g', { a: 1 }));
  });

  it('accepts with 202, a Location and the invocation id; the invocation is queued with the definition retry settings', async () => {
    const res = await g.call('POST', '/functions/job/invoke', { body: { payload_base64: 'aGk=' }, headers: ASYNC });
    const accepted = body(res, 202);
    const id = accepted.invocation_id as string;
    assert.equal(res.headers['x-faas-invocation-id'], id);
    assert.equal(res.headers.location, `/invocations/${id}`);
    assert.equal(res.headers['preference-applied'], 'respond-async');
    assert.equal(accepted.state, 'queued');
    assert.equal(accepted.function_id, 'job');
    const state = body(await g.call('GET', `/invocations/${id}`), 200);
    assert.equal(state.mode, 'async');
    assert.equal(state.state, 'queued');
    assert.equal(state.status, null);
    assert.equal(state.attempts, 0);
    assert.equal(state.max_attempts, 4);
    assert.equal(state.stdin_bytes, 2);
    assert.equal(state.function_version, 1);
    assert.deepEqual(state.attempt_history, []);
    assert.equal(state.finished_at, null);
    assert.equal(state.result, null);
    assert.deepEqual(body(await g.call('GET', `/invocations/${id}/output`), 200), {
      stdout_base64: '',
      stderr_base64: '',
      output_truncated: false,
    });
    assert.equal((await g.store.queue.get(id))?.retryOnFailure, true);
    assert.equal(g.executor.requests.length, 0, 'nothing ran');
    // Ad hoc: the platform default attempts.
    const adhoc = body(
      await g.call('POST', '/functions/adhoc-a/invoke', { body: { image: IMAGE, command: ['true'] }, headers: ASYNC }),
      202,
    );
    assert.equal((await g.store.queue.get(adhoc.invocation_id as string))?.maxAttempts, 2);
  });

  it('validates before it accepts: the same 4xx as a synchronous call, and nothing queued', async () => {
    const before = (await g.store.queue.stats()).queued;
    assert.equal(
      body(await g.call('POST', '/functions/job/invoke', { body: { image: IMAGE }, headers: ASYNC }), 400).code,
      'FAAS_ERR_FIELD_NOT_ALLOWED',
    );
    assert.equal(body(await g.call('POST', '/functions/nothing-here/invoke', { headers: ASYNC }), 404).code, 'FAAS_ERR_FUNCTION_NOT_FOUND');
    assert.equal((await g.store.queue.stats()).queued, before);
  });

  it('the invoke route takes no query string: ?async=true is 400 pointing to Prefer: respond-async, and nothing runs or is queued', async () => {
    const queued = (await g.store.queue.stats()).queued;
    const ran = g.executor.requests.length;
    for (const query of ['?async=true', '?async', '?async=1&x=2']) {
      const res = await g.call('POST', `/functions/job/invoke${query}`, { body: { payload_base64: 'aGk=' } });
      const refused = body(res, 400);
      assert.equal(refused.code, 'FAAS_ERR_INVALID_QUERY');
      assert.equal(refused.field, 'async');
      assert.match(refused.error as string, /send the header Prefer: respond-async instead/);
      // An answer of the invoke route: it carries its invocation id.
      assert.equal(refused.invocation_id, res.headers['x-faas-invocation-id']);
    }
    for (const [query, field] of [
      ['?wait=10', 'wait'],
      ['?timeout_ms=5', 'timeout_ms'],
    ]) {
      const refused = body(await g.call('POST', `/functions/job/invoke${query}`, { headers: ASYNC }), 400);
      assert.equal(refused.code, 'FAAS_ERR_INVALID_QUERY');
      assert.equal(refused.field, field);
      assert.match(refused.error as string, new RegExp(`unknown query parameter "${field}"; the invoke route takes no query parameters`));
    }
    assert.equal((await g.store.queue.stats()).queued, queued);
    assert.equal(g.executor.requests.length, ran);
  });

  it('an idempotency key answers the invocation it made; another request under it is 422; keys are per API key', async () => {
    const headers = { ...ASYNC, 'idempotency-key': 'order-1' };
    const first = await g.call('POST', '/functions/job/invoke', { body: { payload_base64: 'YQ==', timeout_ms: 1000 }, headers });
    const id = body(first, 202).invocation_id as string;
    const again = await g.call('POST', '/functions/job/invoke', { body: { timeout_ms: 1000, payload_base64: 'YQ==' }, headers });
    assert.equal(body(again, 202).invocation_id, id, 'the same invocation, key order aside');
    assert.equal(again.headers['x-faas-invocation-id'], id);
    assert.equal(again.headers.location, `/invocations/${id}`);
    const other = await g.call('POST', '/functions/job/invoke', { body: { payload_base64: 'Yg==' }, headers });
    const refused = body(other, 422);
    assert.equal(refused.code, 'FAAS_ERR_IDEMPOTENCY_KEY_REUSED');
    assert.equal(refused.invocation_id, other.headers['x-faas-invocation-id'], 'the refused request names its own id');
    const invoker = await g.newKey(['invoke']);
    const theirs = await g.call('POST', '/functions/job/invoke', {
      body: { payload_base64: 'YQ==', timeout_ms: 1000 },
      headers,
      key: invoker.key,
    });
    assert.notEqual(body(theirs, 202).invocation_id, id);
    const sync = await g.call('POST', '/functions/job/invoke', { headers: { 'idempotency-key': 'order-2' } });
    const syncRefused = body(sync, 400);
    assert.equal(syncRefused.code, 'FAAS_ERR_INVALID_REQUEST');
    assert.equal(syncRefused.field, 'idempotency-key');
  });

  it('takes callback_url from the body of an asynchronous call only, checked by the callback rules; the stored request is without it', async () => {
    const res = body(
      await g.call('POST', '/functions/job/invoke', {
        body: { payload_base64: 'aGk=', callback_url: 'https://hooks.example/r' },
        headers: ASYNC,
      }),
      202,
    );
    const job = await g.store.queue.get(res.invocation_id as string);
    assert.equal(job?.callbackUrl, 'https://hooks.example/r');
    const sync = body(await g.call('POST', '/functions/job/invoke', { body: { callback_url: 'https://hooks.example/r' } }), 400);
    assert.equal(sync.code, 'FAAS_ERR_INVALID_REQUEST');
    assert.equal(sync.field, 'callback_url');
    const private_ = body(
      await g.call('POST', '/functions/job/invoke', { body: { callback_url: 'http://10.0.0.1/x' }, headers: ASYNC }),
      400,
    );
    assert.equal(private_.code, 'FAAS_ERR_INVALID_CALLBACK');
    const adhoc = body(
      await g.call('POST', '/functions/adhoc-cb/invoke', {
        body: { image: IMAGE, command: ['true'], callback_url: 'https://hooks.example/a' },
        headers: ASYNC,
      }),
      202,
    );
    assert.equal((await g.store.queue.get(adhoc.invocation_id as string))?.callbackUrl, 'https://hooks.example/a');
  });

  it("answers where an invocation's callback delivery stands (its URL's origin only); none without a callback; not in the callback's own body", async () => {
    const res = body(
      await g.call('POST', '/functions/job/invoke', {
        body: { callback_url: 'https://hooks.example:8443/r/secret-token?sig=abc' },
        headers: ASYNC,
      }),
      202,
    );
    const id = res.invocation_id as string;
    const pending = {
      url_origin: 'https://hooks.example:8443',
      state: 'pending',
      attempts: 0,
      last_error: null,
      last_status: null,
      delivered_at: null,
    };
    assert.deepEqual(body(await g.call('GET', `/invocations/${id}`), 200).callback, pending);
    // Ended (cancelled while queued), then retried once and delivered, as the dispatcher reports it.
    assert.deepEqual(body(await g.call('DELETE', `/invocations/${id}`), 200).callback, pending);
    const at = Date.UTC(2026, 0, 2, 3, 4, 5);
    await g.store.queue.callbackProgress(id, 0, {
      state: 'pending',
      attempts: 1,
      lastError: 'answered 503',
      lastStatus: 503,
      deliveredAt: null,
    });
    assert.deepEqual(body(await g.call('GET', `/invocations/${id}`), 200).callback, {
      ...pending,
      attempts: 1,
      last_error: 'answered 503',
      last_status: 503,
    });
    await g.store.queue.callbackProgress(id, 0, { state: 'delivered', attempts: 2, lastError: null, lastStatus: 204, deliveredAt: at });
    const delivered = body(await g.call('GET', `/invocations/${id}`), 200);
    assert.deepEqual(delivered.callback, {
      ...pending,
      state: 'delivered',
      attempts: 2,
      last_status: 204,
      delivered_at: '2026-01-02T03:04:05.000Z',
    });
    assert.ok(!JSON.stringify(delivered).includes('secret-token'), 'the path and query are never answered');
    // The body a callback carries is the same answer, without the state of its own delivery.
    const described = await asyncFrontDoor(g.config, g.store).describe(id);
    assert.ok(described);
    assert.equal('callback' in described, false);
    assert.deepEqual(described, (({ callback: _, ...rest }) => rest)(delivered));

    const plain = body(await g.call('POST', '/functions/job/invoke', { headers: ASYNC }), 202).invocation_id as string;
    assert.equal(body(await g.call('GET', `/invocations/${plain}`), 200).callback, null);
    assert.equal(body(await g.call('DELETE', `/invocations/${plain}`), 200).callback, null);
    const sync = body(await g.call('POST', '/functions/job/invoke'), 200);
    assert.equal(body(await g.call('GET', `/invocations/${sync.invocation_id}`), 200).callback, null);
  });

  it('cancels a queued invocation (it never runs) and answers a cancelled one again; a synchronous one is 409', async () => {
    const id = body(await g.call('POST', '/functions/job/invoke', { headers: ASYNC }), 202).invocation_id as string;
    const cancelled = body(await g.call('DELETE', `/invocations/${id}`), 200);
    assert.equal(cancelled.state, 'cancelled');
    assert.equal(typeof cancelled.finished_at, 'string');
    assert.equal(body(await g.call('DELETE', `/invocations/${id}`), 200).state, 'cancelled');
    const sync = body(await g.call('POST', '/functions/job/invoke'), 200);
    assert.equal(body(await g.call('DELETE', `/invocations/${sync.invocation_id}`), 409).code, 'FAAS_ERR_INVOCATION_FINISHED');
    assert.equal(body(await g.call('DELETE', '/invocations/no-such-id'), 404).code, 'FAAS_ERR_INVOCATION_NOT_FOUND');
    const syncState = body(await g.call('GET', `/invocations/${sync.invocation_id}`), 200);
    assert.equal(syncState.mode, 'sync');
    assert.equal(syncState.state, 'succeeded');
  });

  it('lists dead letters in pages, re-drives one with new attempts and deletes another; limited keys see their own', async () => {
    // Drain what earlier tests queued, so the dead ones are claimed in order.
    for (;;) {
      const left = await g.store.queue.claim({ owner: 'drain', leaseMs: 60_000 });
      if (!left) break;
      const ok = { status: 'completed' as const, exitCode: 0, error: null, errorCode: null };
      await g.store.queue.finish(
        { id: left.job.id, owner: 'drain', attempt: left.attempt },
        { state: 'succeeded', attempt: ok, result: null, error: null, errorCode: null },
      );
    }
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const id = body(await g.call('POST', '/functions/job/invoke', { headers: ASYNC }), 202).invocation_id as string;
      await makeDead(id);
      ids.push(id);
    }
    const page = body(await g.call('GET', '/dead-letters?limit=2&function_id=job'), 200);
    const letters = page.dead_letters as Array<Record<string, unknown>>;
    assert.equal(letters.length, 2);
    assert.equal(letters[0]?.function_id, 'job');
    assert.equal(letters[0]?.error_code, 'FAAS_ERR_SANDBOX_LOST');
    assert.equal(letters[0]?.attempts, 1);
    const rest = body(await g.call('GET', `/dead-letters?limit=2&function_id=job&cursor=${page.next_cursor}`), 200);
    assert.deepEqual(
      [...letters, ...(rest.dead_letters as Array<Record<string, unknown>>)].map((l) => l.invocation_id).sort(),
      [...ids].sort(),
    );
    assert.equal(body(await g.call('GET', '/dead-letters?cursor=bogus'), 400).code, 'FAAS_ERR_INVALID_QUERY');
    assert.equal(body(await g.call('GET', '/dead-letters?function_id=..'), 400).field, 'function_id');

    const [a, b] = ids as [string, string];
    const redriven = await g.call('POST', `/dead-letters/${a}/redrive`);
    assert.equal(body(redriven, 202).state, 'queued');
    assert.equal(redriven.headers.location, `/invocations/${a}`);
    const after = body(await g.call('GET', `/invocations/${a}`), 200);
    assert.equal(after.state, 'queued');
    assert.equal(after.max_attempts, 1 + 4, "one attempt used, the function's four new ones");
    assert.equal(body(await g.call('POST', `/dead-letters/${a}/redrive`), 404).code, 'FAAS_ERR_DEAD_LETTER_NOT_FOUND');

    assert.equal((await g.call('DELETE', `/dead-letters/${b}`)).statusCode, 204);
    assert.equal(body(await g.call('DELETE', `/dead-letters/${b}`), 404).code, 'FAAS_ERR_DEAD_LETTER_NOT_FOUND');
    assert.equal(body(await g.call('GET', `/invocations/${b}`), 200).state, 'failed');

    const limited = await g.newKey(['history', 'invoke'], ['other-*']);
    assert.deepEqual(body(await g.call('GET', '/dead-letters', { key: limited.key }), 200).dead_letters, []);
    assert.equal(body(await g.call('DELETE', `/dead-letters/${ids[2]}`, { key: limited.key }), 403).code, 'FAAS_ERR_FORBIDDEN');
    assert.equal(body(await g.call('GET', `/invocations/${ids[2]}`, { key: limited.key }), 403).code, 'FAAS_ERR_FORBIDDEN');
  });

  it('function definitions carry max_attempts and retry_on_failure, validated and patched', async () => {
    const fn = body(await g.call('GET', '/functions/job'), 200);
    assert.equal(fn.max_attempts, 4);
    assert.equal(fn.retry_on_failure, true);
    const patched = body(await g.call('PATCH', '/functions/job', { body: { max_attempts: null, retry_on_failure: false } }), 200);
    assert.equal(patched.max_attempts, null);
    assert.equal(patched.retry_on_failure, false);
    const hooked = body(await g.call('PATCH', '/functions/job', { body: { callback_url: 'https://hooks.example/done' } }), 200);
    assert.equal(hooked.callback_url, 'https://hooks.example/done');
    for (const url of ['http://127.0.0.1:9/x', 'ftp://hooks.example/x', 'https://user:pw@hooks.example/x']) {
      const refused = body(await g.call('PATCH', '/functions/job', { body: { callback_url: url } }), 400);
      assert.equal(refused.code, 'FAAS_ERR_INVALID_CALLBACK', url);
      assert.equal(refused.field, 'callback_url');
    }
    assert.equal(body(await g.call('PATCH', '/functions/job', { body: { callback_url: null } }), 200).callback_url, null);
    for (const bad of [{ max_attempts: 0 }, { max_attempts: 101 }, { max_attempts: 1.5 }, { retry_on_failure: 'yes' }]) {
      const res = body(await g.call('PATCH', '/functions/job', { body: bad }), 400);
      assert.equal(res.code, 'FAAS_ERR_INVALID_FUNCTION');
      assert.equal(res.field, Object.keys(bad)[0]);
    }
  });
});

describe("a key's share of the queue (FAAS_ASYNC_MAX_QUEUED_PER_KEY)", () => {
  let shared: TestGateway;
  before(async () => {
    shared = await startTestGateway({ FAAS_ASYNC_MAX_QUEUED: '10', FAAS_ASYNC_MAX_QUEUED_PER_KEY: '2', FAAS_ASYNC_WORKER: 'off' });
    assert.equal((await shared.call('POST', '/functions', { body: { id: 'job', image: IMAGE, command: ['cat'] } })).statusCode, 201);
  });
  after(async () => {
    await shared?.close();
  });

  it("refuses a key's invocation beyond its share with 429 FAAS_ERR_QUEUE_FULL, while other keys and the admin key still queue", async () => {
    const tenant = await shared.newKey(['invoke']);
    const other = await shared.newKey(['invoke']);
    for (let i = 0; i < 2; i++) body(await shared.call('POST', '/functions/job/invoke', { headers: ASYNC, key: tenant.key }), 202);
    const res = await shared.call('POST', '/functions/job/invoke', { headers: ASYNC, key: tenant.key });
    const refused = body(res, 429);
    assert.equal(refused.code, 'FAAS_ERR_QUEUE_FULL');
    assert.match(String(refused.error), /FAAS_ASYNC_MAX_QUEUED_PER_KEY/);
    assert.equal(res.headers['retry-after'], '1');
    body(await shared.call('POST', '/functions/job/invoke', { headers: ASYNC, key: other.key }), 202);
    for (let i = 0; i < 3; i++) body(await shared.call('POST', '/functions/job/invoke', { headers: ASYNC }), 202);
    assert.equal((await shared.store.queue.stats()).queued, 6);
  });
});

describe('a bounded queue (FAAS_ASYNC_MAX_QUEUED)', () => {
  let small: TestGateway;
  before(async () => {
    small = await startTestGateway({ FAAS_ASYNC_MAX_QUEUED: '2' });
    assert.equal((await small.call('POST', '/functions', { body: { id: 'job', image: IMAGE, command: ['cat'] } })).statusCode, 201);
  });
  after(async () => {
    await small?.close();
  });

  const refusedFull = (res: LightMyRequestResponse): Record<string, unknown> => {
    const refused = body(res, 429);
    assert.equal(refused.code, 'FAAS_ERR_QUEUE_FULL');
    assert.match(String(refused.error), /FAAS_ASYNC_MAX_QUEUED/);
    assert.equal(res.headers['retry-after'], '1');
    return refused;
  };

  it('refuses one more with 429 FAAS_ERR_QUEUE_FULL and Retry-After, writing nothing; a repeated idempotency key still answers 202', async () => {
    const keyed = { ...ASYNC, 'idempotency-key': 'full-1' };
    const first = body(await small.call('POST', '/functions/job/invoke', { headers: keyed }), 202).invocation_id as string;
    body(await small.call('POST', '/functions/job/invoke', { headers: ASYNC }), 202);
    const res = await small.call('POST', '/functions/job/invoke', { headers: { ...ASYNC, 'idempotency-key': 'full-2' } });
    const refused = refusedFull(res);
    assert.equal(
      refused.invocation_id,
      res.headers['x-faas-invocation-id'],
      'the refusal names its invocation id, as every invoke answer does',
    );
    assert.equal(body(await small.call('GET', `/invocations/${refused.invocation_id}`), 404).code, 'FAAS_ERR_INVOCATION_NOT_FOUND');
    assert.equal((await small.store.queue.stats()).queued, 2, 'nothing was queued');
    assert.equal(body(await small.call('POST', '/functions/job/invoke', { headers: keyed }), 202).invocation_id, first);
    // Synchronous calls do not use the queue.
    body(await small.call('POST', '/functions/job/invoke'), 200);

    // Room again once the worker takes one: the refused key was never kept.
    const claimed = await small.store.queue.claim({ owner: 'test', leaseMs: 60_000 });
    assert.equal(claimed?.job.id, first);
    body(await small.call('POST', '/functions/job/invoke', { headers: { ...ASYNC, 'idempotency-key': 'full-2' } }), 202);

    // A dead letter is redriven only while there is room.
    const fault = { status: 'error' as const, exitCode: null, error: 'lost', errorCode: 'FAAS_ERR_SANDBOX_LOST' };
    const ref = { id: first, owner: 'test', attempt: claimed.attempt };
    assert.ok(
      await small.store.queue.finish(ref, { state: 'dead', attempt: fault, result: null, error: 'lost', errorCode: fault.errorCode }),
    );
    refusedFull(await small.call('POST', `/dead-letters/${first}/redrive`));
    assert.equal(body(await small.call('GET', `/invocations/${first}`), 200).state, 'dead');
    assert.ok(await small.store.queue.claim({ owner: 'test', leaseMs: 60_000 }));
    assert.equal(body(await small.call('POST', `/dead-letters/${first}/redrive`), 202).state, 'queued');
  });
});
