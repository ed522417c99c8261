import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
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

describe('reuse: a function holds minIdle sandboxes in all, the one in use or being reset counted', () => {
  const created = (executor: FakeExecutor) => executor.events.filter((e) => e.op === 'acquire').length;
  /** N calls in a row, each released (reset) before the next, with time for refills in between. */
  async function serial(p: SandboxPool, functionIds: string[], calls: number): Promise<void> {
    for (let i = 0; i < calls; i++) {
      await p.release(await p.acquire(spec(functionIds[i % functionIds.length] as string)), true);
      await settle();
    }
  }

  for (const minIdle of [1, 2]) {
    test(`minIdle ${minIdle}: serial calls start ${minIdle} sandbox(es) and keep ${minIdle} idle, no more`, async () => {
      const executor = new FakeExecutor();
      const p = pool(executor, 8, minIdle);
      await serial(p, ['a'], 10);
      assert.equal(created(executor), minIdle, 'sandboxes started for one function called serially');
      assert.equal(p.stats.idle, minIdle);
      assert.equal(executor.live.size, minIdle);
      await p.close();
    });
  }

  test('no spare is started for a sandbox that is being reset: it is about to come back', async () => {
    const executor = new FakeExecutor();
    let resets = 0;
    executor.release = async () => {
      resets++;
      await new Promise((r) => setTimeout(r, 30));
    };
    const p = pool(executor, 8, 1);
    await serial(p, ['a'], 3);
    assert.equal(resets, 3);
    assert.equal(created(executor), 1);
    await p.close();
  });

  test('two functions at a small idle cap: their sandboxes fit, none is evicted', async () => {
    const executor = new FakeExecutor();
    // Each function holds one sandbox: two fit under a cap of 3, whatever order they are called in.
    const p = pool(executor, 3, 1);
    await serial(p, ['a', 'b'], 40);
    assert.equal(p.stats.evictions, 0, "evictions: the functions took each other's sandboxes");
    assert.equal(created(executor), 2);
    assert.equal(p.stats.idle, 2);
    await p.close();
  });

  test('a sandbox that is not kept (failed, reset refused) is replaced', async () => {
    const executor = new FakeExecutor();
    const p = pool(executor, 8, 1);
    await serial(p, ['a'], 2);
    const first = await p.acquire(spec('a'));
    await p.release(first, false);
    await settle();
    assert.ok(!executor.live.has(first.id));
    assert.equal(p.stats.idle, 1, 'a replacement was started');
    executor.release = async () => {
      throw new Error('reset failed');
    };
    const second = await p.acquire(spec('a'));
    await p.release(second, true);
    await settle();
    assert.ok(!executor.live.has(second.id));
    assert.equal(p.stats.idle, 1, 'a replacement was started after the failed reset');
    await p.close();
  });

  test('single-use is unchanged: every call consumes its sandbox and the spare is replaced', async () => {
    const executor = new FakeExecutor();
    const p = new SandboxPool(executor, {
      mode: 'single-use',
      minIdle: 1,
      maxIdle: 8,
      idleMs: 60_000,
      refillConcurrency: 2,
      logger: silentLogger,
    });
    await serial(p, ['a'], 5);
    // The first call's own one-shot sandbox, then one spare per call, the last one idle.
    assert.equal(created(executor), 6);
    assert.equal(p.stats.idle, 1);
    assert.equal(p.stats.hits, 4);
    await p.close();
  });
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

test('single-use: a miss waits for a spare already being started instead of starting one more', async () => {
  const executor = new FakeExecutor({ acquireMs: 40 });
  const p = new SandboxPool(executor, {
    mode: 'single-use',
    minIdle: 1,
    maxIdle: 8,
    idleMs: 60_000,
    refillConcurrency: 2,
    logger: silentLogger,
  });
  p.prewarm(spec('a'));
  await new Promise((r) => setTimeout(r, 60));
  const first = await p.acquire(spec('a'));
  // Its release starts the next spare; the next invocation arrives while that spare starts.
  const released = p.release(first, true);
  const second = await p.acquire(spec('b'));
  await released;
  const acquires = executor.events.filter((e) => e.op === 'acquire');
  assert.equal(acquires.length, 2, 'the prewarmed spare and its replacement: no cold start');
  assert.ok(!acquires.some((e) => e.oneShot), 'no one-shot sandbox');
  assert.equal(second.id, acquires[1]?.sandbox);
  assert.deepEqual({ hits: p.stats.hits, misses: p.stats.misses }, { hits: 2, misses: 0 });
  await p.release(second, true);
  await p.close();
});

test('single-use: a spare that fails to start sends its waiter to start its own at once', async () => {
  let fail = false;
  const executor = new FakeExecutor({ acquireMs: 30, acquireFault: (s) => (fail && !s.oneShot ? new Error('engine fault') : undefined) });
  const p = new SandboxPool(executor, {
    mode: 'single-use',
    minIdle: 1,
    maxIdle: 8,
    idleMs: 60_000,
    refillConcurrency: 2,
    logger: silentLogger,
  });
  p.prewarm(spec('a'));
  await new Promise((r) => setTimeout(r, 50));
  const first = await p.acquire(spec('a'));
  fail = true;
  const released = p.release(first, true);
  const started = performance.now();
  const second = await p.acquire(spec('a'));
  await released;
  assert.ok(performance.now() - started < 500, 'not left waiting for the failed spare');
  assert.equal(second.reusable, false, 'its own one-shot sandbox');
  await p.release(second, true);
  await p.close();
});

test('a refill goes on until the key has minIdle spares, refillConcurrency at a time', async () => {
  const executor = new FakeExecutor({ acquireMs: 5 });
  const p = new SandboxPool(executor, {
    mode: 'single-use',
    minIdle: 7,
    maxIdle: 16,
    idleMs: 60_000,
    refillConcurrency: 2,
    logger: silentLogger,
  });
  p.prewarm(spec('a'));
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(p.stats.idle, 7);
  await p.close();
});

describe('an image name that comes to name another image (re-tagged, rebuilt)', () => {
  const options = (mode: 'single-use' | 'reuse', minIdle: number) => ({
    mode,
    minIdle,
    maxIdle: 8,
    idleMs: 60_000,
    refillConcurrency: 2,
    logger: silentLogger,
  });

  test('single-use: idle spares of the old image are destroyed and never handed out', async () => {
    const executor = new FakeExecutor();
    const p = new SandboxPool(executor, options('single-use', 2));
    executor.watch((event) => event.type === 'image-changed' && p.onImageChanged(event.image));
    p.prewarm(spec('a'));
    await settle();
    const old = [...executor.live.values()];
    assert.equal(old.length, 2);
    executor.retag('faas/busybox:latest');
    for (let i = 0; i < 3; i++) {
      const sandbox = await p.acquire(spec('a'));
      assert.equal(executor.startedFromVersion(sandbox), 1, 'started from the image the name names now');
      await p.release(sandbox, true);
    }
    await settle();
    for (const sandbox of old) assert.ok(!executor.live.has(sandbox.id), `old spare ${sandbox.id} destroyed`);
    assert.equal(p.stats.stale, 2);
    await p.close();
  });

  test('a spare being started when the name changes is destroyed once ready, and its waiter served anew', async () => {
    const executor = new FakeExecutor({ acquireMs: 40 });
    const p = new SandboxPool(executor, options('single-use', 1));
    p.prewarm(spec('a'));
    await new Promise((r) => setTimeout(r, 10));
    executor.retag('faas/busybox:latest');
    p.onImageChanged('faas/busybox:latest');
    const sandbox = await p.acquire(spec('a'));
    assert.equal(executor.startedFromVersion(sandbox), 1);
    await p.release(sandbox, true);
    await new Promise((r) => setTimeout(r, 100));
    for (const spare of executor.live.values()) assert.equal(executor.startedFromVersion(spare), 1, 'no spare of the old image is kept');
    assert.ok(p.stats.stale >= 1);
    await p.close();
  });

  test('reuse: a sandbox in use when the name changes is destroyed after its invocation, not kept', async () => {
    const executor = new FakeExecutor();
    const p = new SandboxPool(executor, options('reuse', 0));
    const first = await p.acquire(spec('a'));
    executor.retag('faas/busybox:latest');
    p.onImageChanged('faas/busybox:latest');
    await p.release(first, true);
    assert.ok(!executor.live.has(first.id), 'destroyed instead of reset');
    const next = await p.acquire(spec('a'));
    assert.notEqual(next.id, first.id);
    assert.equal(executor.startedFromVersion(next), 1);
    await p.release(next, true);
    assert.equal((await p.acquire(spec('a'))).id, next.id, 'a sandbox of the new image is kept as before');
    await p.close();
  });

  test("a removed image's key is not 'rebuilding' while its spares cannot be started, and refills once the name is back", async () => {
    let gone = false;
    const executor = new FakeExecutor({ acquireFault: (s) => (gone && !s.oneShot ? new Error('no such image') : undefined) });
    const p = new SandboxPool(executor, options('single-use', 1));
    p.prewarm(spec('a'));
    await settle();
    assert.equal(executor.live.size, 1);
    gone = true;
    p.onImageChanged('faas/busybox:latest');
    // An engine restart meanwhile: the pool rebuilds every key in use, and this one cannot be.
    p.onBackendDown();
    p.onBackendUp();
    await settle();
    assert.equal(p.stats.idle, 0);
    assert.equal(p.stats.rebuilding, false, 'nothing can be rebuilt while the image is gone');
    gone = false;
    p.onImageChanged('faas/busybox:latest');
    await settle();
    assert.equal(p.stats.idle, 1, 'the name is back: spares are started at once, not after the back-off');
    await p.close();
  });

  test('other images keep their spares', async () => {
    const executor = new FakeExecutor();
    const p = new SandboxPool(executor, options('single-use', 1));
    p.prewarm(spec('a'));
    p.prewarm({ ...spec('b'), image: 'faas/python:latest' });
    await settle();
    const python = [...executor.live.values()].find((s) => s.spec.image === 'faas/python:latest');
    assert.ok(python);
    p.onImageChanged('faas/busybox:latest');
    await settle();
    assert.ok(executor.live.has(python.id));
    assert.equal((await p.acquire({ ...spec('b'), image: 'faas/python:latest' })).id, python.id);
    await p.close();
  });
});
