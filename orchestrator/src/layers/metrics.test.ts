import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FaasError, type Invocation, loadConfig } from '@faas/common';
import { FakeExecutor, facts } from '@faas/executor';
import { Orchestrator } from '../orchestrator.js';

function setup(executor: FakeExecutor, env: Record<string, string> = {}, maxFunctionLabels?: number) {
  const config = loadConfig({ FAAS_POOL_MODE: 'reuse', FAAS_POOL_MIN_IDLE: '0', ...env }, 2);
  const orchestrator = new Orchestrator({
    config,
    executors: new Map([['docker', executor]]),
    metrics: { processMetrics: false, ...(maxFunctionLabels ? { maxFunctionLabels } : {}) },
  });
  const invocation = (id: string, functionId = 'f'): Invocation => ({
    id,
    functionId,
    image: 'faas/busybox:latest',
    command: ['echo', id],
    env: [],
    stdin: Buffer.alloc(0),
    limits: config.defaultLimits,
    timeoutMs: 1000,
    executor: 'docker',
  });
  return { orchestrator, invocation };
}

/** The value of one sample, by its name (`_count`, `_sum`, `_bucket` of a histogram included) and exact label set. */
async function sample(orchestrator: Orchestrator, name: string, labels: Record<string, string>): Promise<number | undefined> {
  const base = name.replace(/_(bucket|count|sum)$/, '');
  const metric = await orchestrator.metrics.registry.getSingleMetric(base)?.get();
  const key = (l: object) =>
    JSON.stringify(
      Object.entries(l)
        .map(([k, v]) => [k, String(v)])
        .sort(),
    );
  return metric?.values.find((v) => ((v as { metricName?: string }).metricName ?? base) === name && key(v.labels) === key(labels))?.value;
}

test('metrics: completed and timed_out outcomes are counted by function, executor and outcome, with phases', async () => {
  let timeOut = false;
  const executor = new FakeExecutor({ run: () => (timeOut ? facts({ exitCode: null, signal: 'SIGKILL', timedOut: true }) : facts()) });
  const { orchestrator, invocation } = setup(executor);
  await orchestrator.start();
  await (await orchestrator.invoke(invocation('a'))).released;
  await (await orchestrator.invoke(invocation('b'))).released;
  timeOut = true;
  const late = await orchestrator.invoke(invocation('c', 'g'));
  assert.equal(late.status, 'timed_out');
  await late.released;

  assert.equal(await sample(orchestrator, 'faas_invocations_total', { function: 'f', executor: 'docker', outcome: 'completed' }), 2);
  assert.equal(await sample(orchestrator, 'faas_invocations_total', { function: 'g', executor: 'docker', outcome: 'timed_out' }), 1);
  for (const phase of ['queue', 'acquire', 'run', 'release']) {
    assert.equal(await sample(orchestrator, 'faas_invocation_phase_seconds_count', { executor: 'docker', phase }), 3, phase);
  }
  assert.equal(await sample(orchestrator, 'faas_invocation_duration_seconds_count', { executor: 'docker', outcome: 'completed' }), 2);
  // Reuse mode: the second invocation of f took the sandbox the first gave back.
  assert.equal(await sample(orchestrator, 'faas_pool_hits_total', { executor: 'docker', isolation: 'reuse' }), 1);
  assert.equal(await sample(orchestrator, 'faas_pool_misses_total', { executor: 'docker', isolation: 'reuse' }), 2);
  assert.equal(await sample(orchestrator, 'faas_queue_depth', {}), 0);

  const text = await orchestrator.metrics.text();
  assert.match(text, /^faas_invocations_total\{function="f",executor="docker",outcome="completed"\} 2$/m);
  assert.match(text, /^faas_invocation_phase_seconds_bucket\{le="60",executor="docker",phase="run"\} 3$/m);
  assert.match(orchestrator.metrics.contentType, /^text\/plain/);
  await orchestrator.drain(1000);
});

test('metrics: a thrown fault is counted as outcome "error" with its registry code', async () => {
  const executor = new FakeExecutor({
    run: () => {
      throw new FaasError('FAAS_ERR_SANDBOX_FAILURE', 'the sandbox went away');
    },
  });
  const { orchestrator, invocation } = setup(executor);
  await orchestrator.start();
  await assert.rejects(orchestrator.invoke(invocation('x')), (err: unknown) => err instanceof FaasError);
  const labels = { function: 'f', executor: 'docker', outcome: 'error', code: 'FAAS_ERR_SANDBOX_FAILURE' };
  assert.equal(await sample(orchestrator, 'faas_invocations_total', labels), 1);
  assert.equal(await sample(orchestrator, 'faas_invocation_duration_seconds_count', { executor: 'docker', outcome: 'error' }), 1);
  await orchestrator.drain(1000);
});

test('metrics: a caller that leaves while queued is counted as cancelled, not as an error', async () => {
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  const executor = new FakeExecutor({
    run: async () => {
      await gate;
      return facts();
    },
  });
  const { orchestrator, invocation } = setup(executor, { FAAS_POOL_MODE: 'off', FAAS_MAX_CONCURRENCY: '1' });
  await orchestrator.start();
  const first = orchestrator.invoke(invocation('1'));
  const caller = new AbortController();
  const second = orchestrator.invoke(invocation('2'), { signal: caller.signal });
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(await sample(orchestrator, 'faas_queue_depth', {}), 1);
  caller.abort(new Error('client closed the connection'));
  await assert.rejects(second);
  open();
  await (await first).released;
  assert.equal(await sample(orchestrator, 'faas_invocations_total', { function: 'f', executor: 'docker', outcome: 'cancelled' }), 1);
  assert.equal(await sample(orchestrator, 'faas_invocations_total', { function: 'f', executor: 'docker', outcome: 'completed' }), 1);
  await orchestrator.drain(1000);
});

test('metrics: distinct function label values are capped; later ids count as _other', async () => {
  const executor = new FakeExecutor();
  const { orchestrator, invocation } = setup(executor, { FAAS_POOL_MODE: 'off' }, 2);
  await orchestrator.start();
  for (const fn of ['a', 'b', 'c', 'd', 'a']) await (await orchestrator.invoke(invocation(fn, fn))).released;
  const count = (fn: string) => sample(orchestrator, 'faas_invocations_total', { function: fn, executor: 'docker', outcome: 'completed' });
  assert.equal(await count('a'), 2);
  assert.equal(await count('b'), 1);
  assert.equal(await count('c'), undefined);
  assert.equal(await count('_other'), 2);
  await orchestrator.drain(1000);
});

test('metrics: each orchestrator has its own registry', () => {
  const one = setup(new FakeExecutor()).orchestrator;
  const two = setup(new FakeExecutor()).orchestrator;
  assert.notEqual(one.metrics.registry, two.metrics.registry);
});
