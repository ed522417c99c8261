/**
 * VMs started from snapshots under real QEMU (TCG here): a restored VM runs commands, siblings
 * restored from one snapshot read different random bytes at once (the identity refresh), a
 * corrupt or stale snapshot costs a cold boot instead of the call, and nothing but the cache
 * entries outlives destroy. Skips with one line like the other QEMU suites.
 */
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Logger } from '@faas/common';
import type { Sandbox } from '../executor.js';
import type { QemuExecutor } from './qemu-executor.js';
import { assertNothingLeft, limits, missingPrerequisite, newExecutor, request } from './test-fixtures.js';

const missing = await missingPrerequisite(['faas/busybox:latest']);
if (missing) console.log(`skipping: qemu snapshot tests need ${missing}; see docs/microvm.md`);

const MIB = 1024 * 1024;
const image = 'faas/busybox:latest';
const warnings: string[] = [];
const infos: string[] = [];
const logger: Logger = {
  debug() {},
  info: (_o: unknown, message?: string) => void infos.push(String(message)),
  warn: (_o: unknown, message?: string) => void warnings.push(String(message)),
  error() {},
  child() {
    return logger;
  },
} as unknown as Logger;

describe('qemu snapshots', { skip: missing !== undefined }, () => {
  let executor: QemuExecutor;
  let runtimeDir: string;
  let snapshotDir: string;

  before(async () => {
    snapshotDir = await mkdtemp(join(tmpdir(), 'qv-snap-'));
    ({ executor, runtimeDir } = await newExecutor({ snapshots: true, snapshotDir, logger }));
    await executor.init();
  });

  after(async () => {
    await executor?.close();
    try {
      if (runtimeDir) await assertNothingLeft(runtimeDir);
      // Only complete cache entries remain: no temporary files of a build.
      if (snapshotDir) for (const name of await readdir(snapshotDir)) assert.match(name, /^qemu-[0-9a-f]{32}\.(state|json)$/);
    } finally {
      await rm(runtimeDir, { recursive: true, force: true });
      await rm(snapshotDir, { recursive: true, force: true });
    }
  });

  const stateFiles = async () => (await readdir(snapshotDir)).filter((n) => n.endsWith('.state')).map((n) => join(snapshotDir, n));

  test('restored VMs run commands and each gets its own randomness', async () => {
    const boxes: Sandbox[] = [];
    try {
      boxes.push(await executor.acquire({ functionId: 'snap-a', image, limits }));
      assert.equal((await stateFiles()).length, 1, 'the first acquire built a snapshot');
      boxes.push(await executor.acquire({ functionId: 'snap-b', image, limits }));
      const [a, b] = boxes as [Sandbox, Sandbox];
      // Right after restore, before anything else ran: the siblings must not share RNG output.
      const random = async (box: Sandbox) =>
        (await executor.invoke(box, request(['sh', '-c', 'head -c 32 /dev/urandom | od -An -tx1']))).stdout.toString();
      const [ra, rb] = [await random(a), await random(b)];
      assert.match(ra, /[0-9a-f]{2}/);
      assert.notEqual(ra, rb, 'two restored VMs read the same random bytes');
      await executor.release(a);
      assert.equal((await executor.invoke(a, request(['echo', 'hello', 'snapshot']))).stdout.toString(), 'hello snapshot\n');
      await executor.release(a);
      const stdin = Buffer.from(Array.from({ length: 2000 }, (_, i) => `line ${i}\n`).join(''));
      const echoed = await executor.invoke(b, request(['sh', '-c', 'cat; date +%s'], { stdin }));
      const [, clock] = /\n(\d+)\n$/.exec(echoed.stdout.toString()) ?? [];
      assert.ok(echoed.stdout.subarray(0, stdin.length).equals(stdin), 'stdin round trip');
      assert.ok(Math.abs(Number(clock) - Date.now() / 1000) < 30, 'the guest clock was set from the host');
      assert.ok(!warnings.some((w) => /restore failed/.test(w)), warnings.join('; '));
    } finally {
      for (const box of boxes) await executor.destroy(box);
    }
  });

  test('a corrupt snapshot falls back to a cold boot and its entry is dropped', async () => {
    const [state] = await stateFiles();
    assert.ok(state);
    await writeFile(state, Buffer.alloc(64 * 1024, 0x5a));
    warnings.length = 0;
    const box = await executor.acquire({ functionId: 'snap-corrupt', image, limits });
    try {
      assert.ok(
        warnings.some((w) => /restore failed/.test(w)),
        `expected a fallback warning, got ${warnings.join('; ')}`,
      );
      assert.equal((await executor.invoke(box, request(['echo', 'cold']))).stdout.toString(), 'cold\n');
    } finally {
      await executor.destroy(box);
    }
    assert.deepEqual(await stateFiles(), [], 'the corrupt entry was removed');
  });

  test('a stale snapshot (another VM shape under this key) falls back to a cold boot', async () => {
    // Build the entry for 64 MiB, then replace it with a 128 MiB VM's state: QEMU refuses the
    // RAM size on load, as it would a snapshot from an older build whose key collided.
    const small = { ...limits, memoryBytes: 64 * MIB };
    await executor.destroy(await executor.acquire({ functionId: 'snap-small', image, limits: small }));
    const [smallState] = await stateFiles();
    assert.ok(smallState);
    const other = await executor.acquire({ functionId: 'snap-big', image, limits });
    await executor.destroy(other);
    const bigState = (await stateFiles()).find((f) => f !== smallState);
    assert.ok(bigState);
    await copyFile(bigState, smallState);
    warnings.length = 0;
    const box = await executor.acquire({ functionId: 'snap-stale', image, limits: small });
    try {
      assert.ok(
        warnings.some((w) => /restore failed/.test(w)),
        `expected a fallback warning, got ${warnings.join('; ')}`,
      );
      assert.equal((await executor.invoke(box, request(['echo', 'fine']))).exitCode, 0);
    } finally {
      await executor.destroy(box);
    }
  });
});
