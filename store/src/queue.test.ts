import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { isFaasError, silentLogger } from '@faas/common';
import Database from 'better-sqlite3';
import { migrate } from './migrations.js';
import { secretBox } from './secrets.js';
import { SqliteContext } from './sqlite-context.js';
import { CLAIM_NEXT, sqliteQueue } from './sqlite-queue.js';
import { functionInput, TEST_KEY, withStore, withTempDir } from './test-fixtures.js';
import type { AttemptEnd, EnqueueInput, QueueStore } from './types.js';

const hasCode = (code: string) => (e: unknown) => isFaasError(e) && e.code === code;
const T0 = 1_700_000_000_000;
const LEASE = 10_000;
const OK: AttemptEnd = { status: 'completed', exitCode: 0, error: null, errorCode: null };
const FAULT: AttemptEnd = { status: 'error', exitCode: null, error: 'engine went away', errorCode: 'FAAS_ERR_SANDBOX_FAILURE' };

function job(id: string, overrides: Partial<EnqueueInput> = {}): EnqueueInput {
  return {
    id,
    functionId: 'echo',
    functionVersion: 2,
    executor: 'docker',
    keyId: 'k1',
    maxAttempts: 3,
    retryOnFailure: false,
    stdinBytes: 5,
    callbackUrl: null,
    request: JSON.stringify({ functionId: 'echo', body: { payload_base64: 'aGVsbG8=' } }),
    requestHash: 'h1',
    ...overrides,
  };
}

async function claimOne(queue: QueueStore, owner = 'w1', now = T0) {
  const claimed = await queue.claim({ owner, leaseMs: LEASE, now });
  assert.ok(claimed, 'a due invocation is claimed');
  return { claimed, ref: { id: claimed.job.id, owner, attempt: claimed.attempt } };
}

describe('SQLite queue of asynchronous invocations', () => {
  it('accepts, claims with the request opened, finishes once with its result; the request is gone afterwards', async () => {
    await withStore(async ({ store }) => {
      const { job: accepted, created } = await store.queue.enqueue(job('a'), T0);
      assert.equal(created, true);
      assert.equal(accepted.state, 'queued');
      assert.deepEqual(await store.queue.get('a'), accepted);
      const { claimed, ref } = await claimOne(store.queue, 'w1', T0 + 5);
      assert.equal(claimed.attempt, 1);
      assert.equal(claimed.job.state, 'running');
      assert.equal(claimed.job.leaseExpiresAt, T0 + 5 + LEASE);
      assert.deepEqual(JSON.parse(claimed.request), { functionId: 'echo', body: { payload_base64: 'aGVsbG8=' } });
      assert.equal(await store.queue.claim({ owner: 'w2', leaseMs: LEASE, now: T0 + 6 }), undefined, 'nothing else is due');
      const attempts = await store.queue.attempts('a');
      assert.deepEqual(
        attempts.map((a) => [a.attempt, a.status, a.startedAt, a.finishedAt]),
        [[1, 'running', T0 + 5, null]],
      );
      const end = { state: 'succeeded' as const, attempt: OK, result: '{"exit_code":0}', error: null, errorCode: null };
      assert.equal(await store.queue.finish(ref, end, T0 + 50), true);
      assert.equal(await store.queue.finish(ref, end, T0 + 51), false, 'a second final result is refused');
      const done = await store.queue.get('a');
      assert.equal(done?.state, 'succeeded');
      assert.equal(done?.finishedAt, T0 + 50);
      assert.equal(done?.leaseOwner, null);
      assert.equal(await store.queue.result('a'), '{"exit_code":0}');
      assert.deepEqual(
        (await store.queue.attempts('a')).map((a) => [a.attempt, a.status, a.exitCode, a.finishedAt]),
        [[1, 'completed', 0, T0 + 50]],
      );
    });
  });

  it('keeps the request sealed at rest and the queue durable across a reopen', async () => {
    await withStore(async ({ store, file, reopen }) => {
      const secret = 'the-callers-stdin-0123456789';
      await store.queue.enqueue(job('sealed', { request: JSON.stringify({ body: { env_vars: [`TOKEN=${secret}`] } }) }), T0);
      await store.close();
      const bytes = [file, `${file}-wal`].map((f) => {
        try {
          return readFileSync(f).toString('latin1');
        } catch {
          return '';
        }
      });
      assert.ok(!bytes.some((b) => b.includes(secret)), 'the request never reaches the file in clear');
      const again = reopen();
      const { claimed } = await claimOne(again.queue, 'w1', T0 + 1);
      assert.ok(claimed.request.includes(secret));
    });
  });

  it('an idempotency key names one invocation per API key; another request under it is refused; it expires', async () => {
    await withStore(async ({ store }) => {
      const idem = { scope: 'k1', key: 'order-7', expiresAt: T0 + 1000 };
      const first = await store.queue.enqueue(job('i1', { idempotency: idem }), T0);
      const again = await store.queue.enqueue(job('i2', { idempotency: idem }), T0 + 10);
      assert.equal(again.created, false);
      assert.equal(again.job.id, 'i1');
      assert.deepEqual(again.job, first.job);
      assert.equal(await store.queue.get('i2'), undefined, 'no second invocation');
      await assert.rejects(
        store.queue.enqueue(job('i3', { idempotency: idem, requestHash: 'other' }), T0 + 20),
        (e: unknown) => hasCode('FAAS_ERR_IDEMPOTENCY_KEY_REUSED')(e) && /i1/.test((e as Error).message),
      );
      const otherKey = await store.queue.enqueue(job('i4', { idempotency: { ...idem, scope: 'k2' } }), T0 + 30);
      assert.equal(otherKey.created, true, 'keys of another API key are their own');
      const later = await store.queue.enqueue(job('i5', { idempotency: { ...idem, expiresAt: T0 + 5000 } }), T0 + 1000);
      assert.equal(later.created, true, 'past its window the key names a new invocation');
      assert.equal(later.job.id, 'i5');
    });
  });

  it('runs due invocations first-in first-out and waits for a backoff', async () => {
    await withStore(async ({ store }) => {
      await store.queue.enqueue(job('first'), T0);
      await store.queue.enqueue(job('second'), T0 + 1);
      assert.equal(await store.queue.nextDue(), T0);
      const { ref } = await claimOne(store.queue, 'w', T0 + 2);
      assert.equal(ref.id, 'first');
      assert.equal(await store.queue.retry(ref, { attempt: FAULT, runAt: T0 + 500 }, T0 + 3), true);
      const retried = await store.queue.get('first');
      assert.equal(retried?.state, 'queued');
      assert.equal(retried?.errorCode, 'FAAS_ERR_SANDBOX_FAILURE');
      const next = await claimOne(store.queue, 'w', T0 + 4);
      assert.equal(next.ref.id, 'second', 'the retried one waits for its backoff');
      assert.equal(await store.queue.claim({ owner: 'w', leaseMs: LEASE, now: T0 + 499 }), undefined);
      assert.equal(await store.queue.nextDue(), T0 + 500);
      const third = await claimOne(store.queue, 'w', T0 + 500);
      assert.equal(third.ref.id, 'first');
      assert.equal(third.claimed.attempt, 2);
      assert.deepEqual(
        (await store.queue.attempts('first')).map((a) => [a.attempt, a.status, a.errorCode]),
        [
          [1, 'error', 'FAAS_ERR_SANDBOX_FAILURE'],
          [2, 'running', null],
        ],
      );
    });
  });

  describe('fair claiming across API keys', () => {
    /** Claims `n` at `now`, keeping them running; their ids in claim order. */
    const claimMany = async (queue: QueueStore, n: number, now: number, owner = 'w') => {
      const ids: string[] = [];
      for (let i = 0; i < n; i++) ids.push((await claimOne(queue, owner, now)).ref.id);
      return ids;
    };
    const end = { state: 'succeeded' as const, attempt: OK, result: '{}', error: null, errorCode: null };

    it("a backlog of one key does not hold back another key's few: its first is claimed next while the backlog's run", async () => {
      await withStore(async ({ store }) => {
        for (let i = 0; i < 200; i++) await store.queue.enqueue(job(`a${i}`, { keyId: 'ka' }), T0 + i);
        const running = await claimMany(store.queue, 4, T0 + 300);
        assert.deepEqual(running, ['a0', 'a1', 'a2', 'a3'], 'a key alone takes every slot, first in first out');
        for (let i = 0; i < 3; i++) await store.queue.enqueue(job(`b${i}`, { keyId: 'kb' }), T0 + 400 + i);
        // kb has none running, ka four: kb's first goes next, though 196 of ka's are older.
        assert.equal((await claimOne(store.queue, 'w', T0 + 500)).ref.id, 'b0');
        // Then kb (one running) still beats ka (four running), until they are even; then the oldest due.
        assert.deepEqual(await claimMany(store.queue, 2, T0 + 500), ['b1', 'b2']);
        assert.deepEqual(await claimMany(store.queue, 2, T0 + 500), ['a4', 'a5'], "kb's queue is empty: ka takes the slots again");
        const stats = await store.queue.stats();
        assert.deepEqual([stats.queued, stats.running], [194, 9]);
      });
    });

    it('counts what runs across every worker of the database, and an end frees its key again', async () => {
      await withStore(async ({ store }) => {
        for (let i = 0; i < 10; i++) await store.queue.enqueue(job(`a${i}`, { keyId: 'ka' }), T0 + i);
        for (let i = 0; i < 10; i++) await store.queue.enqueue(job(`b${i}`, { keyId: 'kb' }), T0 + 20 + i);
        // Another worker takes three: even, so the oldest due first (a0), then kb's (b0), then even again (a1).
        const elsewhere = await claimMany(store.queue, 3, T0 + 50, 'other');
        assert.deepEqual(elsewhere, ['a0', 'b0', 'a1']);
        // ka runs two there, kb one: this worker takes kb's next, though ka's is older.
        assert.equal((await claimOne(store.queue, 'w', T0 + 60)).ref.id, 'b1');
        assert.equal((await claimOne(store.queue, 'w', T0 + 60)).ref.id, 'a2', 'even again (2 and 2): the oldest due');
        // kb's two end: kb (none running) beats ka (three running).
        assert.equal(await store.queue.finish({ id: 'b0', owner: 'other', attempt: 1 }, end, T0 + 70), true);
        assert.equal(await store.queue.finish({ id: 'b1', owner: 'w', attempt: 1 }, end, T0 + 70), true);
        assert.deepEqual(await claimMany(store.queue, 4, T0 + 80), ['b2', 'b3', 'b4', 'a3']);
      });
    });

    it('a key with nothing running beats keys with running ones, however old their queues; no key is one more tenant', async () => {
      await withStore(async ({ store }) => {
        for (let i = 0; i < 5; i++) await store.queue.enqueue(job(`a${i}`, { keyId: 'ka' }), T0 + i);
        for (let i = 0; i < 5; i++) await store.queue.enqueue(job(`n${i}`, { keyId: null }), T0 + 10 + i);
        await store.queue.enqueue(job('c0', { keyId: 'kc' }), T0 + 20);
        await store.queue.enqueue(job('admin0', { keyId: 'admin' }), T0 + 21);
        // Each key's oldest once, oldest first (nobody runs anything yet), then round after round.
        assert.deepEqual(await claimMany(store.queue, 4, T0 + 30), ['a0', 'n0', 'c0', 'admin0']);
        assert.deepEqual(await claimMany(store.queue, 2, T0 + 30), ['a1', 'n1']);
        // A newcomer runs next, ahead of ka and the key-less ones, which run two each.
        await store.queue.enqueue(job('d0', { keyId: 'kd' }), T0 + 40);
        assert.equal((await claimOne(store.queue, 'w', T0 + 41)).ref.id, 'd0');
        // One of ka's ends: ka (1 running) goes before the key-less ones (2 running).
        const a0 = await store.queue.get('a0');
        assert.ok(a0);
        assert.equal(await store.queue.finish({ id: 'a0', owner: 'w', attempt: a0.attempts }, end, T0 + 42), true);
        assert.deepEqual(await claimMany(store.queue, 3, T0 + 43), ['a2', 'a3', 'n2'], 'then even (2 and 2): the oldest due');
      });
    });

    it("first in, first out within a key: acceptance order, a retry's run_at respected", async () => {
      await withStore(async ({ store }) => {
        for (let i = 0; i < 4; i++) await store.queue.enqueue(job(`a${i}`, { keyId: 'ka' }), T0 + i);
        await store.queue.enqueue(job('b0', { keyId: 'kb' }), T0 + 10);
        const first = await claimOne(store.queue, 'w', T0 + 20);
        assert.equal(first.ref.id, 'a0');
        // a0 fails and waits for its backoff: ka has nothing running, yet a0 is not due; ka's next is.
        assert.equal(await store.queue.retry(first.ref, { attempt: FAULT, runAt: T0 + 1000 }, T0 + 21), true);
        assert.deepEqual(await claimMany(store.queue, 3, T0 + 22), ['a1', 'b0', 'a2']);
        assert.deepEqual(await claimMany(store.queue, 1, T0 + 999), ['a3']);
        assert.equal(await store.queue.claim({ owner: 'w', leaseMs: LEASE, now: T0 + 999 }), undefined, 'a0 waits for its run_at');
        assert.equal(await store.queue.nextDue(), T0 + 1000);
        const again = await claimOne(store.queue, 'w', T0 + 1000);
        assert.deepEqual([again.ref.id, again.claimed.attempt], ['a0', 2]);
        // A key whose only queued invocation waits for a backoff does not stop the others.
        await store.queue.enqueue(job('c0', { keyId: 'kc' }), T0 + 1001);
        await store.queue.enqueue(job('c1', { keyId: 'kc' }), T0 + 1002);
        const c0 = await claimOne(store.queue, 'w', T0 + 1003);
        assert.equal(c0.ref.id, 'c0');
        assert.equal(await store.queue.release(c0.ref, T0 + 5000, T0 + 1004), true);
        assert.equal((await claimOne(store.queue, 'w', T0 + 1005)).ref.id, 'c1', 'a released one waits for its run_at too');
        assert.equal(await store.queue.claim({ owner: 'w', leaseMs: LEASE, now: T0 + 1006 }), undefined);
        assert.equal((await claimOne(store.queue, 'w', T0 + 5000)).ref.id, 'c0');
      });
    });

    it('claims on the index, without reading a backlog through', async () => {
      await withTempDir(async (dir) => {
        const db = new Database(join(dir, 'queue.db'));
        try {
          migrate(db, 'queue.db');
          const queue = sqliteQueue(new SqliteContext(db, 'queue.db', silentLogger), secretBox(TEST_KEY));
          for (let i = 0; i < 50; i++) await queue.enqueue(job(`a${i}`, { keyId: 'ka' }), T0 + i);
          await queue.enqueue(job('b0', { keyId: 'kb' }), T0 + 100);
          await queue.enqueue(job('n0', { keyId: null }), T0 + 101);
          // With and without the planner's statistics (the store runs PRAGMA optimize at close).
          for (const analyzed of [false, true]) {
            if (analyzed) db.exec('ANALYZE');
            const steps = new Set<string>();
            const explain = (sql: string) => {
              for (const row of db.prepare<unknown[], { detail: string }>(`EXPLAIN QUERY PLAN ${sql}`).all(T0, T0)) steps.add(row.detail);
            };
            explain(CLAIM_NEXT);
            const scans = [...steps].filter((d) => /^SCAN (?!t$|heads$|CONSTANT ROW$)/.test(d));
            assert.deepEqual(scans, [], `no scan of the table or an index (analyzed: ${analyzed}): ${[...steps].join(' | ')}`);
          }
        } finally {
          db.close();
        }
      });
    });
  });

  it('a release gives the invocation back without counting the attempt', async () => {
    await withStore(async ({ store }) => {
      await store.queue.enqueue(job('busy'), T0);
      const { ref } = await claimOne(store.queue);
      assert.equal(await store.queue.release(ref, T0 + 100, T0 + 1), true);
      const back = await store.queue.get('busy');
      assert.equal(back?.state, 'queued');
      assert.equal(back?.attempts, 0);
      assert.deepEqual(await store.queue.attempts('busy'), []);
      const again = await claimOne(store.queue, 'w1', T0 + 100);
      assert.equal(again.claimed.attempt, 1);
    });
  });

  it('leases: renewed only by their holder; an expired one is reclaimed, its attempt lost, its late result refused', async () => {
    await withStore(async ({ store }) => {
      await store.queue.enqueue(job('l', { maxAttempts: 2 }), T0);
      const { ref } = await claimOne(store.queue, 'w1', T0);
      assert.deepEqual(await store.queue.renew(ref, LEASE, T0 + 5000), { cancelRequested: false });
      assert.equal(await store.queue.renew({ ...ref, owner: 'w2' }, LEASE, T0 + 5000), undefined);
      assert.deepEqual(await store.queue.reclaim({ now: T0 + 5000 + LEASE - 1, retryDelayMs: () => 0 }), [], 'not expired yet');
      assert.deepEqual(await store.queue.reclaim({ now: T0 + 5000 + LEASE + 1, retryDelayMs: (n) => n * 100 }), ['l']);
      const back = await store.queue.get('l');
      assert.equal(back?.state, 'queued');
      assert.equal(back?.runAt, T0 + 5000 + LEASE + 1 + 100);
      assert.equal(await store.queue.renew(ref, LEASE, T0 + 20_000), undefined, 'the old lease is gone');
      const late = { state: 'succeeded' as const, attempt: OK, result: '{}', error: null, errorCode: null };
      assert.equal(await store.queue.finish(ref, late, T0 + 20_000), false, 'the old holder cannot report');
      // The second and last attempt is lost too, at start-up (every lease): dead.
      const second = await claimOne(store.queue, 'w2', T0 + 30_000);
      assert.equal(second.claimed.attempt, 2);
      assert.deepEqual(await store.queue.reclaim({ now: T0 + 30_001, all: true, retryDelayMs: () => 0 }), ['l']);
      const dead = await store.queue.get('l');
      assert.equal(dead?.state, 'dead');
      // Neither the function nor its sandbox failed: the platform did, and says which way.
      assert.equal(dead?.errorCode, 'FAAS_ERR_WORKER_LOST');
      assert.match(dead?.error ?? '', /the platform stopped while this attempt ran/);
      const lost = await store.queue.attempts('l');
      assert.deepEqual(
        lost.map((a) => [a.attempt, a.status, a.errorCode]),
        [
          [1, 'error', 'FAAS_ERR_WORKER_LOST'],
          [2, 'error', 'FAAS_ERR_WORKER_LOST'],
        ],
      );
      assert.match(lost[0]?.error ?? '', /stopped renewing its lease/, 'the first: its lease ran out');
      assert.match(lost[1]?.error ?? '', /the platform stopped while this attempt ran/, 'the second: taken back at a start');
    });
  });

  it('cancel: a queued invocation never runs; a running one is marked for its worker; a final one stays', async () => {
    await withStore(async ({ store }) => {
      await store.queue.enqueue(job('q'), T0);
      await store.queue.enqueue(job('r'), T0 + 1);
      const cancelled = await store.queue.cancel('q', T0 + 2);
      assert.equal(cancelled?.state, 'cancelled');
      assert.equal(cancelled?.finishedAt, T0 + 2);
      const { ref } = await claimOne(store.queue, 'w', T0 + 3);
      assert.equal(ref.id, 'r', 'the cancelled one is never claimed');
      const marked = await store.queue.cancel('r', T0 + 4);
      assert.equal(marked?.state, 'running');
      assert.equal(marked?.cancelRequested, true);
      assert.deepEqual(await store.queue.renew(ref, LEASE, T0 + 5), { cancelRequested: true });
      const end: AttemptEnd = { status: 'cancelled', exitCode: null, error: 'killed', errorCode: null };
      await store.queue.finish(ref, { state: 'cancelled', attempt: end, result: null, error: 'killed', errorCode: null }, T0 + 6);
      assert.equal((await store.queue.cancel('r', T0 + 7))?.state, 'cancelled');
      assert.equal(await store.queue.cancel('nope', T0), undefined);
    });
  });

  it('dead letters: listed newest first in pages, re-driven with new attempts, or discarded', async () => {
    await withStore(async ({ store }) => {
      for (const [i, id] of ['d1', 'd2', 'd3'].entries()) {
        await store.queue.enqueue(job(id, { maxAttempts: 1, functionId: i === 2 ? 'other' : 'echo' }), T0 + i);
        const { ref } = await claimOne(store.queue, 'w', T0 + 10 + i);
        const dead = { state: 'dead' as const, attempt: FAULT, result: null, error: FAULT.error, errorCode: FAULT.errorCode };
        assert.equal(await store.queue.finish(ref, dead, T0 + 100 + i), true);
      }
      const first = await store.queue.listDead({ limit: 2 });
      assert.deepEqual(
        first.items.map((j) => j.id),
        ['d3', 'd2'],
      );
      assert.ok(first.nextCursor);
      const second = await store.queue.listDead({ limit: 2, cursor: first.nextCursor });
      assert.deepEqual(
        second.items.map((j) => j.id),
        ['d1'],
      );
      assert.equal(second.nextCursor, null);
      assert.deepEqual(
        (await store.queue.listDead({ limit: 10, functionId: 'other' })).items.map((j) => j.id),
        ['d3'],
      );
      await assert.rejects(store.queue.listDead({ limit: 10, cursor: 'bm90LWEtY3Vyc29y' }), hasCode('FAAS_ERR_INVALID_QUERY'));
      assert.deepEqual(await store.queue.stats(), { queued: 0, running: 0, dead: 3, oldestQueuedAt: null });

      const redriven = await store.queue.redrive('d1', 2, T0 + 200);
      assert.equal(redriven?.state, 'queued');
      assert.equal(redriven?.maxAttempts, 3, 'one attempt used, two new ones');
      assert.equal(redriven?.errorCode, null);
      assert.equal(await store.queue.redrive('d1', 2, T0 + 201), undefined, 'no longer dead');
      const { claimed } = await claimOne(store.queue, 'w', T0 + 300);
      assert.equal(claimed.job.id, 'd1');
      assert.equal(claimed.attempt, 2);
      assert.ok(claimed.request.includes('aGVsbG8='), 'the dead letter kept its request');

      assert.equal(await store.queue.discard('d2', T0 + 400), true);
      assert.equal(await store.queue.discard('d2', T0 + 401), false);
      assert.equal((await store.queue.get('d2'))?.state, 'failed');
      assert.equal(await store.queue.redrive('d2', 1, T0 + 402), undefined);
      assert.deepEqual(
        (await store.queue.listDead({ limit: 10 })).items.map((j) => j.id),
        ['d3'],
      );
    });
  });

  it('refuses an acceptance or a redrive beyond maxQueued before writing anything; a kept idempotency key still answers', async () => {
    await withStore(async ({ store }) => {
      const idem = { scope: 'k1', key: 'order-1', expiresAt: T0 + 60_000 };
      await store.queue.enqueue(job('q1', { maxQueued: 2, idempotency: idem }), T0);
      await store.queue.enqueue(job('q2', { maxQueued: 2 }), T0 + 1);
      await assert.rejects(
        store.queue.enqueue(job('q3', { maxQueued: 2, idempotency: { ...idem, key: 'order-2' } }), T0 + 2),
        (e: unknown) => hasCode('FAAS_ERR_QUEUE_FULL')(e) && /2 asynchronous invocations are waiting/.test((e as Error).message),
      );
      assert.equal(await store.queue.get('q3'), undefined, 'nothing written');
      // The refused key was not taken: once there is room, it makes its own invocation.
      const replay = await store.queue.enqueue(job('q1-again', { maxQueued: 2, idempotency: idem }), T0 + 3);
      assert.deepEqual([replay.job.id, replay.created], ['q1', false], 'a kept key answers its invocation, however full the queue');
      // A running or a retrying one: only what waits in the queue counts.
      const { ref } = await claimOne(store.queue, 'w1', T0 + 4);
      const third = await store.queue.enqueue(job('q3', { maxQueued: 2, idempotency: { ...idem, key: 'order-2' } }), T0 + 5);
      assert.equal(third.created, true);
      assert.equal(await store.queue.retry(ref, { attempt: FAULT, runAt: T0 + 60_000 }, T0 + 6), true);
      await assert.rejects(store.queue.enqueue(job('q4', { maxQueued: 3 }), T0 + 7), hasCode('FAAS_ERR_QUEUE_FULL'));
      assert.equal((await store.queue.stats()).queued, 3);
      assert.equal((await store.queue.enqueue(job('q4'), T0 + 8)).created, true, 'without a bound, no bound');

      // A dead letter is queued again only while there is room.
      const dead = await claimOne(store.queue, 'w1', T0 + 60_000);
      const end = { state: 'dead' as const, attempt: FAULT, result: null, error: 'lost', errorCode: FAULT.errorCode };
      assert.equal(await store.queue.finish(dead.ref, end, T0 + 60_001), true);
      await assert.rejects(store.queue.redrive(dead.ref.id, 1, T0 + 60_002, { maxQueued: 3 }), hasCode('FAAS_ERR_QUEUE_FULL'));
      assert.equal((await store.queue.get(dead.ref.id))?.state, 'dead', 'still dead');
      assert.equal((await store.queue.redrive(dead.ref.id, 1, T0 + 60_003, { maxQueued: 4 }))?.state, 'queued');
      assert.equal(await store.queue.redrive('q2', 1, T0 + 60_004, { maxQueued: 1 }), undefined, 'not dead: no dead letter, full or not');
    });
  });

  it("refuses an acceptance beyond a key's share of the queue (maxQueuedPerKey), other keys and key-less ones unaffected", async () => {
    await withStore(async ({ store }) => {
      await store.queue.enqueue(job('a1', { keyId: 'ka', maxQueuedPerKey: 2 }), T0);
      await store.queue.enqueue(job('a2', { keyId: 'ka', maxQueuedPerKey: 2 }), T0 + 1);
      await assert.rejects(
        store.queue.enqueue(job('a3', { keyId: 'ka', maxQueuedPerKey: 2 }), T0 + 2),
        (e: unknown) =>
          hasCode('FAAS_ERR_QUEUE_FULL')(e) && /this API key has 2 asynchronous invocations waiting/.test((e as Error).message),
      );
      assert.equal(await store.queue.get('a3'), undefined, 'nothing written');
      assert.equal(
        (await store.queue.enqueue(job('b1', { keyId: 'kb', maxQueuedPerKey: 2 }), T0 + 3)).created,
        true,
        'another key has its own share',
      );
      assert.equal((await store.queue.enqueue(job('n1', { keyId: null, maxQueuedPerKey: 1 }), T0 + 4)).created, true, 'no key, no share');
      // Only what waits counts: once one of ka's runs, ka may queue one more.
      let claimed = await claimOne(store.queue, 'w1', T0 + 5);
      while (claimed.ref.id !== 'a1') claimed = await claimOne(store.queue, 'w1', T0 + 5);
      assert.equal((await store.queue.enqueue(job('a3', { keyId: 'ka', maxQueuedPerKey: 2 }), T0 + 6)).created, true);
    });
  });

  it('a final state with a callback URL is marked callback-pending by the write that ends it, until the delivery is handed over', async () => {
    await withStore(async ({ store, reopen }) => {
      const hook = 'https://hooks.example/done';
      for (const [i, id] of ['c1', 'c2', 'c3', 'c4', 'c5'].entries())
        await store.queue.enqueue(job(id, { callbackUrl: id === 'c2' ? null : hook, maxAttempts: 1 }), T0 + i);
      const ok = { state: 'succeeded' as const, attempt: OK, result: '{}', error: null, errorCode: null };
      // c1 succeeds, c2 (no callback URL) too, c3 is cancelled while queued, c4 is left running by a
      // process that died and is reclaimed dead (its one attempt used), c5 is still queued.
      const c1 = await claimOne(store.queue, 'w1', T0 + 10);
      const c2 = await claimOne(store.queue, 'w1', T0 + 11);
      assert.deepEqual([c1.ref.id, c2.ref.id], ['c1', 'c2']);
      assert.equal(await store.queue.finish(c1.ref, ok, T0 + 12), true);
      assert.equal(await store.queue.finish(c2.ref, ok, T0 + 12), true);
      assert.equal((await store.queue.cancel('c3', T0 + 13))?.state, 'cancelled');
      assert.equal((await claimOne(store.queue, 'dead-process', T0 + 14)).ref.id, 'c4');
      assert.deepEqual(await store.queue.reclaim({ all: true, now: T0 + 15, retryDelayMs: () => 0 }), ['c4']);
      assert.equal((await store.queue.get('c4'))?.state, 'dead');
      const pending = async (options: { after?: string; limit: number } = { limit: 100 }) =>
        (await store.queue.callbacksPending(options)).map((j) => [j.id, j.state, j.attempts, j.callbackUrl]);
      assert.deepEqual(await pending(), [
        ['c1', 'succeeded', 1, hook],
        ['c3', 'cancelled', 0, hook],
        ['c4', 'dead', 1, hook],
      ]);
      assert.deepEqual(await pending({ limit: 1 }), [['c1', 'succeeded', 1, hook]]);
      assert.deepEqual(await pending({ after: 'c1', limit: 1 }), [['c3', 'cancelled', 0, hook]]);

      // The mark survives a crash (a reopen without anything else written).
      const again = reopen();
      assert.equal((await again.queue.callbacksPending({ limit: 100 })).length, 3);
      assert.equal(await again.queue.callbackHanded('c1', 2, T0 + 16), false, 'another attempt: not this final state');
      assert.equal(await again.queue.callbackHanded('c1', 1, T0 + 16), true);
      assert.equal(await again.queue.callbackHanded('c1', 1, T0 + 17), false, 'handed once');
      assert.equal(await again.queue.callbackHanded('c5', 0, T0 + 17), false, 'not ended: nothing to hand');
      assert.deepEqual(
        (await again.queue.callbacksPending({ limit: 100 })).map((j) => j.id),
        ['c3', 'c4'],
      );
      // A redriven dead letter is not pending while it runs; its next end is marked again.
      assert.equal((await again.queue.redrive('c4', 1, T0 + 18))?.state, 'queued');
      assert.deepEqual(
        (await again.queue.callbacksPending({ limit: 100 })).map((j) => j.id),
        ['c3'],
      );
    });
  });

  it("keeps how an invocation's callback delivery stands: pending from its acceptance, then as reported for its end", async () => {
    await withStore(async ({ store, reopen }) => {
      const hook = 'https://hooks.example/done';
      const pending = { state: 'pending', attempts: 0, lastError: null, lastStatus: null, deliveredAt: null };
      const { job: accepted } = await store.queue.enqueue(job('d1', { callbackUrl: hook, maxAttempts: 1 }), T0);
      assert.deepEqual(accepted.callback, pending);
      assert.deepEqual((await store.queue.get('d1'))?.callback, pending);
      await store.queue.enqueue(job('d2'), T0 + 1);
      assert.equal((await store.queue.get('d2'))?.callback, null, 'no callback URL, no delivery');
      assert.equal((await store.queue.cancel('d2', T0 + 1))?.callback, null);

      const ok = { state: 'succeeded' as const, attempt: OK, result: '{}', error: null, errorCode: null };
      const d1 = await claimOne(store.queue, 'w1', T0 + 2);
      const retrying = { state: 'pending' as const, attempts: 1, lastError: 'answered 503', lastStatus: 503, deliveredAt: null };
      assert.equal(await store.queue.callbackProgress('d1', 1, retrying, T0 + 3), false, 'not ended yet: nothing to report');
      assert.equal(await store.queue.finish(d1.ref, ok, T0 + 4), true);
      assert.equal(await store.queue.callbackProgress('d1', 2, retrying, T0 + 5), false, 'another end');
      assert.equal(await store.queue.callbackProgress('d1', 1, retrying, T0 + 5), true);
      assert.deepEqual((await store.queue.get('d1'))?.callback, retrying);
      const delivered = { state: 'delivered' as const, attempts: 2, lastError: null, lastStatus: 204, deliveredAt: T0 + 6 };
      assert.equal(await store.queue.callbackProgress('d1', 1, delivered, T0 + 6), true);
      // An ended delivery stays as it ended: a late or repeated report of the same end is dropped.
      assert.equal(await store.queue.callbackProgress('d1', 1, retrying, T0 + 7), false);
      assert.equal(await store.queue.callbackProgress('d1', 1, { ...delivered, state: 'failed' }, T0 + 7), false);
      assert.equal(await store.queue.callbackProgress('d2', 0, delivered, T0 + 7), false, 'no callback URL');
      await assert.rejects(
        store.queue.callbackProgress('d1', 1, { ...delivered, state: 'lost' as 'failed' }),
        /not a callback state: lost/,
      );
      await store.close();
      const again = reopen();
      assert.deepEqual((await again.queue.get('d1'))?.callback, delivered, 'kept across a reopen');

      // Refused, dead, then redriven: the callback of its next end is pending again.
      await again.queue.enqueue(job('d3', { callbackUrl: 'http://inside.test/', maxAttempts: 1 }), T0 + 10);
      const d3 = await claimOne(again.queue, 'w1', T0 + 11);
      assert.equal(d3.ref.id, 'd3');
      const dead = { state: 'dead' as const, attempt: FAULT, result: null, error: FAULT.error, errorCode: FAULT.errorCode };
      assert.equal(await again.queue.finish(d3.ref, dead, T0 + 12), true);
      const refused = {
        state: 'refused' as const,
        attempts: 1,
        lastError: 'inside.test resolves to a loopback address (127.0.0.1), which callbacks may not reach',
        lastStatus: null,
        deliveredAt: null,
      };
      assert.equal(await again.queue.callbackProgress('d3', 1, refused, T0 + 13), true);
      assert.deepEqual((await again.queue.get('d3'))?.callback, refused);
      assert.equal((await again.queue.redrive('d3', 1, T0 + 14))?.callback?.state, 'pending');
      assert.deepEqual((await again.queue.get('d3'))?.callback, pending);
      const redriven = await claimOne(again.queue, 'w1', T0 + 15);
      assert.equal(redriven.claimed.job.callback?.state, 'pending');
    });
  });

  it('commits an acceptance and a redrive with an fsync (synchronous=FULL for that transaction only); the connection stays NORMAL', async () => {
    await withTempDir(async (dir) => {
      const db = new Database(join(dir, 'queue.db'));
      try {
        db.pragma('journal_mode = WAL');
        db.pragma('synchronous = NORMAL');
        migrate(db, 'queue.db');
        const queue = sqliteQueue(new SqliteContext(db, 'queue.db', silentLogger), secretBox(TEST_KEY));
        assert.equal(db.pragma('synchronous', { simple: true }), 1, 'building the queue leaves the connection as it was');
        const levels: unknown[] = [];
        const pragma = db.pragma.bind(db);
        db.pragma = ((source: string, options?: Database.PragmaOptions) => {
          if (source.startsWith('synchronous =')) levels.push([source, db.inTransaction]);
          return pragma(source, options);
        }) as typeof db.pragma;
        const backToNormal = () => {
          levels.length = 0;
          assert.equal(db.pragma('synchronous', { simple: true }), 1);
        };
        await queue.enqueue(job('d1', { maxAttempts: 1 }), T0);
        assert.deepEqual(levels, [
          ['synchronous = FULL', false],
          ['synchronous = 1', false],
        ]);
        backToNormal();
        const { ref } = await claimOne(queue, 'w', T0 + 1);
        await queue.finish(ref, { state: 'dead', attempt: FAULT, result: null, error: 'lost', errorCode: FAULT.errorCode }, T0 + 2);
        assert.deepEqual(levels, [], 'a claim and a final state commit without an fsync');
        await queue.redrive('d1', 1, T0 + 3);
        assert.equal(levels.length, 2);
        backToNormal();
      } finally {
        db.close();
      }
    });
  });

  it('counts queued, running and dead, and the oldest queued', async () => {
    await withStore(async ({ store }) => {
      assert.deepEqual(await store.queue.stats(), { queued: 0, running: 0, dead: 0, oldestQueuedAt: null });
      await store.queue.enqueue(job('s1'), T0);
      await store.queue.enqueue(job('s2'), T0 + 7);
      await store.queue.enqueue(job('s3'), T0 + 9);
      await claimOne(store.queue, 'w', T0 + 10);
      assert.deepEqual(await store.queue.stats(), { queued: 2, running: 1, dead: 0, oldestQueuedAt: T0 + 7 });
    });
  });

  it('prunes invocations that ended before the cutoff (dead ones stay) and expired idempotency keys', async () => {
    await withStore(async ({ store }) => {
      const idem = { scope: 'k1', key: 'once', expiresAt: T0 + 50 };
      await store.queue.enqueue(job('old', { idempotency: idem }), T0);
      await store.queue.enqueue(job('dead', { maxAttempts: 1 }), T0 + 1);
      await store.queue.enqueue(job('waiting'), T0 + 2);
      const a = await claimOne(store.queue, 'w', T0 + 3);
      await store.queue.finish(a.ref, { state: 'succeeded', attempt: OK, result: '{}', error: null, errorCode: null }, T0 + 4);
      const b = await claimOne(store.queue, 'w', T0 + 5);
      await store.queue.finish(b.ref, { state: 'dead', attempt: FAULT, result: null, error: 'x', errorCode: 'FAAS_ERR_INTERNAL' }, T0 + 6);
      assert.equal(await store.queue.prune({ finishedBefore: T0 + 100, now: T0 + 100 }), 2, 'one invocation, one key');
      assert.equal(await store.queue.get('old'), undefined);
      assert.deepEqual(await store.queue.attempts('old'), [], 'its attempts go with it');
      assert.equal((await store.queue.get('dead'))?.state, 'dead');
      assert.equal((await store.queue.get('waiting'))?.state, 'queued');
    });
  });

  it('functions keep their retry settings', async () => {
    await withStore(async ({ store }) => {
      const created = await store.functions.create(functionInput('r', { maxAttempts: 5, retryOnFailure: true }));
      assert.equal(created.maxAttempts, 5);
      assert.equal(created.retryOnFailure, true);
      const patched = await store.functions.update('r', { maxAttempts: null });
      assert.equal(patched.maxAttempts, null);
      assert.equal(patched.retryOnFailure, true, 'kept when absent from the patch');
      const plain = await store.functions.create(functionInput('plain'));
      assert.equal(plain.maxAttempts, null);
      assert.equal(plain.retryOnFailure, false);
      assert.equal(plain.callbackUrl, null);
      const hooked = await store.functions.update('plain', { callbackUrl: 'https://hooks.example/done' });
      assert.equal(hooked.callbackUrl, 'https://hooks.example/done');
      assert.equal((await store.functions.update('plain', { description: 'x' })).callbackUrl, 'https://hooks.example/done');
    });
  });
});
