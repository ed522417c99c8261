import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import { EXECUTOR_KINDS } from '@faas/common';
import { encodeExecuteInputs, encodeInvokeInputs } from './abi/inputs.js';
import { encodeResult } from './abi/results.js';
import { blueprintDefinitionText } from './definition.js';
import { EXECUTE_INPUTS, INVOKE_INPUTS, RESULT, RESULT_STATUSES, signatureOf } from './jobs.js';
import { decodeWithSpec, readJobSpec } from './spec-doc.js';
import { REPO } from './test-paths.js';

describe('docs/tangle-jobs.md (the job ABI spec)', () => {
  const spec = readJobSpec(resolve(REPO, 'docs/tangle-jobs.md'));

  it('writes the same layouts as blueprint/src/jobs.ts', () => {
    assert.deepEqual(
      Object.fromEntries(spec.layouts),
      {
        'execute.inputs.v1': signatureOf(EXECUTE_INPUTS),
        'invoke.inputs.v1': signatureOf(INVOKE_INPUTS),
        'result.v1': signatureOf(RESULT),
      },
      'edit docs/tangle-jobs.md and blueprint/src/jobs.ts together',
    );
  });

  it('numbers the statuses as the code does', () => {
    assert.deepEqual(
      [...spec.statuses.entries()],
      RESULT_STATUSES.map((s, i) => [i, s]),
    );
  });

  it('names every executor kind there is in the `executor` field of job 0', () => {
    const row = readFileSync(resolve(REPO, 'docs/tangle-jobs.md'), 'utf8')
      .split('\n')
      .find((line) => line.startsWith('| `executor` |'));
    assert.ok(row, 'the executor row of job 0');
    for (const kind of EXECUTOR_KINDS) assert.ok(row.includes(`\`${kind}\``), `docs/tangle-jobs.md: executor ${kind} is missing`);
  });

  it('decodes what the encoders write', () => {
    const exec = decodeWithSpec(spec, 'execute.inputs.v1', encodeExecuteInputs({ image: 'i', command: ['a', 'b'], cpuMillis: 250 }));
    assert.deepEqual([exec.version, exec.image, exec.command, exec.cpuMillis], [1, 'i', ['a', 'b'], 250]);
    const inv = decodeWithSpec(spec, 'invoke.inputs.v1', encodeInvokeInputs({ functionId: 'f', stdin: Buffer.from('x') }));
    assert.deepEqual([inv.functionId, inv.stdin], ['f', '0x78']);
    const result = decodeWithSpec(
      spec,
      'result.v1',
      encodeResult({
        invocationId: 'id',
        status: 'timed_out',
        exitCode: null,
        signal: 'SIGKILL',
        stdout: Buffer.from('o'),
        stderr: Buffer.alloc(0),
        truncated: false,
        errorCode: null,
        error: 'timed out',
        durationMs: 9,
      }),
    );
    assert.equal(spec.statuses.get(result.status as number), 'timed_out');
    assert.equal(result.exitCode, -1);
  });
});

describe('blueprint/blueprint.json', () => {
  it('is what blueprint/src/definition.ts generates (npm run definition -w blueprint)', () => {
    const pkg = JSON.parse(readFileSync(resolve(REPO, 'blueprint/package.json'), 'utf8'));
    const onDisk = readFileSync(resolve(REPO, 'blueprint/blueprint.json'), 'utf8');
    // Compared as JSON: the formatter may lay the file out its own way.
    assert.deepEqual(
      JSON.parse(onDisk),
      JSON.parse(blueprintDefinitionText(pkg.version)),
      'stale: run `npx tsc -b && npm run definition -w blueprint`',
    );
  });
});
