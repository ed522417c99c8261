/** A function's own concurrency cap (max_concurrency) through the orchestrator, with the fake executor. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Invocation, isFaasError, loadConfig } from '@faas/common';
import { FakeExecutor, facts } from '@faas/executor';
import { Orchestrator } from '../orchestrator.js';

function gated() {
  const gates: Array<() => void> = [];
  const executor = new FakeExecutor({
    run: () =>
      new Promise((resolve) => {
        gates.push(() => resolve(facts()));
      }),
  });
  const config = loadConfig({ FAAS_POOL_MODE: 'off', FAAS_MAX_CONCURRENCY: '8', FAAS_MAX_QUEUE: '8' }, 8);
  const orchestrator = new Orchestrator({ config, executors: new Map([['docker', executor]]), metrics: { processMetrics: false } });
  const invocation = (id: string, extra: Partial<Invocation> = {}): Invocation => ({
    id,
    functionId: 'capped',
    image: 'faas/busybox:latest',
    command: ['true'],
    env: [],
    stdin: Buffer.alloc(0),
    limits: config.defaultLimits,
    timeoutMs: 1000,
    executor: 'docker',
    maxConcurrency: 2,
    ...extra,
  });
  const openAll = () => {
    for (const open of gates.splice(0)) open();
  };
  const running = async (n: number) => {
    while (gates.length < n) await new Promise((r) => setTimeout(r, 1));
  };
  return { orchestrator, invocation, openAll, running };
}

test('max_concurrency: one more than the cap is FAAS_ERR_CONCURRENCY_LIMIT (429), other functions and uncapped ones are not affected', async () => {
  const { orchestrator, invocation, openAll, running } = gated();
  const first = [orchestrator.invoke(invocation('1')), orchestrator.invoke(invocation('2'))];
  await running(2);
  await assert.rejects(orchestrator.invoke(invocation('3')), (err) => {
    assert.ok(isFaasError(err, 'FAAS_ERR_CONCURRENCY_LIMIT'));
    assert.equal(err.status, 429);
    assert.match(err.message, /"capped".*max_concurrency/);
    return true;
  });
  const other = orchestrator.invoke(invocation('4', { functionId: 'other' }));
  const uncapped = orchestrator.invoke(invocation('5', { maxConcurrency: undefined }));
  await running(4);
  openAll();
  for (const outcome of await Promise.all([...first, other, uncapped])) assert.equal(outcome.status, 'completed');
  await orchestrator.drain(1000);
});

test('max_concurrency: a slot is free again as soon as the outcome is there, and after a fault', async () => {
  const { orchestrator, invocation, openAll, running } = gated();
  const one = orchestrator.invoke(invocation('1', { maxConcurrency: 1 }));
  await running(1);
  openAll();
  await one;
  // The sandbox may still be being removed: the function's slot does not wait for it.
  const two = orchestrator.invoke(invocation('2', { maxConcurrency: 1 }));
  await running(1);
  openAll();
  assert.equal((await two).status, 'completed');

  // An executor that is not enabled: a fault inside the cap, which must release its slot.
  await assert.rejects(orchestrator.invoke(invocation('3', { maxConcurrency: 1, executor: 'qemu' })));
  const four = orchestrator.invoke(invocation('4', { maxConcurrency: 1 }));
  await running(1);
  openAll();
  assert.equal((await four).status, 'completed');
  await orchestrator.drain(1000);
});
