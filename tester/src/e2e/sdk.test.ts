/**
 * @faas/sdk against a real gateway and Docker engine: every route it wraps, bytes in and out of a
 * function unchanged, asynchronous invocations waited for and cancelled, errors by class and code,
 * a key's rate limit retried after its Retry-After, and the call's deadline and AbortSignal.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CallTimeoutError,
  ConflictError,
  FaasClient,
  ForbiddenError,
  FunctionTimeoutError,
  InvalidRequestError,
  NotFoundError,
  RateLimitedError,
  UnauthorizedError,
} from '@faas/sdk';
import { BUSYBOX } from '../support/images.js';
import { TEST_ADMIN_KEY } from '../support/keys.js';
import { usePlatform } from '../support/platform.js';

const ALL_BYTES = Uint8Array.from({ length: 256 }, (_, i) => i);

describe('the SDK against a real gateway', { concurrency: 1 }, () => {
  const p = usePlatform({ FAAS_ASYNC_RETRY_BASE_MS: '100' });
  const admin = () => new FaasClient({ url: p.url, apiKey: TEST_ADMIN_KEY });

  it('answers health, ready, metrics and the API document', async () => {
    const client = admin();
    assert.equal((await client.health()).status, 'ok');
    assert.equal((await client.ready()).status, 'ready');
    assert.match(await client.metrics(), /^# HELP /m);
    assert.equal((await client.openapi()).openapi, '3.1.0');
  });

  it('invokes ad hoc with bytes in and bytes out, stdout and stderr apart', async () => {
    const result = await admin().invoke('sdk-adhoc', {
      image: BUSYBOX,
      command: ['sh', '-c', 'cat; printf "\\377err" >&2; exit 3'],
      stdin: ALL_BYTES,
    });
    assert.deepEqual(result.stdout, ALL_BYTES);
    assert.deepEqual(result.stderr, Uint8Array.from([0xff, ...new TextEncoder().encode('err')]));
    assert.equal(result.stderrText(), '\ufffderr');
    assert.equal(result.exit_code, 3);
    assert.equal(result.ok, false);
    const text = await admin().invoke('sdk-adhoc', { image: BUSYBOX, command: ['cat'], stdin: 'héllo' });
    assert.equal(text.stdoutText(), 'héllo');
    assert.equal(text.ok, true);
  });

  it('manages a function: create, get, list, update with If-Match, invoke, history and output, delete', async () => {
    const client = admin();
    const fn = await client.functions.create({
      id: 'sdk-fn',
      image: BUSYBOX,
      command: ['sh', '-c', 'echo "hi $(cat)"'],
      secrets: { T: 'x' },
    });
    try {
      assert.equal(fn.version, 1);
      assert.deepEqual(fn.secret_names, ['T']);
      await assert.rejects(client.functions.create({ id: 'sdk-fn', image: BUSYBOX, command: ['true'] }), (err: unknown) => {
        assert.ok(err instanceof ConflictError);
        assert.equal(err.code, 'FAAS_ERR_FUNCTION_EXISTS');
        return true;
      });
      assert.equal((await client.functions.get('sdk-fn')).id, 'sdk-fn');
      const ids: string[] = [];
      for await (const f of client.functions.all({ limit: 1 })) ids.push(f.id);
      assert.ok(ids.includes('sdk-fn'));
      const updated = await client.functions.update('sdk-fn', { description: 'from the sdk' }, { ifMatch: 1 });
      assert.equal(updated.version, 2);
      await assert.rejects(client.functions.update('sdk-fn', { description: 'stale' }, { ifMatch: 1 }), (err: unknown) => {
        assert.ok(err instanceof ConflictError);
        assert.equal(err.code, 'FAAS_ERR_VERSION_CONFLICT');
        assert.equal(err.currentVersion, 2);
        return true;
      });
      const result = await client.invoke('sdk-fn', { stdin: 'there' });
      assert.equal(result.stdoutText(), 'hi there\n');
      assert.equal(result.function_version, 2);
      const page = await client.invocations.list('sdk-fn', { status: 'completed' });
      assert.equal(page.invocations[0]?.id, result.invocation_id);
      const record = await client.invocations.get(result.invocation_id);
      assert.equal(record.status, 'completed');
      assert.equal((await client.invocations.output(result.invocation_id)).stdoutText(), 'hi there\n');
      await assert.rejects(client.invoke('sdk-fn', { image: BUSYBOX, command: ['true'] }), (err: unknown) => {
        assert.ok(err instanceof InvalidRequestError);
        assert.equal(err.code, 'FAAS_ERR_FIELD_NOT_ALLOWED');
        assert.equal(err.field, 'image');
        assert.ok(err.invocationId);
        return true;
      });
    } finally {
      await client.functions.delete('sdk-fn').catch(() => undefined);
    }
    await assert.rejects(client.functions.get('sdk-fn'), NotFoundError);
  });

  it('queues an invocation, waits for its result, and cancels another', async () => {
    const client = admin();
    const polls: unknown[] = [];
    const done = await client.invokeAndWait(
      'sdk-async',
      { image: BUSYBOX, command: ['cat'], stdin: ALL_BYTES },
      { idempotencyKey: 'sdk-1', initialIntervalMs: 50, onPoll: (i) => polls.push(i.state) },
    );
    assert.equal(done.state, 'succeeded');
    assert.deepEqual(done.result?.stdout, ALL_BYTES);
    assert.ok(polls.length >= 1);
    const again = await client.invokeAsync(
      'sdk-async',
      { image: BUSYBOX, command: ['cat'], stdin: ALL_BYTES },
      { idempotencyKey: 'sdk-1' },
    );
    assert.equal(again.invocation_id, done.id, 'the same idempotency key answers the same invocation');
    const slow = await client.invokeAsync('sdk-async', { image: BUSYBOX, command: ['sleep', '30'] });
    const cancelled = await client.invocations.cancel(slow.invocation_id);
    const final = cancelled.state === 'cancelled' ? cancelled : await client.invocations.wait(slow.invocation_id, { timeoutMs: 20_000 });
    assert.equal(final.state, 'cancelled');
    await assert.rejects(
      client.invocations.cancel(done.id),
      (err: unknown) => err instanceof ConflictError && err.code === 'FAAS_ERR_INVOCATION_FINISHED',
    );
    const letters = await client.deadLetters.list({ function_id: 'sdk-async' });
    assert.deepEqual(letters.dead_letters, []);
    await assert.rejects(client.deadLetters.redrive(done.id), NotFoundError);
  });

  it('gives a function timeout its own error with the output so far', async () => {
    const err = await admin()
      .invoke('sdk-timeout', { image: BUSYBOX, command: ['sh', '-c', 'echo partial; sleep 10'], timeout_ms: 500 })
      .catch((e: unknown) => e);
    assert.ok(err instanceof FunctionTimeoutError);
    assert.equal(err.status, 504);
    assert.equal(new TextDecoder().decode(err.logs), 'partial\n');
  });

  it('makes and revokes keys; scopes, revocation and a rate limit are typed errors, the limit retried', async () => {
    const client = admin();
    const created = await client.keys.create({ name: 'sdk', scopes: ['invoke'], rate_limit: { per_second: 1, burst: 1 } });
    try {
      const first = await client.keys.list({ limit: 1 });
      assert.equal(first.keys.length, 1);
      const listed: string[] = [];
      for await (const k of client.keys.all({ limit: 1 })) listed.push(k.id);
      assert.ok(listed.includes(created.id));
      assert.equal(listed[0], first.keys[0]?.id);
      assert.equal(new Set(listed).size, listed.length, 'every key once');
      assert.equal((await client.keys.get(created.id)).name, 'sdk');
      const limited = new FaasClient({ url: p.url, apiKey: created.key, retry: { retries: 0 } });
      await limited.functions.list();
      await assert.rejects(limited.functions.list(), (err: unknown) => {
        assert.ok(err instanceof RateLimitedError);
        assert.equal(err.code, 'FAAS_ERR_RATE_LIMITED');
        assert.ok((err.retryAfterMs ?? 0) >= 1000);
        return true;
      });
      const patient = new FaasClient({ url: p.url, apiKey: created.key, retry: { retries: 2, baseDelayMs: 10, maxDelayMs: 5000 } });
      const started = Date.now();
      await patient.functions.list();
      assert.ok(Date.now() - started >= 500, 'it waited for the Retry-After before the retry that succeeded');
      await assert.rejects(patient.keys.list(), ForbiddenError);
    } finally {
      await client.keys.revoke(created.id);
    }
    await assert.rejects(new FaasClient({ url: p.url, apiKey: created.key }).functions.list(), UnauthorizedError);
    await assert.rejects(new FaasClient({ url: p.url }).functions.list(), UnauthorizedError);
  });

  it('stops a call at its deadline and at its AbortSignal', async () => {
    const client = admin();
    const slow = { image: BUSYBOX, command: ['sleep', '5'] } as const;
    await assert.rejects(client.invoke('sdk-deadline', { ...slow, command: ['sleep', '5'] }, { timeoutMs: 300 }), CallTimeoutError);
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('the caller gave up')), 300);
    await assert.rejects(
      client.invoke('sdk-deadline', { ...slow, command: ['sleep', '5'] }, { signal: controller.signal }),
      /the caller gave up/,
    );
  });
});
