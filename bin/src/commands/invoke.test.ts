import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../main.js', import.meta.url));

test('--async with --wait is a usage error (exit 2), not one of them chosen silently', () => {
  const run = spawnSync(process.execPath, [MAIN, 'invoke', 'f', '--async', '--wait', '--no-stdin'], {
    encoding: 'utf8',
    // Nothing listens there: a run that got past the flags would fail to connect (125).
    env: { ...process.env, FAAS_URL: 'http://127.0.0.1:1', XDG_CONFIG_HOME: '/nonexistent-faas-test' },
    timeout: 30_000,
  });
  assert.equal(run.status, 2, run.stderr);
  assert.match(run.stderr, /'--async' cannot be used with option '--wait'/);
  assert.doesNotMatch(run.stderr, /\n\s+at /);
});
