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
import { CallbackDispatcher } from './dispatcher.js';
import { CallbackHandoff, deliveryIdOf } from './handoff.js';
import { memoryKv, type Receiver, startReceiver, until } from './test-fixtures.js';
import { AddressPolicy } from './url-policy.js';

const SECRET = 'callback-test-secret-0123456789abcdef';
const OK: AttemptEnd = { status: 'completed', exitCode: 0, error: null, errorCode: null };

const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function receiver(): Promise<Receiver> {
  const r = await startReceiver();
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
function callbacksOn(store: Store, kv = store.kv) {
  const dispatcher = new CallbackDispatcher({
    kv,
    log: silentLogger,
    secret: SECRET,
    policy: new AddressPolicy({ allowPrivate: true }),
    maxAttempts: 2,
    attemptTimeoutMs: 2000,
    retryBaseMs: 20,
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
});
