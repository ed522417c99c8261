/** An API key's concurrency cap (keyMaxConcurrency) through the orchestrator, with the fake executor. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Invocation, isFaasError, loadConfig } from '@faas/common';
import { FakeExecutor, facts } from '@faas/executor';
import { Orchestrator } from '../orchestrator.js';

function gated(env: Record<string, string> = {}) {
  const gates: Array<() => void> = [];
  const executor = new FakeExecutor({
    run: () =>
      new Promise((resolve) => {
        gates.push(() => resolve(facts()));
      }),
  });
  const config = loadConfig({ FAAS_POOL_MODE: 'off', FAAS_MAX_CONCURRENCY: '8', FAAS_MAX_QUEUE: '8', ...env }, 8);
  const orchestrator = new Orchestrator({ config, executors: new Map([['docker', executor]]), metrics: { processMetrics: false } });
  const invocation = (id: string, extra: Partial<Invocation> = {}): Invocation => ({
    id,
    functionId: 'f',
    image: 'faas/busybox:latest',
    command: ['true'],
    env: [],
    stdin: Buffer.alloc(0),
    limits: config.defaultLimits,
    timeoutMs: 1000,
    executor: 'docker',
    keyId: 'tenant0000aa',
    keyMaxConcurrency: 2,
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

const keyCapped = (err: unknown): boolean => {
  assert.ok(isFaasError(err, 'FAAS_ERR_KEY_CONCURRENCY_LIMIT'), String(err));
  assert.equal(err.status, 429);
  assert.match(err.message, /API key "tenant0000aa" already has 2 invocations .* concurrency cap of 2; retry when one has finished/);
  return true;
};

test('key cap: one more than the cap is FAAS_ERR_KEY_CONCURRENCY_LIMIT (429); other keys and uncapped callers are not affected', async () => {
  const { orchestrator, invocation, openAll, running } = gated();
  const first = [orchestrator.invoke(invocation('1')), orchestrator.invoke(invocation('2'))];
  await running(2);
  await assert.rejects(orchestrator.invoke(invocation('3')), keyCapped);
  // Another function does not help: the cap is the key's, whatever it invokes.
  await assert.rejects(orchestrator.invoke(invocation('4', { functionId: 'g' })), keyCapped);
  // Two keys do not share a count.
  const other = [
    orchestrator.invoke(invocation('5', { keyId: 'tenant0000bb' })),
    orchestrator.invoke(invocation('6', { keyId: 'tenant0000bb' })),
  ];
  // No cap (the admin key, open mode, a Tangle job call): neither refused nor counted.
  const uncapped = [
    orchestrator.invoke(invocation('7', { keyId: 'admin', keyMaxConcurrency: undefined })),
    orchestrator.invoke(invocation('8', { keyId: 'admin', keyMaxConcurrency: undefined })),
    orchestrator.invoke(invocation('9', { keyId: undefined, keyMaxConcurrency: undefined })),
  ];
  await running(7);
  openAll();
  for (const outcome of await Promise.all([...first, ...other, ...uncapped])) assert.equal(outcome.status, 'completed');
  await orchestrator.drain(1000);
});

test('key cap: a slot is free again as soon as the outcome is there, and after a fault', async () => {
  const { orchestrator, invocation, openAll, running } = gated();
  const one = orchestrator.invoke(invocation('1', { keyMaxConcurrency: 1 }));
  await running(1);
  openAll();
  await one;
  // The sandbox may still be being removed: the key's slot does not wait for it.
  const two = orchestrator.invoke(invocation('2', { keyMaxConcurrency: 1 }));
  await running(1);
  openAll();
  assert.equal((await two).status, 'completed');

  // An executor that is not enabled: a fault inside the cap, which must release its slot.
  await assert.rejects(orchestrator.invoke(invocation('3', { keyMaxConcurrency: 1, executor: 'qemu' })));
  // So is the function's own cap, refused inside the key's.
  const capped = orchestrator.invoke(invocation('4', { keyMaxConcurrency: 2, maxConcurrency: 1 }));
  await running(1);
  await assert.rejects(orchestrator.invoke(invocation('5', { keyMaxConcurrency: 2, maxConcurrency: 1 })), (err) =>
    isFaasError(err, 'FAAS_ERR_CONCURRENCY_LIMIT'),
  );
  openAll();
  await capped;
  const six = orchestrator.invoke(invocation('6', { keyMaxConcurrency: 1 }));
  await running(1);
  openAll();
  assert.equal((await six).status, 'completed');
  await orchestrator.drain(1000);
});

test('key cap: invocations waiting for a platform slot count, so a key cannot fill the queue either', async () => {
  const { orchestrator, invocation, openAll, running } = gated({ FAAS_MAX_CONCURRENCY: '1', FAAS_MAX_QUEUE: '8' });
  const held = [orchestrator.invoke(invocation('1')), orchestrator.invoke(invocation('2'))];
  await running(1);
  assert.equal(orchestrator.stats.queued, 1);
  await assert.rejects(orchestrator.invoke(invocation('3')), keyCapped);
  assert.equal(orchestrator.stats.queued, 1, 'the refused invocation took no place in the queue');
  openAll();
  await running(1);
  openAll();
  for (const outcome of await Promise.all(held)) assert.equal(outcome.status, 'completed');
  await orchestrator.drain(1000);
});

test('key cap: a refusal is counted in faas_invocations_total with its code, and requeued when the caller takes it back', async () => {
  const { orchestrator, invocation, openAll, running } = gated();
  const held = orchestrator.invoke(invocation('1', { keyMaxConcurrency: 1 }));
  await running(1);
  await assert.rejects(orchestrator.invoke(invocation('2', { keyMaxConcurrency: 1 })), (err) =>
    isFaasError(err, 'FAAS_ERR_KEY_CONCURRENCY_LIMIT'),
  );
  await assert.rejects(orchestrator.invoke(invocation('3', { keyMaxConcurrency: 1 }), { requeued: () => true }), (err) =>
    isFaasError(err, 'FAAS_ERR_KEY_CONCURRENCY_LIMIT'),
  );
  openAll();
  await held;
  const text = await orchestrator.metrics.registry.metrics();
  assert.match(text, /faas_invocations_total\{function="f",executor="docker",outcome="error",code="FAAS_ERR_KEY_CONCURRENCY_LIMIT"\} 1/);
  assert.match(text, /faas_invocations_total\{function="f",executor="docker",outcome="requeued",code="FAAS_ERR_KEY_CONCURRENCY_LIMIT"\} 1/);
  await orchestrator.drain(1000);
});
