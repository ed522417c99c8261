/**
 * Boots a real Firecracker VM; needs KVM and a firecracker binary, so on hosts without them the
 * suite skips with one line (see docs/microvm.md for running it). The parts that need no KVM (API
 * client, vsock handshake, jailer layout) have their own tests that always run.
 */
import assert from 'node:assert/strict';
import { constants, existsSync } from 'node:fs';
import { access, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { execRequest } from '../exec-request.js';
import type { Sandbox } from '../executor.js';
import { bootArgs, evenVcpus, FirecrackerExecutor, kvmUnusableReason } from './firecracker-executor.js';
import { elfInterpreter } from './jailer.js';

const MIB = 1024 * 1024;
const limits = { memoryBytes: 128 * MIB, cpus: 1, pids: 64, tmpBytes: 16 * MIB, outputBytes: MIB };
const repo = resolve(import.meta.dirname, '../../..');

test('boot arguments select the vsock transport and a read-only root', () => {
  const words = bootArgs(16).split(' ');
  for (const word of ['ro', 'root=/dev/vda', 'init=/faas/agent', 'faas.transport=vsock:52', 'faas.tmp_mb=16'])
    assert.ok(words.includes(word), word);
});

test('vCPU counts are 1 or even', () => {
  assert.deepEqual([1, 2, 3, 4, 5, 40].map(evenVcpus), [1, 2, 4, 4, 6, 32]);
});

test('with the jailer, a dynamically linked firecracker is refused at init, naming its loader', async (t) => {
  // The test runner stands in for a dynamically linked firecracker; /dev/kvm is checked first.
  const canOpenKvm = await access('/dev/kvm', constants.R_OK | constants.W_OK).then(
    () => true,
    () => false,
  );
  if (!canOpenKvm || !(await elfInterpreter(process.execPath))) {
    t.skip('needs /dev/kvm and a dynamically linked node');
    return;
  }
  const runtimeDir = await mkdtemp(join(tmpdir(), 'fc-dyn-'));
  try {
    const executor = new FirecrackerExecutor({
      binaryPath: process.execPath,
      kernelPath: process.execPath,
      rootfsPath: process.execPath,
      jailer: { path: '/bin/sh' },
      runtimeDir,
    });
    await assert.rejects(executor.init(), (err: Error) => /dynamically linked \(loader .*ld-.*\).*static build/.test(err.message));
  } finally {
    await rm(runtimeDir, { recursive: true, force: true });
  }
});

const binary = process.env.FAAS_FC_BINARY_PATH;
const missing = !binary || !existsSync(binary) ? 'FAAS_FC_BINARY_PATH is not set to a firecracker binary' : await kvmUnusableReason();
if (missing) {
  console.log(`skipping: firecracker VM tests need a booting KVM and FAAS_FC_BINARY_PATH (${missing}); see docs/microvm.md`);
} else {
  const kernelPath = process.env.FAAS_FC_KERNEL_PATH ?? join(repo, '.cache/kernel/vmlinux');
  const agentPath = process.env.FAAS_AGENT_PATH ?? join(repo, 'guest-agent/target/x86_64-unknown-linux-gnu/release/faas-guest-agent');
  let runtimeDir: string;
  let executor: FirecrackerExecutor;

  before(async () => {
    runtimeDir = await mkdtemp(join(tmpdir(), 'fc-'));
    executor = new FirecrackerExecutor({
      binaryPath: process.env.FAAS_FC_BINARY_PATH as string,
      kernelPath,
      ...(process.env.FAAS_FC_ROOTFS_PATH
        ? { rootfsPath: process.env.FAAS_FC_ROOTFS_PATH }
        : { rootfsDir: process.env.FAAS_ROOTFS_DIR ?? join(repo, '.cache/rootfs'), agentPath }),
      ...(process.env.FAAS_FC_JAILER_PATH ? { jailer: { path: process.env.FAAS_FC_JAILER_PATH } } : {}),
      runtimeDir,
      bootTimeoutMs: 10_000,
    });
    await executor.init();
  });

  after(async () => {
    await executor?.close();
    await rm(runtimeDir, { recursive: true, force: true });
  });

  test('a Firecracker VM runs a command, is reused after release, and leaves nothing behind', async () => {
    let sandbox: Sandbox | undefined;
    try {
      sandbox = await executor.acquire({ functionId: 'fc-test', image: 'faas/busybox:latest', limits });
      const first = await executor.invoke(
        sandbox,
        execRequest(['sh', '-c', 'cat; echo done'], { invocationId: 'a', stdin: Buffer.from('in\n'), timeoutMs: 5000 }),
      );
      assert.equal(first.stdout.toString(), 'in\ndone\n');
      await executor.release(sandbox);
      const second = await executor.invoke(
        sandbox,
        execRequest(['sh', '-c', 'exit 7'], { invocationId: 'b', stdin: Buffer.alloc(0), timeoutMs: 5000 }),
      );
      assert.equal(second.exitCode, 7);
    } finally {
      if (sandbox) await executor.destroy(sandbox);
    }
    assert.deepEqual(await readdir(runtimeDir), []);
  });

  test('VMs restored from a snapshot run commands and get their own randomness', async () => {
    const snapshotDir = await mkdtemp(join(tmpdir(), 'fc-snap-'));
    const snapshotting = new FirecrackerExecutor({
      binaryPath: process.env.FAAS_FC_BINARY_PATH as string,
      kernelPath,
      ...(process.env.FAAS_FC_ROOTFS_PATH
        ? { rootfsPath: process.env.FAAS_FC_ROOTFS_PATH }
        : { rootfsDir: process.env.FAAS_ROOTFS_DIR ?? join(repo, '.cache/rootfs'), agentPath }),
      ...(process.env.FAAS_FC_JAILER_PATH ? { jailer: { path: process.env.FAAS_FC_JAILER_PATH } } : {}),
      runtimeDir,
      bootTimeoutMs: 10_000,
      snapshots: true,
      snapshotDir,
    });
    const boxes: Sandbox[] = [];
    try {
      await snapshotting.init();
      for (const functionId of ['fc-snap-a', 'fc-snap-b'])
        boxes.push(await snapshotting.acquire({ functionId, image: 'faas/busybox:latest', limits }));
      assert.ok(
        (await readdir(snapshotDir)).some((n) => n.endsWith('.memory')),
        'a snapshot was built',
      );
      const outputs: string[] = [];
      for (const box of boxes) {
        const result = await snapshotting.invoke(
          box,
          execRequest(['sh', '-c', 'head -c 32 /dev/urandom | od -An -tx1; echo ok'], { invocationId: 'r', timeoutMs: 5000 }),
        );
        assert.match(result.stdout.toString(), /ok\n$/);
        outputs.push(result.stdout.toString());
      }
      assert.notEqual(outputs[0], outputs[1], 'two restored VMs read the same random bytes');
    } finally {
      for (const box of boxes) await snapshotting.destroy(box);
      await snapshotting.close();
      await rm(snapshotDir, { recursive: true, force: true });
    }
    assert.deepEqual(await readdir(runtimeDir), []);
  });
}
