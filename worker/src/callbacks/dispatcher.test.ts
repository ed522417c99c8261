/**
 * The dispatcher over real HTTP: every receiver is a server the test starts on 127.0.0.1. Loopback
 * is refused by default, so tests that must reach the receiver allow it the way an operator would
 * (FAAS_CALLBACK_ALLOW_PRIVATE, or an allow-list), and tests of refusal use the default policy.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { openSqliteStore } from '@faas/store';
import type { DeliveryRecord } from './delivery-records.js';
import {
  CallbackDispatcher,
  type CallbackDispatcherOptions,
  type DeliveryProgress,
  type DeliveryResult,
  PENDING_KEY,
  recordKey,
} from './dispatcher.js';
import { verifySignature } from './signing.js';
import {
  type Answer,
  answerWith,
  captureLog,
  closedPort,
  makeCertificate,
  memoryKv,
  type Receiver,
  startReceiver,
  startTlsReceiver,
  until,
} from './test-fixtures.js';
import { AddressPolicy, type LookupAll } from './url-policy.js';

const SECRET = 'callback-test-secret-0123456789abcdef';
const BODY = JSON.stringify({ invocation_id: 'inv-1', state: 'succeeded', marker: 'BODY-MARKER-7f3a' });

const receivers: Receiver[] = [];
const dispatchers: CallbackDispatcher[] = [];
after(async () => {
  for (const d of dispatchers) await d.close();
  for (const r of receivers) await r.close();
});

async function receiver(answer?: Answer): Promise<Receiver> {
  const r = await startReceiver(answer);
  receivers.push(r);
  return r;
}

/** A dispatcher with short delays, allowed to reach loopback unless `policy` says otherwise. */
function dispatcher(options: Partial<CallbackDispatcherOptions> = {}) {
  const kv = memoryKv();
  const { log, lines } = captureLog();
  const d = new CallbackDispatcher({
    kv,
    log,
    secret: SECRET,
    policy: new AddressPolicy({ allowPrivate: true }),
    maxAttempts: 4,
    attemptTimeoutMs: 2000,
    retryBaseMs: 20,
    ...options,
  });
  dispatchers.push(d);
  return { d, kv, lines };
}

/** A lookup that answers from `table` (a list per call, the last one repeating) and counts its calls. */
function fakeLookup(...answers: string[][]): LookupAll & { calls: string[] } {
  const calls: string[] = [];
  const lookup = async (host: string) => {
    calls.push(host);
    const answer = answers[Math.min(calls.length, answers.length) - 1] ?? [];
    return answer.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
  return Object.assign(lookup, { calls });
}

describe('delivery', () => {
  it('POSTs the body once, signed, with the invocation id, the delivery id and the attempt', async () => {
    const r = await receiver();
    const { d, lines } = dispatcher();
    const handle = await d.deliver({ invocationId: 'inv-1', url: `${r.origin}/hook?token=query-secret`, body: BODY });
    const result = await handle.settled;
    assert.deepEqual(result, {
      deliveryId: handle.deliveryId,
      invocationId: 'inv-1',
      state: 'delivered',
      attempts: 1,
      status: 200,
      error: null,
    });
    assert.equal(r.received.length, 1);
    const [req] = r.received;
    assert.equal(req?.method, 'POST');
    assert.equal(req?.url, '/hook?token=query-secret');
    assert.equal(req?.body.toString(), BODY);
    assert.equal(req?.headers['content-type'], 'application/json');
    assert.equal(req?.headers['x-faas-invocation-id'], 'inv-1');
    assert.equal(req?.headers['x-faas-delivery-id'], handle.deliveryId);
    assert.equal(req?.headers['x-faas-attempt'], '1');
    assert.equal(req?.headers.host, new URL(r.origin).host);
    assert.equal(verifySignature(req?.body ?? '', req?.headers['x-faas-signature'] as string, SECRET), true);
    assert.equal(verifySignature(req?.body ?? '', req?.headers['x-faas-signature'] as string, `${SECRET}x`), false);
    // The log names the invocation and never holds the secret, the body or the query.
    const log = lines.join('');
    assert.match(log, /callback delivered/);
    assert.match(log, /"invocation_id":"inv-1"/);
    for (const hidden of [SECRET, 'BODY-MARKER-7f3a', 'query-secret']) assert.ok(!log.includes(hidden), hidden);
  });

  it('retries 500, 503 and 408 with backoff, re-signing every attempt, until a 2xx', async () => {
    const statuses = [500, 503, 408, 204];
    const r = await receiver((_req, i, res) => res.writeHead(statuses[i] ?? 200).end());
    const { d } = dispatcher({ maxAttempts: 6, retryBaseMs: 40, random: () => 1 });
    const steps: DeliveryProgress[] = [];
    const stop = d.observe((step) => steps.push(step));
    const handle = await d.deliver({ invocationId: 'inv-2', url: r.origin, body: BODY });
    const result = await handle.settled;
    stop();
    assert.equal(result.state, 'delivered');
    assert.equal(result.attempts, 4);
    // An observer is told of every attempt that is retried, then of the end.
    assert.deepEqual(
      steps.map((x) => [x.deliveryId === handle.deliveryId, x.state, x.attempts, x.status, x.error, x.finishedAt === null]),
      [
        [true, 'pending', 1, 500, 'answered 500', true],
        [true, 'pending', 2, 503, 'answered 503', true],
        [true, 'pending', 3, 408, 'answered 408', true],
        [true, 'delivered', 4, 204, null, false],
      ],
    );
    assert.deepEqual(
      r.received.map((q) => q.headers['x-faas-attempt']),
      ['1', '2', '3', '4'],
    );
    assert.ok(r.received.every((q) => q.headers['x-faas-delivery-id'] === handle.deliveryId));
    assert.ok(r.received.every((q) => verifySignature(q.body, q.headers['x-faas-signature'] as string, SECRET)));
    // random() = 1 takes no jitter off: waits of 40, 80 and 160 ms.
    const gaps = r.received.slice(1).map((q, i) => q.at - (r.received[i]?.at ?? 0));
    for (const [i, least] of [40, 80, 160].entries()) assert.ok((gaps[i] ?? 0) >= least - 5, `gap ${i}: ${gaps[i]} ms < ${least} ms`);
  });

  it('honours Retry-After on 429', async () => {
    const r = await receiver((_req, i, res) => (i === 0 ? res.writeHead(429, { 'retry-after': '1' }).end() : res.writeHead(200).end()));
    const { d } = dispatcher({ retryBaseMs: 10 });
    const result = await (await d.deliver({ invocationId: 'inv-3', url: r.origin, body: BODY })).settled;
    assert.equal(result.state, 'delivered');
    const gap = (r.received[1]?.at ?? 0) - (r.received[0]?.at ?? 0);
    assert.ok(gap >= 950, `second attempt ${gap} ms after the first; Retry-After asked for 1000`);
  });

  it('retries a refused connection, and delivers once the receiver is up', async () => {
    const port = await closedPort();
    let started: Receiver | undefined;
    let lookupCalls = 0;
    // The receiver starts when the second attempt resolves the name: the first found nothing listening.
    const lookup = async (host: string) => {
      if (host !== 'late.test') throw new Error(`unexpected ${host}`);
      if (lookupCalls++ === 1) {
        started = await startReceiver(answerWith(200), port);
        receivers.push(started);
      }
      return [{ address: '127.0.0.1', family: 4 }];
    };
    const { d, lines } = dispatcher({ lookup });
    const result = await (await d.deliver({ invocationId: 'inv-4', url: `http://late.test:${port}/`, body: BODY })).settled;
    assert.equal(result.state, 'delivered');
    assert.equal(result.attempts, 2);
    assert.equal(started?.received.length, 1);
    assert.equal(started?.received[0]?.headers['x-faas-attempt'], '2');
    assert.match(lines.join(''), /ECONNREFUSED/);
  });

  it('gives up after the last attempt, with the last error', async () => {
    const port = await closedPort();
    const { d } = dispatcher({ maxAttempts: 3 });
    const result = await (await d.deliver({ invocationId: 'inv-5', url: `http://127.0.0.1:${port}/`, body: BODY })).settled;
    assert.equal(result.state, 'failed');
    assert.equal(result.attempts, 3);
    assert.equal(result.status, null);
    assert.match(result.error ?? '', /^gave up after 3 attempts; the last: ECONNREFUSED/);
  });

  it('fails for good on 400 (and other 4xx), after one attempt', async () => {
    for (const status of [400, 401, 404, 410, 422]) {
      const r = await receiver(answerWith(status));
      const { d } = dispatcher();
      const result = await (await d.deliver({ invocationId: `inv-${status}`, url: r.origin, body: BODY })).settled;
      assert.deepEqual([result.state, result.attempts, result.status, result.error], ['failed', 1, status, `answered ${status}`]);
      assert.equal(r.received.length, 1);
    }
  });

  it('never follows a redirect', async () => {
    const target = await receiver();
    const r = await receiver(answerWith(307, { location: `${target.origin}/elsewhere` }));
    const { d } = dispatcher();
    const result = await (await d.deliver({ invocationId: 'inv-6', url: r.origin, body: BODY })).settled;
    assert.deepEqual([result.state, result.attempts, result.status], ['failed', 1, 307]);
    assert.match(result.error ?? '', /redirects are not followed/);
    assert.equal(target.received.length, 0);
  });

  it('ends an attempt that gets no answer within its timeout', async () => {
    const r = await receiver(() => {}); // never answers
    const { d } = dispatcher({ maxAttempts: 2, attemptTimeoutMs: 150 });
    const started = Date.now();
    const result = await (await d.deliver({ invocationId: 'inv-7', url: r.origin, body: BODY })).settled;
    assert.equal(result.state, 'failed');
    assert.match(result.error ?? '', /no answer within 150 ms/);
    assert.equal(r.received.length, 2);
    assert.ok(Date.now() - started < 2000);
  });

  it('reads no more than the cap of an endless answer', async () => {
    const r = await receiver((_req, _i, res) => {
      res.writeHead(200);
      const chunk = Buffer.alloc(16 * 1024, 120);
      const pump = () => {
        while (!res.destroyed && res.write(chunk)) {}
        if (!res.destroyed) res.once('drain', pump);
      };
      pump();
    });
    const { d } = dispatcher({ maxResponseBytes: 1024 });
    const result = await (await d.deliver({ invocationId: 'inv-8', url: r.origin, body: BODY })).settled;
    assert.equal(result.state, 'delivered');
  });

  it('runs at most `concurrency` attempts at once', async () => {
    let inFlight = 0;
    let most = 0;
    const r = await receiver((_req, _i, res) => {
      inFlight += 1;
      most = Math.max(most, inFlight);
      setTimeout(() => {
        inFlight -= 1;
        res.writeHead(200).end();
      }, 50);
    });
    const { d } = dispatcher({ concurrency: 2 });
    const handles = await Promise.all([1, 2, 3, 4, 5].map((n) => d.deliver({ invocationId: `inv-k${n}`, url: r.origin, body: BODY })));
    const results = await Promise.all(handles.map((h) => h.settled));
    assert.ok(results.every((x) => x.state === 'delivered'));
    assert.equal(r.received.length, 5);
    assert.equal(most, 2);
  });

  it('is idempotent for a given delivery id', async () => {
    const r = await receiver();
    const { d } = dispatcher();
    const first = await d.deliver({ invocationId: 'inv-9', url: r.origin, body: BODY, deliveryId: 'inv-9' });
    const again = await d.deliver({ invocationId: 'inv-9', url: r.origin, body: BODY, deliveryId: 'inv-9' });
    assert.equal((await first.settled).state, 'delivered');
    assert.equal((await again.settled).state, 'delivered');
    const later = await d.deliver({ invocationId: 'inv-9', url: r.origin, body: BODY, deliveryId: 'inv-9' });
    assert.equal((await later.settled).attempts, 1);
    assert.equal(r.received.length, 1);
  });
});

describe('refusal', () => {
  const refusing = () => dispatcher({ policy: new AddressPolicy() });

  it('refuses the loopback receiver by address and by the name localhost, without connecting', async () => {
    const r = await receiver();
    const { d } = refusing();
    for (const url of [r.origin, `http://localhost:${r.port}/`, `http://[::ffff:127.0.0.1]:${r.port}/`, `http://2130706433:${r.port}/`]) {
      const result = await (await d.deliver({ invocationId: 'inv-r', url, body: BODY })).settled;
      assert.deepEqual([result.state, result.attempts], ['refused', 0], url);
      assert.match(result.error ?? '', /loopback/, url);
    }
    assert.equal(r.received.length, 0);
  });

  it('refuses every class of address the operator has not allowed', async () => {
    const { d } = refusing();
    for (const host of [
      '10.0.0.1',
      '172.16.5.4',
      '192.168.1.1',
      '100.64.0.1',
      '169.254.10.10',
      '[fe80::1]',
      '[fd12::1]',
      '0.0.0.0',
      '224.0.0.1',
      '240.0.0.1',
      '[2001:db8::1]',
      '169.254.169.254',
      '100.100.100.200',
      '[fd00:ec2::254]',
      '[::ffff:169.254.169.254]',
      '[64:ff9b::a9fe:a9fe]',
    ]) {
      const result = await (await d.deliver({ invocationId: 'inv-c', url: `http://${host}/`, body: BODY })).settled;
      assert.deepEqual([result.state, result.attempts], ['refused', 0], host);
      assert.match(result.error ?? '', /callbacks may not reach/, host);
    }
    // Metadata stays refused when private addresses are allowed.
    const open = dispatcher({ policy: new AddressPolicy({ allowPrivate: true }) }).d;
    const metadata = await (await open.deliver({ invocationId: 'inv-m', url: 'http://169.254.169.254/latest/meta-data/', body: BODY }))
      .settled;
    assert.match(metadata.error ?? '', /metadata/);
  });

  it('refuses a name that resolves to loopback at delivery time, without connecting', async () => {
    const r = await receiver();
    const lookup = fakeLookup(['127.0.0.1']);
    const { d } = dispatcher({ policy: new AddressPolicy(), lookup });
    const steps: DeliveryProgress[] = [];
    d.observe((step) => steps.push(step));
    const result = await (await d.deliver({ invocationId: 'inv-d', url: `http://inside.test:${r.port}/`, body: BODY })).settled;
    assert.deepEqual([result.state, result.attempts, result.status], ['refused', 1, null]);
    assert.match(result.error ?? '', /inside\.test resolves to a loopback address \(127\.0\.0\.1\)/);
    assert.equal(r.received.length, 0);
    // Refused for good at once: no retry, and an observer is told of that end only.
    assert.deepEqual(
      steps.map((x) => [x.state, x.attempts, x.error === result.error, typeof x.finishedAt]),
      [['refused', 1, true, 'number']],
    );
  });

  it('refuses a recorded delivery whose URL the rules refuse by the time it is attempted (the operator turned private off)', async () => {
    const r = await receiver();
    const kv = memoryKv();
    // Left pending by a run that allowed loopback.
    const record: DeliveryRecord = {
      v: 1,
      id: 'inv-o.1',
      invocationId: 'inv-o',
      url: `${r.origin}/`,
      body: Buffer.from(BODY).toString('base64'),
      state: 'pending',
      attempts: 0,
      nextAttemptAt: Date.now(),
      createdAt: Date.now(),
      finishedAt: null,
      lastStatus: null,
      lastError: null,
    };
    await kv.set(recordKey(record.id), JSON.stringify(record));
    await kv.set(PENDING_KEY, JSON.stringify([record.id]));
    const settled: DeliveryResult[] = [];
    const strict = dispatcher({ kv, policy: new AddressPolicy(), onSettled: (x) => settled.push(x) }).d;
    assert.equal(await strict.resumePending(), 1);
    await until(() => settled.length === 1, 5000, 'the resumed delivery');
    assert.deepEqual([settled[0]?.state, settled[0]?.attempts, settled[0]?.status], ['refused', 1, null]);
    assert.match(settled[0]?.error ?? '', /targets a loopback address/);
    assert.equal(r.received.length, 0, 'nothing sent');
    assert.equal(JSON.parse(kv.map.get(recordKey(record.id)) ?? '{}').state, 'refused');
  });
});

describe('DNS pinning', () => {
  it('a public address first and loopback second: refused, nothing reaches loopback', async () => {
    const r = await receiver();
    const lookup = fakeLookup(['93.184.215.14', '127.0.0.1']);
    const { d } = dispatcher({ policy: new AddressPolicy(), lookup });
    const result = await (await d.deliver({ invocationId: 'inv-p', url: `http://mixed.test:${r.port}/`, body: BODY })).settled;
    assert.equal(result.state, 'refused');
    assert.match(result.error ?? '', /loopback/);
    assert.deepEqual(lookup.calls, ['mixed.test']);
    assert.equal(r.received.length, 0);
  });

  it('connects to the address it checked: one lookup per attempt, none by the connection', async () => {
    // pinned.test cannot be resolved by the system (.test is reserved), and this lookup answers
    // once: the delivery can only succeed by connecting to the address the check saw.
    const r = await receiver();
    let calls = 0;
    const lookup = async () => {
      calls += 1;
      if (calls > 1) return [{ address: '10.0.0.1', family: 4 }];
      return [{ address: '127.0.0.1', family: 4 }];
    };
    const { d } = dispatcher({ policy: new AddressPolicy({ allowCidrs: ['127.0.0.1/32'] }), lookup });
    const result = await (await d.deliver({ invocationId: 'inv-q', url: `http://pinned.test:${r.port}/x`, body: BODY })).settled;
    assert.equal(result.state, 'delivered');
    assert.equal(calls, 1);
    assert.equal(r.received[0]?.headers.host, `pinned.test:${r.port}`);
  });

  it('every retry resolves and checks again: a name rebound to a refused address between attempts is refused', async () => {
    const r = await receiver(answerWith(503));
    const lookup = fakeLookup(['127.0.0.1'], ['10.0.0.1']);
    const { d } = dispatcher({ policy: new AddressPolicy({ allowCidrs: ['127.0.0.1/32'] }), lookup });
    const result = await (await d.deliver({ invocationId: 'inv-b', url: `http://rebind.test:${r.port}/`, body: BODY })).settled;
    assert.deepEqual([result.state, result.attempts, result.status], ['refused', 2, 503]);
    assert.match(result.error ?? '', /private address \(10\.0\.0\.1\)/);
    assert.equal(r.received.length, 1);
  });

  it('https: connects to the pinned address with the name as TLS server name, and checks the certificate against the name', async (t) => {
    const certificate = makeCertificate('callback.test');
    if (!certificate) return t.skip('openssl is not installed');
    const r = await startTlsReceiver(certificate);
    receivers.push(r);
    const policy = new AddressPolicy({ allowCidrs: ['127.0.0.1/32'] });
    const { d } = dispatcher({ policy, lookup: fakeLookup(['127.0.0.1']), ca: certificate.cert });
    const ok = await (await d.deliver({ invocationId: 'inv-t', url: `https://callback.test:${r.port}/`, body: BODY })).settled;
    assert.equal(ok.state, 'delivered');
    assert.equal(r.received[0]?.servername, 'callback.test');
    assert.equal(r.received[0]?.headers.host, `callback.test:${r.port}`);
    // The same address under a name the certificate does not carry: a TLS failure, never a delivery.
    const other = dispatcher({ policy, lookup: fakeLookup(['127.0.0.1']), ca: certificate.cert, maxAttempts: 1 }).d;
    const bad = await (await other.deliver({ invocationId: 'inv-u', url: `https://other.test:${r.port}/`, body: BODY })).settled;
    assert.equal(bad.state, 'failed');
    assert.match(bad.error ?? '', /ERR_TLS_CERT_ALTNAME_INVALID/);
    assert.equal(r.received.length, 1);
  });
});

describe('durability', () => {
  it('a delivery interrupted by a stop resumes from the store at the next start', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'faas-callback-store-'));
    const secretsKey = randomBytes(32);
    let up = false;
    const r = await receiver((_req, _i, res) => res.writeHead(up ? 200 : 503).end());
    try {
      const store = openSqliteStore({ dataDir: dir, secretsKey });
      const first = dispatcher({ kv: store.kv, retryBaseMs: 200, maxAttempts: 5 }).d;
      const handle = await first.deliver({ invocationId: 'inv-s', url: r.origin, body: BODY });
      // The delivery is recorded before deliver() resolves.
      assert.deepEqual(JSON.parse((await store.kv.get(PENDING_KEY)) ?? '[]'), [handle.deliveryId]);
      await until(
        async () => JSON.parse((await store.kv.get(recordKey(handle.deliveryId))) ?? '{}').attempts === 1,
        5000,
        'the first attempt',
      );
      await first.close();
      assert.deepEqual(await handle.settled, {
        deliveryId: handle.deliveryId,
        invocationId: 'inv-s',
        state: 'pending',
        attempts: 1,
        status: 503,
        error: 'answered 503',
      });
      await store.close();

      up = true;
      const again = openSqliteStore({ dataDir: dir, secretsKey });
      const settled: unknown[] = [];
      const second = dispatcher({ kv: again.kv, onSettled: (result) => settled.push(result) }).d;
      assert.equal(await second.resumePending(), 1);
      await until(() => settled.length === 1, 5000, 'the resumed delivery');
      assert.deepEqual(settled[0], {
        deliveryId: handle.deliveryId,
        invocationId: 'inv-s',
        state: 'delivered',
        attempts: 2,
        status: 200,
        error: null,
      });
      assert.deepEqual(
        r.received.map((q) => [q.headers['x-faas-delivery-id'], q.headers['x-faas-attempt'], q.body.toString()]),
        [
          [handle.deliveryId, '1', BODY],
          [handle.deliveryId, '2', BODY],
        ],
      );
      await second.close();
      // Ended: off the pending list, its record kept without the body.
      assert.deepEqual(JSON.parse((await again.kv.get(PENDING_KEY)) ?? ''), []);
      const record = JSON.parse((await again.kv.get(recordKey(handle.deliveryId))) ?? '{}');
      assert.equal(record.state, 'delivered');
      assert.equal(record.body, '');
      assert.equal(await dispatcher({ kv: again.kv }).d.resumePending(), 0);
      await again.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('close cuts an attempt in flight short without counting it, and leaves the delivery pending', async () => {
    const r = await receiver(() => {}); // never answers
    const { d, kv } = dispatcher({ attemptTimeoutMs: 10_000 });
    const handle = await d.deliver({ invocationId: 'inv-x', url: r.origin, body: BODY });
    await until(() => r.received.length === 1, 5000, 'the attempt');
    const started = Date.now();
    await d.close();
    assert.ok(Date.now() - started < 1000);
    assert.deepEqual(await handle.settled, {
      deliveryId: handle.deliveryId,
      invocationId: 'inv-x',
      state: 'pending',
      attempts: 0,
      status: null,
      error: null,
    });
    assert.deepEqual(JSON.parse(kv.map.get(PENDING_KEY) ?? ''), [handle.deliveryId]);
    // Asked for after close: recorded for the next start, not attempted.
    const late = await d.deliver({ invocationId: 'inv-y', url: r.origin, body: BODY });
    assert.equal((await late.settled).state, 'pending');
    assert.equal(r.received.length, 1);
  });

  it('goes on in memory when the store cannot be written, and says so', async () => {
    const r = await receiver();
    const { d, kv, lines } = dispatcher();
    kv.fail = true;
    const result = await (await d.deliver({ invocationId: 'inv-f', url: r.origin, body: BODY })).settled;
    assert.equal(result.state, 'delivered');
    assert.match(lines.join(''), /cannot record a callback delivery/);
  });
});
