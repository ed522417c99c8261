/**
 * Secret values masked in the output: the rules of `maskSecrets` and `secretPatterns`, and the
 * layer through the orchestrator's public surface with the fake executor (the answer and the
 * history record both masked; an ad-hoc invocation untouched).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Invocation, loadConfig } from '@faas/common';
import { FakeExecutor, facts } from '@faas/executor';
import { type HistoryEntry, Orchestrator } from '../orchestrator.js';
import { MIN_MASKED_BYTES, maskSecrets, secretPatterns } from './redact-secrets.js';

const mask = (text: string, secrets: string[], cut = false): string =>
  maskSecrets(
    Buffer.from(text),
    secretPatterns({ env: secrets.map((v, i) => `S${i}=${v}`), secretNames: secrets.map((_, i) => `S${i}`) }),
    cut,
  ).toString();

test('every occurrence of a secret value is masked, a longer secret holding a shorter one whole', () => {
  assert.equal(mask('token=s3cret; again s3cret.', ['s3cret']), 'token=***; again ***.');
  assert.equal(mask('s3cret-long and s3cret', ['s3cret', 's3cret-long']), '*** and ***');
  assert.equal(mask('nothing here', ['s3cret']), 'nothing here');
});

test('only secrets: variables of other names, and values shorter than the minimum, are left alone', () => {
  const patterns = secretPatterns({ env: ['PLAIN=visible-value', 'TOKEN=hidden-value', 'SHORT=abc'], secretNames: ['TOKEN', 'SHORT'] });
  assert.deepEqual(
    patterns.map((p) => p.toString()),
    ['hidden-value'],
  );
  assert.equal(MIN_MASKED_BYTES, 4);
  assert.deepEqual(secretPatterns({ env: ['TOKEN=x'] }), [], 'no secret names: an ad-hoc invocation');
  assert.equal(mask('abc abcd', ['abc', 'abcd']), 'abc ***');
});

test('each line of a multi-line secret is masked on its own; a value with = in it is read whole', () => {
  const pem = '-----BEGIN KEY-----\nMIIBOgIBAAJBAKj34\n-----END KEY-----';
  assert.equal(mask(`key:\n${pem}\n`, [pem]), 'key:\n***\n');
  assert.equal(mask('only MIIBOgIBAAJBAKj34 printed', [pem]), 'only *** printed');
  assert.equal(mask('url=postgres://u:p@h/db?a=b', ['postgres://u:p@h/db?a=b']), 'url=***');
});

test('the start of a secret cut off by the output cap is masked only when the stream was cut', () => {
  assert.equal(mask('value: s3cr', ['s3cret-value'], true), 'value: ***');
  assert.equal(mask('value: s3cr', ['s3cret-value'], false), 'value: s3cr', 'not cut: s3cr is the output as written');
  assert.equal(mask('value: s3c', ['s3cret-value'], true), 'value: s3c', 'shorter than the minimum');
});

test('the layer masks the answer and the history record of a registered function, not an ad-hoc one', async () => {
  const config = loadConfig({ FAAS_POOL_MODE: 'off' }, 2);
  const printed = 'TOKEN is s3cret-42\n';
  const executor = new FakeExecutor({
    run: () => facts({ stdout: Buffer.from(printed), stderr: Buffer.from('s3cret-42'), combined: Buffer.from(printed), exitCode: 0 }),
  });
  const recorded: Array<{ entry: HistoryEntry; stdout: Buffer; stderr: Buffer }> = [];
  const orchestrator = new Orchestrator({
    config,
    executors: new Map([['docker', executor]]),
    metrics: { processMetrics: false },
    history: { record: (entry, output) => void recorded.push({ entry, ...output }) },
  });
  await orchestrator.start();
  const invocation = (id: string, extra: Partial<Invocation> = {}): Invocation => ({
    id,
    functionId: 'f',
    image: 'faas/busybox:latest',
    command: ['sh', '-c', 'echo TOKEN is $TOKEN'],
    env: ['TOKEN=s3cret-42'],
    stdin: Buffer.alloc(0),
    limits: config.defaultLimits,
    timeoutMs: 1000,
    executor: 'docker',
    ...extra,
  });
  try {
    const registered = await orchestrator.invoke(invocation('a', { secretNames: ['TOKEN'] }));
    await registered.released;
    assert.equal(registered.stdout.toString(), 'TOKEN is ***\n');
    assert.equal(registered.stderr.toString(), '***');
    assert.equal(registered.combined.toString(), 'TOKEN is ***\n');
    assert.equal(recorded[0]?.stdout.toString(), 'TOKEN is ***\n', 'the history keeps the masked output');
    assert.equal(recorded[0]?.stderr.toString(), '***');

    const adHoc = await orchestrator.invoke(invocation('b'));
    await adHoc.released;
    assert.equal(adHoc.stdout.toString(), printed, 'a variable of an ad-hoc request is no secret: its output is as written');
  } finally {
    await orchestrator.drain(1000);
  }
});
