import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig, silentLogger } from '@faas/common';
import { FakeExecutor } from '@faas/executor';
import { SandboxPool } from './pool.js';

const limits = loadConfig({}, 2).defaultLimits;
const spec = (functionId: string) => ({ functionId, image: 'faas/busybox:latest', limits });
const settle = () => new Promise((r) => setTimeout(r, 5));

function pool(executor: FakeExecutor, maxIdle: number, minIdle = 0) {
  return new SandboxPool(executor, { mode: 'reuse', minIdle, maxIdle, idleMs: 60_000, refillConcurrency: 2, logger: silentLogger });
}

test('reuse: a function gets its own sandbox back, never another function', async () => {
  const executor = new FakeExecutor();
  const p = pool(executor, 4);
  const a = await p.acquire(spec('a'));
  await p.release(a, true);
  assert.equal((await p.acquire(spec('a'))).id, a.id);
  const b = await p.acquire(spec('b'));
  assert.notEqual(b.id, a.id);
  await p.close();
});

test('at the idle cap, the least recently used idle sandbox is evicted for a function being called', async () => {
  const executor = new FakeExecutor();
  const p = pool(executor, 2);
  for (const id of ['a', 'b']) await p.release(await p.acquire(spec(id)), true);
  await settle();
  assert.equal(p.stats.idle, 2);
  // A third function: its sandbox is kept after the call, and a's (least recently used) goes.
  const c = await p.acquire(spec('c'));
  await p.release(c, true);
  await settle();
  assert.equal(p.stats.idle, 2);
  assert.equal(p.stats.evictions, 1);
  assert.equal((await p.acquire(spec('c'))).id, c.id, 'c keeps its warm sandbox');
  assert.ok(executor.events.some((e) => e.op === 'destroy' && e.functionId === 'a'));
  assert.ok(!executor.events.some((e) => e.op === 'destroy' && e.functionId === 'b'));
  await p.close();
});

test('an unhealthy sandbox (timed out, cancelled) is destroyed, never reset', async () => {
  const executor = new FakeExecutor();
  const p = pool(executor, 4);
  const a = await p.acquire(spec('a'));
  await p.release(a, false);
  assert.deepEqual(
    executor.events.map((e) => e.op),
    ['acquire', 'destroy'],
  );
  await p.close();
});

test('close destroys every idle sandbox', async () => {
  const executor = new FakeExecutor();
  const p = pool(executor, 4, 2);
  await p.release(await p.acquire(spec('a')), true);
  await settle();
  await p.close();
  assert.equal(executor.live.size, 0);
});

test('a spare that cannot be started stops the refills of its key for a while', async () => {
  let attempts = 0;
  const executor = new FakeExecutor();
  const acquire = executor.acquire.bind(executor);
  executor.acquire = async (spec, signal) => {
    if (!spec.oneShot) {
      attempts++;
      throw new Error('no such image');
    }
    return acquire(spec, signal);
  };
  const p = new SandboxPool(executor, {
    mode: 'single-use',
    minIdle: 2,
    maxIdle: 8,
    idleMs: 60_000,
    refillConcurrency: 2,
    logger: silentLogger,
  });
  for (let i = 0; i < 5; i++) await p.release(await p.acquire(spec('a')), true);
  await settle();
  assert.equal(attempts, 2, 'only the first refill tried, with its two spares');
  await p.close();
});
