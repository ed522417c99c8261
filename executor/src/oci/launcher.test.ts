import assert from 'node:assert/strict';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Launcher } from './launcher.js';

const collect = async (stream: NodeJS.ReadableStream) => {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString();
};

test('a launched process gets its files, its stdin, and reports its output before its exit', async () => {
  const launcher = new Launcher();
  const dir = join(mkdtempSync(join(tmpdir(), 'faas-launcher-')), 'bundle');
  try {
    const proc = launcher.spawn('/bin/sh', ['-c', `cat "${dir}/config.json"; cat; echo oops >&2; exit 3`], {
      dirs: [{ path: dir, mode: 0o700 }],
      files: [{ path: join(dir, 'config.json'), data: 'from-file ' }],
    });
    const out = collect(proc.stdout);
    const err = collect(proc.stderr);
    proc.stdin.write('from-stdin');
    proc.stdin.end();
    const [code, signal] = await once(proc, 'close');
    assert.deepEqual([code, signal], [3, null]);
    assert.equal(await out, 'from-file from-stdin');
    assert.equal(await err, 'oops\n');
    assert.equal(readFileSync(join(dir, 'config.json'), 'utf8'), 'from-file ');
    await launcher.rm(dir);
    assert.equal(existsSync(dir), false);
  } finally {
    await launcher.close();
    rmSync(join(dir, '..'), { recursive: true, force: true });
  }
});

test('kill reaches the process, and closing the launcher reports what it still ran as closed', async () => {
  const launcher = new Launcher();
  const killed = launcher.spawn('/bin/sleep', ['30']);
  killed.kill('SIGKILL');
  assert.deepEqual(await once(killed, 'close'), [null, 'SIGKILL']);
  const left = launcher.spawn('/bin/sleep', ['30']);
  left.on('error', () => {});
  const closed = once(left, 'close');
  await new Promise((r) => setTimeout(r, 100));
  await launcher.close();
  assert.deepEqual(await closed, [null, null]);
  assert.throws(() => launcher.spawn('/bin/true', []), /closed/);
});

test('a runtime that cannot be started reports an error, then its close', async () => {
  const launcher = new Launcher();
  try {
    const proc = launcher.spawn('/nonexistent/runtime', []);
    const errored = once(proc, 'error');
    const closed = new Promise((resolve) => proc.once('close', resolve));
    const [err] = await errored;
    assert.match((err as Error).message, /ENOENT/);
    await closed;
  } finally {
    await launcher.close();
  }
});
