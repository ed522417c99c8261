import assert from 'node:assert/strict';
import { it } from 'node:test';
import { FaasError } from '@faas/common';
import { ConcurrencyLimiter } from './limiter.js';

it('runs up to the limit, queues up to the queue size, and refuses beyond with FAAS_ERR_SATURATED', async () => {
  const limiter = new ConcurrencyLimiter(2, 1);
  const a = await limiter.acquire();
  const b = await limiter.acquire();
  let queuedRan = false;
  const queued = limiter.acquire().then((release) => {
    queuedRan = true;
    return release;
  });
  await assert.rejects(limiter.acquire(), (e: unknown) => e instanceof FaasError && e.code === 'FAAS_ERR_SATURATED');
  assert.equal(limiter.active, 2);
  assert.equal(limiter.waiting, 1);
  a();
  a(); // releasing twice must not free a second slot
  const c = await queued;
  assert.ok(queuedRan);
  assert.equal(limiter.active, 2);
  b();
  c();
  assert.equal(limiter.active, 0);
});

it('drops a waiter whose caller went away, and fails all waiters at shutdown', async () => {
  const limiter = new ConcurrencyLimiter(1, 5);
  const held = await limiter.acquire();
  const gone = new AbortController();
  const abandoned = limiter.acquire(gone.signal);
  const other = limiter.acquire();
  gone.abort(new Error('client left'));
  await assert.rejects(abandoned, /client left/);
  assert.equal(limiter.waiting, 1);
  limiter.rejectWaiting(new FaasError('FAAS_ERR_SHUTTING_DOWN'));
  await assert.rejects(other, (e: unknown) => e instanceof FaasError && e.code === 'FAAS_ERR_SHUTTING_DOWN');
  held();
  assert.equal(limiter.active, 0);
});
