/**
 * The policy side of sandboxes that die on their own, against the fake executor: dead spares are
 * never handed out, an invocation whose sandbox died before its command started runs on another
 * without the caller seeing a fault, one that died mid-run is a fault with `started`, and pools
 * are rebuilt after the backend comes back.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FaasError, type Invocation, isFaasError, loadConfig, silentLogger } from '@faas/common';
import { FakeExecutor, facts, faultStarted, sandboxLost, startRefused } from '@faas/executor';
import { Orchestrator } from './orchestrator.js';
import { SandboxPool } from './pool.js';

function setup(env: Record<string, string>, executor: FakeExecutor) {
  const config = loadConfig({ FAAS_MAX_CONCURRENCY: '2', FAAS_MAX_QUEUE: '2', FAAS_POOL_MIN_IDLE: '0', ...env }, 2);
  const orchestrator = new Orchestrator({ config, executors: new Map([['docker', executor]]) });
  const invocation = (id: string, extra: Partial<Invocation> = {}): Invocation => ({
    id,
    functionId: 'f',
    image: 'faas/busybox:latest',
    command: ['echo', id],
    env: [],
    stdin: Buffer.alloc(0),
    limits: config.defaultLimits,
    timeoutMs: 5000,
    executor: 'docker',
    ...extra,
  });
  return { orchestrator, invocation, config };
}

async function until(what: string, check: () => boolean, withinMs = 2000): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`never: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const limits = loadConfig({}, 2).defaultLimits;
const spec = { functionId: 'f', image: 'faas/busybox:latest', limits };

function pool(executor: FakeExecutor, minIdle: number) {
  return new SandboxPool(executor, { mode: 'single-use', minIdle, maxIdle: 8, idleMs: 60_000, refillConcurrency: 2, logger: silentLogger });
}

test('a spare reported dead is dropped and replaced at once, and never handed out', async () => {
  const executor = new FakeExecutor();
  const { orchestrator, invocation } = setup({ FAAS_POOL_MODE: 'single-use', FAAS_POOL_MIN_IDLE: '1' }, executor);
  await orchestrator.start();
  await (await orchestrator.invoke(invocation('first'))).released;
  await until('a spare is ready', () => orchestrator.poolStats['docker/single-use']?.idle === 1);
  const spare = [...executor.live.values()][0];
  assert.ok(spare);
  executor.kill(spare);
  await until('the dead spare is replaced', () => {
    const stats = orchestrator.poolStats['docker/single-use'];
    return stats?.lost === 1 && stats.idle === 1 && !executor.live.has(spare.id);
  });
  const outcome = await orchestrator.invoke(invocation('second'));
  assert.equal(outcome.status, 'completed');
  assert.ok(!executor.events.some((e) => e.op === 'invoke' && e.sandbox === spare.id), 'the dead spare ran an invocation');
  await orchestrator.drain(1000);
});

test('a spare that died without a word is found dead before it is handed out', async () => {
  const executor = new FakeExecutor();
  const p = pool(executor, 1);
  p.prewarm(spec);
  await until('a spare is ready', () => p.stats.idle === 1);
  const spare = [...executor.live.values()][0];
  assert.ok(spare);
  executor.kill(spare, { silent: true });
  const got = await p.acquire(spec);
  assert.notEqual(got.id, spare.id);
  assert.equal(p.stats.lost, 1);
  await until('the dead spare is destroyed', () => !executor.live.has(spare.id));
  await p.close();
});

test('a sandbox that died before the command started is replaced: the caller gets the outcome', async () => {
  let first = true;
  const executor = new FakeExecutor({
    run: (_request, sandbox) => {
      if (first) {
        first = false;
        throw sandboxLost(`sandbox ${sandbox.id} died before the command started`, false);
      }
      return facts({ stdout: Buffer.from('ok') });
    },
  });
  const { orchestrator, invocation } = setup({ FAAS_POOL_MODE: 'off' }, executor);
  await orchestrator.start();
  const outcome = await orchestrator.invoke(invocation('a'));
  assert.equal(outcome.status, 'completed');
  assert.equal(outcome.stdout.toString(), 'ok');
  await outcome.released;
  assert.deepEqual(
    executor.events.map((e) => `${e.op} ${e.sandbox}`),
    ['acquire fake-1', 'invoke fake-1', 'destroy fake-1', 'acquire fake-2', 'invoke fake-2', 'destroy fake-2'],
  );
  await orchestrator.drain(1000);
});

test('a sandbox that died while the command ran is a fault that says it started, and is not run again', async () => {
  const executor = new FakeExecutor({
    run: () => {
      throw sandboxLost('the sandbox died while the command ran', true);
    },
  });
  const { orchestrator, invocation } = setup({ FAAS_POOL_MODE: 'off' }, executor);
  await orchestrator.start();
  const err = await orchestrator.invoke(invocation('a')).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(isFaasError(err, 'FAAS_ERR_SANDBOX_LOST'), String(err));
  assert.equal(faultStarted(err), true);
  assert.equal(executor.events.filter((e) => e.op === 'invoke').length, 1, 'a started invocation was run again');
  assert.equal(executor.live.size, 0, 'the dead sandbox was not destroyed');
  await orchestrator.drain(1000);
});

test('replacements are bounded: a sandbox that always dies before the start ends in the fault, started false', async () => {
  const executor = new FakeExecutor({
    run: () => {
      throw sandboxLost('died before the command started', false);
    },
  });
  const { orchestrator, invocation } = setup({ FAAS_POOL_MODE: 'off' }, executor);
  await orchestrator.start();
  const err = await orchestrator.invoke(invocation('a')).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(isFaasError(err, 'FAAS_ERR_SANDBOX_LOST'), String(err));
  assert.equal(faultStarted(err), false);
  assert.equal(executor.events.filter((e) => e.op === 'acquire').length, 3);
  assert.equal(executor.live.size, 0);
  await orchestrator.drain(1000);
});

test('a sandbox lost while starting (acquire) is tried again; other acquire faults are not', async () => {
  let acquires = 0;
  const executor = new FakeExecutor({
    acquireFault: () => (++acquires === 1 ? sandboxLost('the container died during start', false) : undefined),
  });
  const { orchestrator, invocation } = setup({ FAAS_POOL_MODE: 'off' }, executor);
  await orchestrator.start();
  const outcome = await orchestrator.invoke(invocation('a'));
  assert.equal(outcome.status, 'completed');
  assert.equal(acquires, 2);
  await orchestrator.drain(1000);
});

describe('a sandbox that fails while it starts (acquire)', () => {
  for (const mode of ['off', 'single-use', 'reuse']) {
    test(`${mode}: one that died or whose agent hung up while starting is replaced; the caller gets the outcome`, async () => {
      let onDemand = 0;
      const executor = new FakeExecutor({
        // The invocation's own start (a pool miss, or pool off) dies before HELLO, once.
        acquireFault: (s) =>
          s.invocationId && ++onDemand === 1
            ? sandboxLost('the sandbox died while starting: its guest agent hung up before answering HELLO', false)
            : undefined,
      });
      const { orchestrator, invocation } = setup({ FAAS_POOL_MODE: mode }, executor);
      await orchestrator.start();
      const outcome = await orchestrator.invoke(invocation('a'));
      assert.equal(outcome.status, 'completed');
      assert.equal(outcome.stdout.toString(), 'echo a');
      assert.equal(onDemand, 2, 'the invocation was tried on a second sandbox');
      await outcome.released;
      await orchestrator.drain(1000);
    });
  }

  test('a configuration fault (an agent that cannot execute) is reported at once with started false, never retried', async () => {
    let acquires = 0;
    const executor = new FakeExecutor({
      acquireFault: () => {
        acquires++;
        return startRefused("the container's init could not execute the guest agent (exit 126: not executable)");
      },
    });
    const { orchestrator, invocation } = setup({ FAAS_POOL_MODE: 'off' }, executor);
    await orchestrator.start();
    const started = performance.now();
    const err = await orchestrator.invoke(invocation('a')).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(isFaasError(err, 'FAAS_ERR_SANDBOX_FAILURE'), String(err));
    assert.match((err as Error).message, /could not execute the guest agent/);
    assert.equal(faultStarted(err), false);
    assert.equal(acquires, 1, 'a fault every start would meet was retried');
    assert.ok(performance.now() - started < 1000);
    await orchestrator.drain(1000);
  });

  test('any fault of a sandbox while getting one says started false, even from an executor that does not', async () => {
    const executor = new FakeExecutor({
      acquireFault: () => new FaasError('FAAS_ERR_SANDBOX_FAILURE', 'Docker create container failed: boom'),
    });
    const { orchestrator, invocation } = setup({ FAAS_POOL_MODE: 'reuse' }, executor);
    await orchestrator.start();
    const err = await orchestrator.invoke(invocation('a')).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(isFaasError(err, 'FAAS_ERR_SANDBOX_FAILURE'), String(err));
    assert.equal(faultStarted(err), false);
    assert.deepEqual((err as FaasError).toJSON(), {
      error: 'Docker create container failed: boom',
      code: 'FAAS_ERR_SANDBOX_FAILURE',
      started: false,
    });
    await orchestrator.drain(1000);
  });

  test("a fault that is not the sandbox's (image not found) passes unchanged, without started", async () => {
    const executor = new FakeExecutor({
      acquireFault: () => new FaasError('FAAS_ERR_IMAGE_NOT_FOUND', 'no such image', { details: { image: 'x' } }),
    });
    const { orchestrator, invocation } = setup({ FAAS_POOL_MODE: 'off' }, executor);
    await orchestrator.start();
    const err = await orchestrator.invoke(invocation('a')).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(isFaasError(err, 'FAAS_ERR_IMAGE_NOT_FOUND'), String(err));
    assert.equal(faultStarted(err), undefined);
    await orchestrator.drain(1000);
  });

  test('one that always dies while starting ends after 3 sandboxes in the fault, started false', async () => {
    let acquires = 0;
    const executor = new FakeExecutor({
      acquireFault: () => {
        acquires++;
        return sandboxLost('the sandbox died while starting: its container was removed', false);
      },
    });
    const { orchestrator, invocation } = setup({ FAAS_POOL_MODE: 'off' }, executor);
    await orchestrator.start();
    const err = await orchestrator.invoke(invocation('a')).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(isFaasError(err, 'FAAS_ERR_SANDBOX_LOST'), String(err));
    assert.equal(faultStarted(err), false);
    assert.equal(acquires, 3);
    await orchestrator.drain(1000);
  });

  test('a fault of the run that does not say started is answered as one that may have started', async () => {
    const executor = new FakeExecutor({
      run: () => {
        throw new FaasError('FAAS_ERR_SANDBOX_FAILURE', 'guest agent answered with RESET_OK where EXEC_RESULT was expected');
      },
    });
    const { orchestrator, invocation } = setup({ FAAS_POOL_MODE: 'off' }, executor);
    await orchestrator.start();
    const err = await orchestrator.invoke(invocation('a')).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(isFaasError(err, 'FAAS_ERR_SANDBOX_FAILURE'), String(err));
    assert.equal(faultStarted(err), true);
    await orchestrator.drain(1000);
  });
});

test('after the backend is back, every pool is rebuilt at once and says so until it is full', async () => {
  let down = false;
  const executor = new FakeExecutor({ acquireFault: () => (down ? new Error('engine unreachable') : undefined) });
  const p = pool(executor, 2);
  p.prewarm(spec);
  await until('the pool is full', () => p.stats.idle === 2);
  assert.equal(p.stats.rebuilding, false);
  down = true;
  executor.backendDown();
  p.onBackendDown();
  for (const sandbox of [...executor.live.values()]) p.onLost(sandbox);
  assert.equal(p.stats.idle, 0);
  assert.equal(p.stats.rebuilding, true);
  // Nothing is tried while the backend is down (no refill backoff to wait out afterwards).
  const acquiresWhileDown = executor.events.filter((e) => e.op === 'acquire').length;
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(executor.events.filter((e) => e.op === 'acquire').length, acquiresWhileDown);
  down = false;
  p.onBackendUp();
  assert.equal(p.stats.rebuilding, true);
  await until('the pool is full again', () => p.stats.idle === 2);
  assert.equal(p.stats.rebuilding, false);
  await p.close();
});

test('the orchestrator passes the executor events on to its pools and says when they are rebuilt', async () => {
  const executor = new FakeExecutor();
  const { orchestrator, invocation } = setup({ FAAS_POOL_MODE: 'single-use', FAAS_POOL_MIN_IDLE: '2' }, executor);
  await orchestrator.start();
  await (await orchestrator.invoke(invocation('first'))).released;
  await until('the pool is full', () => orchestrator.poolStats['docker/single-use']?.idle === 2);
  assert.equal(orchestrator.rebuilding, false);
  executor.backendDown();
  assert.equal(orchestrator.rebuilding, true);
  await until('the dead spares are gone', () => executor.live.size === 0);
  executor.backendUp();
  await until('the pool is rebuilt', () => orchestrator.poolStats['docker/single-use']?.idle === 2 && !orchestrator.rebuilding);
  const outcome = await orchestrator.invoke(invocation('after'));
  assert.equal(outcome.status, 'completed');
  await orchestrator.drain(1000);
});
