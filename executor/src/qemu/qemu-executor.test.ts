/**
 * Boots real QEMU microVMs (TCG without /dev/kvm) from the busybox, python and node images and
 * drives them through the Executor interface. Needs: the guest kernel
 * (tools/firecracker-rootfs-builder/build-kernel.sh), the guest agent (guest-agent/build.sh, or
 * FAAS_AGENT_PATH), qemu-system-x86_64 and a Docker engine with the faas/* images; without them the
 * suite skips with one line. Fault cases (killed VMM, silent guest, garbage) live in
 * qemu-faults.test.ts.
 */
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import type { Sandbox } from '../executor.js';
import type { QemuExecutor } from './qemu-executor.js';
import { assertNothingLeft, limits, missingPrerequisite, newExecutor, request } from './test-fixtures.js';

const missing = await missingPrerequisite(['faas/busybox:latest', 'faas/python:latest']);
if (missing) console.log(`skipping: qemu tests need ${missing}; see docs/microvm.md`);
const noNode = await missingPrerequisite(['faas/node:latest']);

describe('qemu executor', { skip: missing !== undefined }, () => {
  let executor: QemuExecutor;
  let runtimeDir: string;

  before(async () => {
    ({ executor, runtimeDir } = await newExecutor());
    await executor.init();
  });

  after(async () => {
    await executor?.close();
    if (!runtimeDir) return;
    try {
      await assertNothingLeft(runtimeDir);
    } finally {
      await rm(runtimeDir, { recursive: true, force: true });
    }
  });

  describe('busybox VM', () => {
    let sandbox: Sandbox;
    before(async () => {
      sandbox = await executor.acquire({ functionId: 'qemu-busybox', image: 'faas/busybox:latest', limits });
    });
    after(async () => {
      if (sandbox) await executor.destroy(sandbox);
    });

    test('echo', async () => {
      const result = await executor.invoke(sandbox, request(['echo', 'hello', 'vm']));
      assert.equal(result.stdout.toString(), 'hello vm\n');
      assert.equal(result.exitCode, 0);
      await executor.release(sandbox);
    });

    test('stdin round-trip, stderr and environment', async () => {
      const stdin = Buffer.from(Array.from({ length: 3000 }, (_, i) => `line ${i}\n`).join(''));
      const result = await executor.invoke(
        sandbox,
        request(['sh', '-c', 'cat; echo "$GREETING" >&2; id -u'], { stdin, env: ['GREETING=hi'] }),
      );
      assert.equal(result.stdout.toString(), `${stdin.toString()}65534\n`);
      assert.equal(result.stderr.toString(), 'hi\n');
      await executor.release(sandbox);
    });

    test('exit codes and start errors are results, not failures', async () => {
      assert.equal((await executor.invoke(sandbox, request(['sh', '-c', 'exit 42']))).exitCode, 42);
      await executor.release(sandbox);
      const missingCommand = await executor.invoke(sandbox, request(['/no/such/binary']));
      assert.ok(missingCommand.startError, 'startError is set');
      await executor.release(sandbox);
    });

    test('a timeout kills the command and the VM stays usable', async () => {
      const started = Date.now();
      const result = await executor.invoke(sandbox, request(['sleep', '30'], { timeoutMs: 1000 }));
      assert.equal(result.timedOut, true);
      assert.equal(result.exitCode, null);
      assert.ok(Date.now() - started < 10_000);
      await executor.release(sandbox);
      assert.equal((await executor.invoke(sandbox, request(['true']))).exitCode, 0);
      await executor.release(sandbox);
    });

    test('the root filesystem is read-only and /tmp is writable', async () => {
      const result = await executor.invoke(
        sandbox,
        request(['sh', '-c', 'touch /x 2>/dev/null && echo rw || echo ro; echo ok > /tmp/f && cat /tmp/f']),
      );
      assert.equal(result.stdout.toString(), 'ro\nok\n');
      await executor.release(sandbox);
    });

    test('an aborted invocation ends at once and the VM is not reused', async () => {
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 300);
      const result = await executor.invoke(sandbox, { ...request(['sleep', '30']), signal: controller.signal });
      assert.equal(result.signal, 'SIGKILL');
      await assert.rejects(executor.release(sandbox), { code: 'FAAS_ERR_SANDBOX_FAILURE' });
    });
  });

  test('python runs in its own VM', async () => {
    const sandbox = await executor.acquire({ functionId: 'qemu-python', image: 'faas/python:latest', limits });
    try {
      const result = await executor.invoke(
        sandbox,
        request(['python3', '-c', 'import sys; data = sys.stdin.read(); print(len(data), 6 * 7)'], { stdin: Buffer.from('abc') }),
      );
      assert.equal(result.stdout.toString(), '3 42\n', result.stderr.toString());
    } finally {
      await executor.destroy(sandbox);
    }
  });

  test('node runs in its own VM', { skip: noNode }, async () => {
    const sandbox = await executor.acquire({ functionId: 'qemu-node', image: 'faas/node:latest', limits });
    try {
      const result = await executor.invoke(sandbox, request(['node', '-e', 'console.log(process.version.startsWith("v"), 6 * 7)']));
      assert.equal(result.stdout.toString(), 'true 42\n', result.stderr.toString());
    } finally {
      await executor.destroy(sandbox);
    }
  });
});
