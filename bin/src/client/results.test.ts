import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { InvokeResult } from '@faas/sdk';
import { emitResult, TRUNCATED } from './results.js';

/** Runs `body` with process.stdout and process.stderr captured. */
async function captured(body: () => Promise<unknown>): Promise<{ stdout: string; stderr: string }> {
  const out = { stdout: '', stderr: '' };
  const saved = { stdout: process.stdout.write, stderr: process.stderr.write };
  const capture = (name: 'stdout' | 'stderr') =>
    ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      out[name] += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
      const callback = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
      callback?.();
      return true;
    }) as typeof process.stdout.write;
  process.stdout.write = capture('stdout');
  process.stderr.write = capture('stderr');
  try {
    await body();
  } finally {
    process.stdout.write = saved.stdout;
    process.stderr.write = saved.stderr;
  }
  return out;
}

function result(truncated: boolean): InvokeResult {
  return {
    stdout: new TextEncoder().encode('out'),
    stderr: new TextEncoder().encode('err'),
    exit_code: 0,
    signal: null,
    error: null,
    truncated,
  } as unknown as InvokeResult;
}

test('a whole output is written as it is', async () => {
  const out = await captured(() => emitResult(result(false), false));
  assert.deepEqual(out, { stdout: 'out', stderr: 'err' });
});

test('an output the platform cut says so on stderr, after it', async () => {
  let code: number | undefined;
  const out = await captured(async () => {
    code = await emitResult(result(true), false);
  });
  assert.equal(out.stdout, 'out');
  assert.equal(out.stderr, `err\nfaas: ${TRUNCATED}\n`);
  assert.equal(code, 0);
});
