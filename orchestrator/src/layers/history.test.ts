/**
 * The history layer through the orchestrator's public surface, with the fake executor: what is
 * recorded for outcomes and for faults before any sandbox, the output cap, and a sink that fails.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLoggerFactory, type Invocation, isFaasError, loadConfig } from '@faas/common';
import { FakeExecutor, facts } from '@faas/executor';
import { type HistoryEntry, type HistorySink, Orchestrator } from '../orchestrator.js';

interface Recorded {
  entry: HistoryEntry;
  stdout: Buffer;
  stderr: Buffer;
}

function setup(executor: FakeExecutor, env: Record<string, string> = {}, sink?: HistorySink) {
  const config = loadConfig({ FAAS_POOL_MODE: 'reuse', FAAS_POOL_MIN_IDLE: '0', FAAS_HISTORY_OUTPUT_BYTES: '8', ...env }, 2);
  const recorded: Recorded[] = [];
  const lines: Array<Record<string, unknown>> = [];
  const logs = createLoggerFactory('debug', { write: (line: string) => lines.push(JSON.parse(line)) });
  const orchestrator = new Orchestrator({
    config,
    executors: new Map([['docker', executor]]),
    metrics: { processMetrics: false },
    logger: logs.for('orchestrator'),
    history: sink ?? { record: (entry, output) => void recorded.push({ entry, ...output }) },
  });
  const invocation = (id: string, extra: Partial<Invocation> = {}): Invocation => ({
    id,
    functionId: 'f',
    image: 'faas/busybox:latest',
    command: ['echo', id],
    env: ['TOKEN=s3cret', 'PLAIN=1'],
    stdin: Buffer.from('input-bytes'),
    limits: config.defaultLimits,
    timeoutMs: 1000,
    executor: 'docker',
    secretNames: ['TOKEN'],
    ...extra,
  });
  return { orchestrator, invocation, recorded, lines };
}

test('an outcome is recorded with its version, key, phases, sizes and times, the output cut per stream, never env or stdin', async () => {
  const executor = new FakeExecutor({
    run: () => facts({ stdout: Buffer.from('0123456789abcdef'), stderr: Buffer.from('err'), combined: Buffer.from('x'), exitCode: 3 }),
  });
  const { orchestrator, invocation, recorded } = setup(executor);
  await orchestrator.start();
  const before = Date.now();
  const outcome = await orchestrator.invoke(invocation('a', { functionVersion: 4, keyId: 'k1' }));
  await outcome.released;
  assert.equal(recorded.length, 1);
  const [{ entry, stdout, stderr }] = recorded as [Recorded];
  assert.equal(stdout.toString(), '01234567', 'the first FAAS_HISTORY_OUTPUT_BYTES of stdout');
  assert.equal(stderr.toString(), 'err');
  assert.deepEqual(
    { ...entry, queueMs: 0, acquireMs: 0, runMs: 0, durationMs: 0, startedAt: 0, finishedAt: 0 },
    {
      id: 'a',
      functionId: 'f',
      functionVersion: 4,
      status: 'completed',
      exitCode: 3,
      signal: null,
      error: outcome.error,
      errorCode: null,
      executor: 'docker',
      keyId: 'k1',
      queueMs: 0,
      acquireMs: 0,
      runMs: 0,
      durationMs: 0,
      stdinBytes: 11,
      stdoutBytes: 16,
      stderrBytes: 3,
      truncated: false,
      outputTruncated: true,
      startedAt: 0,
      finishedAt: 0,
    },
  );
  assert.ok(entry.startedAt >= before && entry.finishedAt >= entry.startedAt);
  assert.equal(entry.durationMs, outcome.durationMs);
  assert.equal(entry.runMs, outcome.phases.runMs);
  assert.doesNotMatch(JSON.stringify(recorded), /s3cret|input-bytes|PLAIN/);
  await orchestrator.drain(1000);
});

test('an ad-hoc invocation has no version and no key; a timeout carries FAAS_ERR_TIMEOUT', async () => {
  const executor = new FakeExecutor({ run: () => facts({ exitCode: null, signal: 'SIGKILL', timedOut: true }) });
  const { orchestrator, invocation, recorded } = setup(executor);
  await orchestrator.start();
  await (await orchestrator.invoke(invocation('t'))).released;
  const entry = recorded[0]?.entry;
  assert.equal(entry?.status, 'timed_out');
  assert.equal(entry?.errorCode, 'FAAS_ERR_TIMEOUT');
  assert.equal(entry?.functionVersion, null);
  assert.equal(entry?.keyId, null);
  assert.equal(entry?.outputTruncated, false);
  await orchestrator.drain(1000);
});

test('faults before any sandbox are recorded as errors with their code: saturated, concurrency limit', async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const executor = new FakeExecutor({
    run: async () => {
      await gate;
      return facts();
    },
  });
  const { orchestrator, invocation, recorded } = setup(executor, { FAAS_MAX_CONCURRENCY: '1', FAAS_MAX_QUEUE: '0' });
  await orchestrator.start();
  const first = orchestrator.invoke(invocation('1', { maxConcurrency: 1 }));
  await new Promise((r) => setTimeout(r, 5));
  await assert.rejects(orchestrator.invoke(invocation('2', { maxConcurrency: 1 })), (err) =>
    isFaasError(err, 'FAAS_ERR_CONCURRENCY_LIMIT'),
  );
  await assert.rejects(orchestrator.invoke(invocation('3', { functionId: 'g' })), (err) => isFaasError(err, 'FAAS_ERR_SATURATED'));
  release();
  await (await first).released;
  const byId = new Map(recorded.map((r) => [r.entry.id, r.entry]));
  assert.equal(byId.get('1')?.status, 'completed');
  assert.equal(byId.get('2')?.status, 'error');
  assert.equal(byId.get('2')?.errorCode, 'FAAS_ERR_CONCURRENCY_LIMIT');
  assert.equal(byId.get('3')?.status, 'error');
  assert.equal(byId.get('3')?.errorCode, 'FAAS_ERR_SATURATED');
  assert.equal(byId.get('3')?.functionId, 'g');
  assert.equal(byId.get('3')?.acquireMs, 0);
  assert.equal(byId.get('3')?.stdoutBytes, 0);
  await orchestrator.drain(1000);
});

test('a fault its caller requeues (requeued: true) is not recorded and counted as requeued, asked once; other faults are', async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const executor = new FakeExecutor({
    run: async () => {
      await gate;
      return facts();
    },
  });
  const { orchestrator, invocation, recorded } = setup(executor, { FAAS_MAX_CONCURRENCY: '1', FAAS_MAX_QUEUE: '0' });
  await orchestrator.start();
  const first = orchestrator.invoke(invocation('1', { maxConcurrency: 1 }));
  await new Promise((r) => setTimeout(r, 5));
  const asked: string[] = [];
  const requeued = (err: unknown) => {
    asked.push(isFaasError(err) ? err.code : String(err));
    return isFaasError(err, 'FAAS_ERR_CONCURRENCY_LIMIT');
  };
  await assert.rejects(orchestrator.invoke(invocation('2', { maxConcurrency: 1 }), { requeued }), (err) =>
    isFaasError(err, 'FAAS_ERR_CONCURRENCY_LIMIT'),
  );
  assert.deepEqual(asked, ['FAAS_ERR_CONCURRENCY_LIMIT'], 'asked once for the history and the metrics together');
  await assert.rejects(orchestrator.invoke(invocation('3', { functionId: 'g' }), { requeued }), (err) =>
    isFaasError(err, 'FAAS_ERR_SATURATED'),
  );
  release();
  await (await first).released;
  assert.deepEqual(
    recorded.map((r) => [r.entry.id, r.entry.status, r.entry.errorCode]),
    [
      ['3', 'error', 'FAAS_ERR_SATURATED'],
      ['1', 'completed', null],
    ],
  );
  const text = await orchestrator.metrics.text();
  assert.match(text, /faas_invocations_total\{function="f",executor="docker",outcome="requeued",code="FAAS_ERR_CONCURRENCY_LIMIT"\} 1/);
  assert.doesNotMatch(text, /outcome="error",code="FAAS_ERR_CONCURRENCY_LIMIT"/);
  assert.match(text, /faas_invocations_total\{function="g",executor="docker",outcome="error",code="FAAS_ERR_SATURATED"\} 1/);
  await orchestrator.drain(1000);
});

test('a foreign fault is recorded as FAAS_ERR_INTERNAL without its words', async () => {
  const executor = new FakeExecutor({
    run: () => {
      throw new Error('engine said: bad env TOKEN=s3cret');
    },
  });
  const { orchestrator, invocation, recorded } = setup(executor);
  await orchestrator.start();
  await assert.rejects(orchestrator.invoke(invocation('x')), (err) => isFaasError(err, 'FAAS_ERR_INTERNAL'));
  assert.equal(recorded[0]?.entry.status, 'error');
  assert.equal(recorded[0]?.entry.errorCode, 'FAAS_ERR_INTERNAL');
  assert.doesNotMatch(JSON.stringify(recorded), /s3cret/);
  await orchestrator.drain(1000);
});

test('a sink that throws, or rejects, is logged and never fails the invocation', async () => {
  for (const sink of [
    {
      record: () => {
        throw new Error('disk full');
      },
    },
    { record: () => Promise.reject(new Error('disk full')) },
  ]) {
    const { orchestrator, invocation, lines } = setup(new FakeExecutor(), {}, sink);
    await orchestrator.start();
    const outcome = await orchestrator.invoke(invocation('s'));
    assert.equal(outcome.status, 'completed');
    await outcome.released;
    await new Promise((r) => setImmediate(r));
    const line = lines.find((l) => /history could not record/.test(String(l.msg)));
    assert.ok(line, 'the failure is logged');
    assert.equal(line.invocationId, 's');
    assert.equal(line.functionId, 'f');
    assert.match(String(line.err), /disk full/);
    assert.doesNotMatch(JSON.stringify(lines), /s3cret/);
    await orchestrator.drain(1000);
  }
});
