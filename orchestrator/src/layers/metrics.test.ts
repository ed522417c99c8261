import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FaasError, type Invocation, loadConfig } from '@faas/common';
import { FakeExecutor, facts } from '@faas/executor';
import { Orchestrator } from '../orchestrator.js';
import { DURATION_BUCKETS } from './metrics.js';

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
  // Per function, whatever the outcome, with the function as its one label.
  assert.equal(await sample(orchestrator, 'faas_function_duration_seconds_count', { function: 'f' }), 2);
  assert.equal(await sample(orchestrator, 'faas_function_duration_seconds_count', { function: 'g' }), 1);
  assert.equal(await sample(orchestrator, 'faas_function_duration_seconds_bucket', { function: 'g', le: '+Inf' }), 1);
  assert.ok(((await sample(orchestrator, 'faas_function_duration_seconds_sum', { function: 'f' })) ?? -1) >= 0);
  // Reuse mode: the second invocation of f took the sandbox the first gave back.
  assert.equal(await sample(orchestrator, 'faas_pool_hits_total', { executor: 'docker', isolation: 'reuse' }), 1);
  assert.equal(await sample(orchestrator, 'faas_pool_misses_total', { executor: 'docker', isolation: 'reuse' }), 2);
  assert.equal(await sample(orchestrator, 'faas_queue_depth', {}), 0);

  const text = await orchestrator.metrics.text();
  assert.match(text, /^faas_invocations_total\{function="f",executor="docker",outcome="completed"\} 2$/m);
  assert.match(text, /^faas_invocation_phase_seconds_bucket\{le="60",executor="docker",phase="run"\} 3$/m);
  assert.match(text, /^# TYPE faas_function_duration_seconds histogram$/m);
  assert.match(text, /^faas_function_duration_seconds_bucket\{le="60",function="f"\} 2$/m);
  assert.match(text, /^faas_function_duration_seconds_count\{function="g"\} 1$/m);
  // The same buckets as the platform-wide duration (docs/metrics.md: 1 ms to 60 s).
  const les = [...text.matchAll(/^faas_function_duration_seconds_bucket\{le="([^"]+)",function="f"\}/gm)].map((m) => m[1]);
  assert.deepEqual(les, [...DURATION_BUCKETS.map(String), '+Inf']);
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
  // A fault after admission is time its caller waited: observed for the function.
  assert.equal(await sample(orchestrator, 'faas_function_duration_seconds_count', { function: 'f' }), 1);
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
  // The caller waited in the queue until it left: that wait is the function's latency too.
  assert.equal(await sample(orchestrator, 'faas_function_duration_seconds_count', { function: 'f' }), 2);
  await orchestrator.drain(1000);
});

test('metrics: refusals are counted but not observed in the per-function duration', async () => {
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  const executor = new FakeExecutor({
    run: async () => {
      await gate;
      return facts();
    },
  });
  const { orchestrator, invocation } = setup(executor, { FAAS_POOL_MODE: 'off', FAAS_MAX_CONCURRENCY: '1', FAAS_MAX_QUEUE: '0' });
  await orchestrator.start();
  const first = orchestrator.invoke({ ...invocation('1', 'busy'), maxConcurrency: 1 });
  await new Promise((r) => setTimeout(r, 5));
  const refused = (code: string) => (err: unknown) => err instanceof FaasError && err.code === code;
  await assert.rejects(orchestrator.invoke({ ...invocation('2', 'busy'), maxConcurrency: 1 }), refused('FAAS_ERR_CONCURRENCY_LIMIT'));
  await assert.rejects(orchestrator.invoke(invocation('3', 'full')), refused('FAAS_ERR_SATURATED'));
  await assert.rejects(orchestrator.invoke(invocation('4', 'again'), { requeued: () => true }), refused('FAAS_ERR_SATURATED'));
  open();
  await (await first).released;
  await orchestrator.drain(1000);
  await assert.rejects(orchestrator.invoke(invocation('5', 'late')), refused('FAAS_ERR_SHUTTING_DOWN'));

  const counted = (fn: string, outcome: string, code: string) =>
    sample(orchestrator, 'faas_invocations_total', { function: fn, executor: 'docker', outcome, code });
  assert.equal(await counted('busy', 'error', 'FAAS_ERR_CONCURRENCY_LIMIT'), 1);
  assert.equal(await counted('full', 'error', 'FAAS_ERR_SATURATED'), 1);
  assert.equal(await counted('again', 'requeued', 'FAAS_ERR_SATURATED'), 1);
  assert.equal(await counted('late', 'error', 'FAAS_ERR_SHUTTING_DOWN'), 1);
  const observed = (fn: string) => sample(orchestrator, 'faas_function_duration_seconds_count', { function: fn });
  assert.equal(await observed('busy'), 1, 'only the invocation that ran');
  for (const fn of ['full', 'again', 'late']) assert.equal(await observed(fn), undefined, fn);
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
  // The per-function duration shares the counter's bound: the same ids, the same _other.
  const observed = (fn: string) => sample(orchestrator, 'faas_function_duration_seconds_count', { function: fn });
  assert.equal(await observed('a'), 2);
  assert.equal(await observed('b'), 1);
  assert.equal(await observed('c'), undefined);
  assert.equal(await observed('d'), undefined);
  assert.equal(await observed('_other'), 2);
  const series = new Set(
    [...(await orchestrator.metrics.text()).matchAll(/^faas_function_duration_seconds_count\{function="([^"]+)"\}/gm)].map((m) => m[1]),
  );
  assert.deepEqual([...series].sort(), ['_other', 'a', 'b']);
  await orchestrator.drain(1000);
});

test('metrics: each orchestrator has its own registry', () => {
  const one = setup(new FakeExecutor()).orchestrator;
  const two = setup(new FakeExecutor()).orchestrator;
  assert.notEqual(one.metrics.registry, two.metrics.registry);
});
