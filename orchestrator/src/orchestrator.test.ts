import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Invocation, isFaasError, loadConfig } from '@faas/common';
import { type ExecRequest, FakeExecutor, facts } from '@faas/executor';
import { Orchestrator } from './orchestrator.js';

function setup(env: Record<string, string>, executor: FakeExecutor) {
  const config = loadConfig({ FAAS_MAX_CONCURRENCY: '1', FAAS_MAX_QUEUE: '1', FAAS_POOL_MIN_IDLE: '0', ...env }, 2);
  const orchestrator = new Orchestrator({ config, executors: new Map([['docker', executor]]) });
  const invocation = (id: string, extra: Partial<Invocation> = {}): Invocation => ({
    id,
    functionId: 'f',
    image: 'faas/busybox:latest',
    command: ['echo', id],
    env: [],
    stdin: Buffer.alloc(0),
    limits: config.defaultLimits,
    timeoutMs: 1000,
    executor: 'docker',
    ...extra,
  });
  return { orchestrator, invocation };
}

test('a timeout is an outcome, not an exception, and its sandbox is destroyed', async () => {
  const executor = new FakeExecutor({ run: () => facts({ exitCode: null, signal: 'SIGKILL', timedOut: true }) });
  const { orchestrator, invocation } = setup({ FAAS_POOL_MODE: 'reuse' }, executor);
  await orchestrator.start();
  const outcome = await orchestrator.invoke(invocation('t'));
  assert.equal(outcome.status, 'timed_out');
  await outcome.released;
  assert.ok(outcome.phases.releaseMs !== undefined);
  assert.deepEqual(
    executor.events.map((e) => e.op),
    ['acquire', 'invoke', 'destroy'],
  );
  await orchestrator.drain(1000);
});

test('isolation off: one-shot sandbox per invocation, destroyed after it', async () => {
  const executor = new FakeExecutor();
  const { orchestrator, invocation } = setup({ FAAS_POOL_MODE: 'off' }, executor);
  await orchestrator.start();
  const outcome = await orchestrator.invoke(invocation('a'));
  assert.equal(outcome.stdout.toString(), 'echo a');
  await outcome.released;
  assert.deepEqual(executor.events, [
    { op: 'acquire', sandbox: 'fake-1', functionId: 'f', oneShot: true },
    { op: 'invoke', sandbox: 'fake-1', functionId: 'f' },
    { op: 'destroy', sandbox: 'fake-1', functionId: 'f' },
  ]);
  await orchestrator.drain(1000);
});

test('the executor gets a fully resolved request', async () => {
  const executor = new FakeExecutor();
  const { orchestrator, invocation } = setup({ FAAS_POOL_MODE: 'off' }, executor);
  await orchestrator.start();
  await (await orchestrator.invoke(invocation('a', { env: ['X=1'] }))).released;
  const request = executor.requests[0] as ExecRequest;
  assert.ok(request.env.includes('X=1') && request.env.includes('IMAGE=1') && request.env.includes('HOME=/tmp'));
  assert.equal(request.cwd, '/tmp');
  assert.equal(request.timeoutMs, 1000);
  await orchestrator.drain(1000);
});

test('one slot and one queue place: the third concurrent invocation is refused with FAAS_ERR_SATURATED', async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const executor = new FakeExecutor({
    run: async () => {
      await gate;
      return facts();
    },
  });
  const { orchestrator, invocation } = setup({ FAAS_POOL_MODE: 'off' }, executor);
  await orchestrator.start();
  const first = orchestrator.invoke(invocation('1'));
  const second = orchestrator.invoke(invocation('2'));
  await new Promise((r) => setTimeout(r, 5));
  await assert.rejects(orchestrator.invoke(invocation('3')), (err) => isFaasError(err, 'FAAS_ERR_SATURATED'));
  release();
  const [a, b] = await Promise.all([first, second]);
  assert.equal(a.status, 'completed');
  assert.ok(b.phases.queueMs > 0, 'the second waited for the slot');
  await orchestrator.drain(1000);
});

test('draining refuses new invocations and waits for running ones to be released', async () => {
  const executor = new FakeExecutor();
  const { orchestrator, invocation } = setup({ FAAS_POOL_MODE: 'single-use' }, executor);
  await orchestrator.start();
  const running = orchestrator.invoke(invocation('a'));
  const drained = orchestrator.drain(1000);
  await assert.rejects(orchestrator.invoke(invocation('b')), (err) => isFaasError(err, 'FAAS_ERR_SHUTTING_DOWN'));
  assert.equal((await running).status, 'completed');
  await drained;
  assert.equal(executor.live.size, 0);
});

test('a platform fault throws a registry error (a foreign error becomes FAAS_ERR_INTERNAL, its cause kept) and leaves no sandbox', async () => {
  const executor = new FakeExecutor({
    run: () => {
      throw new Error('engine gone');
    },
  });
  const { orchestrator, invocation } = setup({ FAAS_POOL_MODE: 'reuse' }, executor);
  await orchestrator.start();
  await assert.rejects(
    orchestrator.invoke(invocation('a')),
    (err) => isFaasError(err, 'FAAS_ERR_INTERNAL') && /engine gone/.test(String((err as Error).cause)),
  );
  assert.equal(executor.live.size, 0);
  await orchestrator.drain(1000);
});

test('a second drain with no grace kills what runs and returns the same drain, with every sandbox removed', async () => {
  const executor = new FakeExecutor({
    run: (request) =>
      new Promise((resolve) => {
        request.signal?.addEventListener('abort', () => resolve(facts({ exitCode: null, signal: 'SIGKILL', cancelled: true })));
      }),
  });
  const { orchestrator, invocation } = setup({ FAAS_POOL_MODE: 'reuse' }, executor);
  await orchestrator.start();
  const running = orchestrator.invoke(invocation('long'));
  await new Promise((r) => setTimeout(r, 5));
  const first = orchestrator.drain(60_000);
  const second = orchestrator.drain(0);
  assert.equal((await running).status, 'cancelled');
  await Promise.all([first, second]);
  assert.equal(executor.live.size, 0);
});
