/**
 * The hand-over of ended invocations to the dispatcher across crashes, with a real SQLite store
 * (queue and KvStore) and a receiver on loopback: a process that dies after writing a final state
 * and before recording its delivery loses no callback, and one that dies after recording it but
 * before clearing the mark sends no second one.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { silentLogger } from '@faas/common';
import { type AttemptEnd, openSqliteStore, type Store } from '@faas/store';
import { CallbackDispatcher, type CallbackDispatcherOptions } from './dispatcher.js';
import { CallbackHandoff, deliveryIdOf, endOfDelivery } from './handoff.js';
import { type Answer, memoryKv, type Receiver, startReceiver, until } from './test-fixtures.js';
import { AddressPolicy } from './url-policy.js';

const SECRET = 'callback-test-secret-0123456789abcdef';
const OK: AttemptEnd = { status: 'completed', exitCode: 0, error: null, errorCode: null };

const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function receiver(answer?: Answer): Promise<Receiver> {
  const r = await startReceiver(answer);
  cleanups.push(() => r.close());
  return r;
}

/** A data folder whose store the test opens, "crashes" (closes with nothing more written) and opens again. */
function dataDir() {
  const dir = mkdtempSync(join(tmpdir(), 'faas-handoff-test-'));
  const key = randomBytes(32);
  const open = (): Store => openSqliteStore({ dataDir: dir, secretsKey: key });
  cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
  return { open };
}

/** One process's callback side on `store`. */
function callbacksOn(store: Store, kv = store.kv, options: Partial<CallbackDispatcherOptions> = {}) {
  const dispatcher = new CallbackDispatcher({
    kv,
    log: silentLogger,
    secret: SECRET,
    policy: new AddressPolicy({ allowPrivate: true }),
    maxAttempts: 2,
    attemptTimeoutMs: 2000,
    retryBaseMs: 20,
    ...options,
  });
  const handoff = new CallbackHandoff({
    queue: store.queue,
    dispatcher,
    log: silentLogger,
    describe: async (id) => {
      const job = await store.queue.get(id);
      return job && { invocation_id: job.id, state: job.state, attempts: job.attempts };
    },
  });
  return { dispatcher, handoff };
}

/** An invocation with `url` accepted, run and written as succeeded: what the worker does before it hands the end over. */
async function endedWithCallback(store: Store, id: string, url: string): Promise<void> {
  await store.queue.enqueue({
    id,
    functionId: 'fn',
    functionVersion: null,
    executor: 'docker',
    keyId: null,
    maxAttempts: 1,
    retryOnFailure: false,
    stdinBytes: 0,
    callbackUrl: url,
    request: '{}',
    requestHash: id,
  });
  const claimed = await store.queue.claim({ owner: 'w', leaseMs: 60_000 });
  assert.equal(claimed?.job.id, id);
  const ref = { id, owner: 'w', attempt: claimed.attempt };
  assert.ok(await store.queue.finish(ref, { state: 'succeeded', attempt: OK, result: '{}', error: null, errorCode: null }));
}

describe('handing ended invocations to their callbacks', () => {
  it('a process that died between the final state and its delivery record: the next start delivers it', async () => {
    const r = await receiver();
    const { open } = dataDir();
    const first = open();
    await endedWithCallback(first, 'inv-crash', `${r.origin}/hook`);
    // The process dies here: the final state is written, its callback never reached the dispatcher.
    await first.close();

    const second = open();
    const { dispatcher, handoff } = callbacksOn(second);
    try {
      assert.equal(await dispatcher.resumePending(), 0, 'no delivery was recorded');
      assert.equal(await handoff.resume(), 1);
      await until(() => r.received.length === 1, 5000, 'the delivery');
      const [got] = r.received;
      assert.equal(got?.url, '/hook');
      assert.equal(got?.headers['x-faas-delivery-id'], deliveryIdOf('inv-crash', 1));
      assert.deepEqual(JSON.parse(got?.body.toString() ?? '{}'), { invocation_id: 'inv-crash', state: 'succeeded', attempts: 1 });
      assert.deepEqual(await second.queue.callbacksPending({ limit: 10 }), [], 'handed over: the mark is gone');
      assert.equal(await handoff.resume(), 0);
    } finally {
      await dispatcher.close();
      await second.close();
    }
  });

  it('a process that died after recording the delivery, before clearing the mark: handed over again, posted once', async () => {
    const r = await receiver();
    const { open } = dataDir();
    const first = open();
    await endedWithCallback(first, 'inv-twice', `${r.origin}/hook`);
    const one = callbacksOn(first);
    // The delivery is recorded and made; the process dies before the mark is cleared.
    const handle = await one.dispatcher.deliver({
      invocationId: 'inv-twice',
      url: `${r.origin}/hook`,
      body: '{"state":"succeeded"}',
      deliveryId: deliveryIdOf('inv-twice', 1),
    });
    assert.equal(handle.recorded, true);
    assert.equal((await handle.settled).state, 'delivered');
    await one.dispatcher.close();
    assert.equal((await first.queue.callbacksPending({ limit: 10 })).length, 1);
    await first.close();

    const second = open();
    const two = callbacksOn(second);
    try {
      await two.dispatcher.resumePending();
      assert.equal(await two.handoff.resume(), 1);
      assert.deepEqual(await second.queue.callbacksPending({ limit: 10 }), []);
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(r.received.length, 1, 'one POST for one final state');
    } finally {
      await two.dispatcher.close();
      await second.close();
    }
  });

  it('keeps the mark while the store refuses the delivery record, and hands the same end over once when asked twice at once', async () => {
    const r = await receiver();
    const { open } = dataDir();
    const store = open();
    try {
      await endedWithCallback(store, 'inv-kv', `${r.origin}/hook`);
      const kv = memoryKv();
      kv.fail = true;
      const broken = callbacksOn(store, kv);
      await broken.handoff.handOff({ id: 'inv-kv', callbackUrl: `${r.origin}/hook` });
      assert.equal((await store.queue.callbacksPending({ limit: 10 })).length, 1, 'not recorded: still marked for the next start');
      await until(() => r.received.length === 1, 5000, 'the in-memory delivery');
      await broken.dispatcher.close();

      await endedWithCallback(store, 'inv-once', `${r.origin}/once`);
      const fine = callbacksOn(store);
      await Promise.all([1, 2, 3].map(() => fine.handoff.handOff({ id: 'inv-once', callbackUrl: `${r.origin}/once` })));
      await until(() => r.received.some((x) => x.url === '/once'), 5000, 'the delivery');
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(r.received.filter((x) => x.url === '/once').length, 1);
      assert.deepEqual(
        (await store.queue.callbacksPending({ limit: 10 })).map((j) => j.id),
        ['inv-kv'],
      );
      await fine.dispatcher.close();
    } finally {
      await store.close();
    }
  });

  it('writes where each delivery stands to the queue: retried then delivered, refused with nothing sent, and told again after a crash', async () => {
    const r = await receiver((req, _i, res) => {
      // The first POST to /steps is answered 503, every other 204.
      const firstSteps = req.url === '/steps' && r.received.filter((x) => x.url === '/steps').length === 1;
      res.writeHead(firstSteps ? 503 : 204).end();
    });
    const { open } = dataDir();
    const store = open();
    const callback = async (id: string) => (await store.queue.get(id))?.callback;
    const dispatchers: CallbackDispatcher[] = [];
    try {
      // Retried, then delivered.
      const slow = callbacksOn(store, store.kv, { maxAttempts: 3, retryBaseMs: 400, random: () => 1 });
      dispatchers.push(slow.dispatcher);
      await endedWithCallback(store, 'inv-steps', `${r.origin}/steps`);
      assert.deepEqual(await callback('inv-steps'), {
        state: 'pending',
        attempts: 0,
        lastError: null,
        lastStatus: null,
        deliveredAt: null,
      });
      const before = Date.now();
      await slow.handoff.handOff({ id: 'inv-steps', callbackUrl: `${r.origin}/steps` });
      await until(async () => (await callback('inv-steps'))?.attempts === 1, 5000, 'the first attempt recorded');
      assert.deepEqual(await callback('inv-steps'), {
        state: 'pending',
        attempts: 1,
        lastError: 'answered 503',
        lastStatus: 503,
        deliveredAt: null,
      });
      await until(async () => (await callback('inv-steps'))?.state === 'delivered', 5000, 'the delivery recorded');
      const delivered = await callback('inv-steps');
      assert.deepEqual(
        { ...delivered, deliveredAt: 0 },
        { state: 'delivered', attempts: 2, lastError: null, lastStatus: 204, deliveredAt: 0 },
      );
      assert.ok((delivered?.deliveredAt ?? 0) >= before && (delivered?.deliveredAt ?? 0) <= Date.now());

      // A name that resolves to loopback, with private addresses refused: nothing is sent.
      const strict = callbacksOn(store, store.kv, {
        policy: new AddressPolicy(),
        lookup: async () => [{ address: '127.0.0.1', family: 4 }],
      });
      dispatchers.push(strict.dispatcher);
      const inside = `http://inside.test:${r.port}/inside`;
      await endedWithCallback(store, 'inv-refused', inside);
      await strict.handoff.handOff({ id: 'inv-refused', callbackUrl: inside });
      await until(async () => (await callback('inv-refused'))?.state === 'refused', 5000, 'the refusal recorded');
      const refused = await callback('inv-refused');
      assert.deepEqual([refused?.attempts, refused?.lastStatus, refused?.deliveredAt], [1, null, null]);
      assert.match(refused?.lastError ?? '', /inside\.test resolves to a loopback address \(127\.0\.0\.1\)/);
      assert.equal(r.received.filter((x) => x.url === '/inside').length, 0);

      // Delivered by a process that died before the queue heard of it: the next start's hand-over tells it.
      await endedWithCallback(store, 'inv-told', `${r.origin}/told`);
      const unobserved = new CallbackDispatcher({
        kv: store.kv,
        log: silentLogger,
        secret: SECRET,
        policy: new AddressPolicy({ allowPrivate: true }),
      });
      const handle = await unobserved.deliver({
        invocationId: 'inv-told',
        url: `${r.origin}/told`,
        body: '{}',
        deliveryId: deliveryIdOf('inv-told', 1),
      });
      assert.equal((await handle.settled).state, 'delivered');
      await unobserved.close();
      assert.equal((await callback('inv-told'))?.state, 'pending', 'nobody told the queue');
      const next = callbacksOn(store);
      dispatchers.push(next.dispatcher);
      await next.handoff.resume();
      await until(async () => (await callback('inv-told'))?.state === 'delivered', 5000, 'the end told again');
      assert.equal(r.received.filter((x) => x.url === '/told').length, 1, 'posted once');
    } finally {
      for (const d of dispatchers) await d.close();
      await store.close();
    }
  });

  it('reads the end a delivery is for from its id, and nothing from any other id', () => {
    assert.equal(endOfDelivery(deliveryIdOf('inv.with.dots', 3), 'inv.with.dots'), 3);
    assert.equal(endOfDelivery(deliveryIdOf('a', 0), 'a'), 0);
    for (const id of ['a', 'a.', 'a.x', 'a.01', 'a.1.2', 'b.1', '3f6c2a9e-1d1c-4b8e-9f55-2f4f0f7e3a11'])
      assert.equal(endOfDelivery(id, 'a'), undefined, id);
  });
});
