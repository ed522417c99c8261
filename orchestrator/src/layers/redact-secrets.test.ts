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
import { MAX_PATTERNS, MIN_MASKED_BYTES, maskSecrets, secretPatterns } from './redact-secrets.js';

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

test('overlapping secrets are masked whole: matches are found in the output as written, then merged', () => {
  assert.equal(mask('abcdefghijkl and efgh', ['abcdefgh', 'efghijkl']), '*** and efgh');
  assert.equal(mask('aaaaa', ['aaaa']), '***');
});

test('a stream cut at the cap loses its last (longest - 1) bytes whatever they hold: no byte-by-byte oracle', () => {
  const secret = 's3cret-value';
  const cutOff = 'x'.repeat(20);
  // Whether or not the end is the start of a secret, the same bytes go: the answer tells nothing.
  assert.equal(mask(`${cutOff}s3cr`, [secret], true), cutOff.slice(0, 20 - (secret.length - 1 - 4)));
  assert.equal(mask(`${cutOff}zzzz`, [secret], true), cutOff.slice(0, 20 - (secret.length - 1 - 4)));
  assert.equal(mask('value: s3cr', [secret], false), 'value: s3cr', 'not cut: s3cr is the output as written');
});

test('a value the caller supplied (stdin, or a variable that is no secret) is not masked: no guessing oracle', () => {
  const env = ['PIN=4821', 'GUESS=hunter22', 'TOKEN=hunter22'];
  const pins = Buffer.from(Array.from({ length: 10_000 }, (_, i) => String(i).padStart(4, '0')).join('\n'));
  assert.deepEqual(secretPatterns({ env, secretNames: ['PIN'], stdin: pins }), [], 'the PIN is among the guesses sent');
  assert.deepEqual(secretPatterns({ env, secretNames: ['TOKEN'] }), [], 'the caller set it in a variable of its own');
  assert.deepEqual(
    secretPatterns({ env, secretNames: ['PIN'], stdin: Buffer.from('1234') }).map(String),
    ['4821'],
    'a wrong guess changes nothing either',
  );
});

test('at most MAX_PATTERNS values and lines are looked for, whole values first', () => {
  const lines = Array.from({ length: 500 }, (_, i) => `line-${i}-of-a-long-key`).join('\n');
  const patterns = secretPatterns({ env: [`KEY=${lines}`, 'TOKEN=whole-value'], secretNames: ['KEY', 'TOKEN'] });
  assert.equal(patterns.length, MAX_PATTERNS);
  assert.deepEqual(patterns.slice(0, 2).map(String), [lines, 'whole-value']);
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
