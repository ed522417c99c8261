import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Invocation, loadConfig } from '@faas/common';
import { facts } from '@faas/executor';
import { buildOutcome, classify } from './outcome.js';

const config = loadConfig({}, 2);
const invocation: Invocation = {
  id: 'inv',
  functionId: 'f',
  image: 'faas/busybox:latest',
  command: ['true'],
  env: [],
  stdin: Buffer.alloc(0),
  limits: config.defaultLimits,
  timeoutMs: 1000,
  executor: 'docker',
};
const build = (extra: Parameters<typeof facts>[0]) =>
  buildOutcome(invocation, facts(extra), { started: performance.now(), phases: { queueMs: 0, acquireMs: 0, runMs: 0 } }, Promise.resolve());

test('a signal is reported as a signal, an exit code >128 as an exit code', () => {
  const aborted = build({ exitCode: null, signal: 'SIGABRT' });
  assert.equal(aborted.status, 'completed');
  assert.equal(aborted.exitCode, null);
  assert.equal(aborted.signal, 'SIGABRT');
  assert.equal(aborted.error, 'Command was killed by signal SIGABRT');
  const exited = build({ exitCode: 134 });
  assert.equal(exited.signal, null);
  assert.equal(exited.exitCode, 134);
  assert.equal(exited.error, 'Command exited with non-zero status: 134');
});

test('an OOM record counts only when the command itself died of SIGKILL', () => {
  const oom = build({ exitCode: null, signal: 'SIGKILL', oomKilled: true });
  assert.equal(oom.status, 'out_of_memory');
  assert.match(oom.error ?? '', /exceeded its memory limit of 256 MiB/);
  // A child killed for memory under a shell that carried on: the shell's exit is the answer.
  const child = build({ exitCode: 0, oomKilled: true });
  assert.equal(child.status, 'completed');
  assert.equal(child.error, null);
  // SIGKILL from elsewhere is just a signal.
  assert.equal(classify(facts({ exitCode: null, signal: 'SIGKILL' })), 'completed');
});

test('timeouts and cancellations are outcomes, reported as a platform kill whatever the wait status', () => {
  const timedOut = build({ exitCode: 143, timedOut: true });
  assert.equal(timedOut.status, 'timed_out');
  assert.equal(timedOut.exitCode, null);
  assert.equal(timedOut.signal, 'SIGKILL');
  assert.match(timedOut.error ?? '', /within its timeout of 1000 ms/);
  assert.equal(build({ exitCode: null, signal: 'SIGKILL', cancelled: true, timedOut: true }).status, 'cancelled');
});

test('a command that could not start says why, with its exit code', () => {
  const missing = build({ exitCode: 127, startError: 'command not found: nope' });
  assert.equal(missing.status, 'completed');
  assert.equal(missing.startError, 'command not found: nope');
  assert.equal(missing.error, 'command not found: nope');
});
