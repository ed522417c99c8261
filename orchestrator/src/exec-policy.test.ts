import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Invocation, loadConfig } from '@faas/common';
import { execPolicy, mergeEnv, resolveExecRequest } from './exec-policy.js';

const config = loadConfig({}, 2);
const invocation: Invocation = {
  id: 'inv',
  functionId: 'f',
  image: 'x',
  command: ['env'],
  env: ['A=caller', 'PATH=/opt/bin'],
  stdin: Buffer.alloc(0),
  limits: config.defaultLimits,
  timeoutMs: 1000,
  executor: 'docker',
};

test('env layers: platform defaults, then the image, then the caller; HOME stays the writable scratch', () => {
  const request = resolveExecRequest(
    invocation,
    { env: ['A=image', 'B=image', 'HOME=/root'], workingDir: undefined },
    execPolicy('65534:65534'),
    new AbortController().signal,
  );
  assert.deepEqual(request.env.sort(), ['A=caller', 'B=image', 'HOME=/tmp', 'PATH=/opt/bin']);
  assert.equal(request.cwd, '/tmp');
  assert.equal(request.uid, 65534);
  assert.equal(request.gid, 65534);
  assert.equal(request.outputBytes, config.defaultLimits.outputBytes);
});

test("the image's working directory is the command's", () => {
  const request = resolveExecRequest(invocation, { env: [], workingDir: '/app' }, execPolicy('1000'), new AbortController().signal);
  assert.equal(request.cwd, '/app');
  assert.equal(request.gid, 1000);
});

test('mergeEnv keeps one entry per key, the last layer winning', () => {
  assert.deepEqual(mergeEnv(['A=1', 'B=2'], ['A=3']), ['A=3', 'B=2']);
});
