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

    test('commands run under no_new_privs, on a nosuid root, with inode-capped tmpfs', async () => {
      const script = [
        'grep ^NoNewPrivs: /proc/self/status',
        // Mount options of /, /tmp and /dev/shm, one line each.
        'awk \'$2 == "/" || $2 == "/tmp" || $2 == "/dev/shm" { print $2, $4 }\' /proc/mounts',
      ].join('; ');
      const result = await executor.invoke(sandbox, request(['sh', '-c', script]));
      const [nnp, ...mounts] = result.stdout.toString().trim().split('\n');
      assert.equal(nnp, 'NoNewPrivs:\t1', result.stderr.toString());
      const options = new Map(mounts.map((line) => line.split(' ') as [string, string]));
      for (const flag of ['ro', 'nosuid', 'nodev']) assert.ok(options.get('/')?.split(',').includes(flag), `/ is ${options.get('/')}`);
      // One inode per 4 KiB of the 16 MiB tmpfs, as a container's /tmp gets (tmpInodes).
      for (const place of ['/tmp', '/dev/shm']) {
        const opts = options.get(place)?.split(',') ?? [];
        assert.ok(opts.includes('nosuid') && opts.includes('nr_inodes=4096'), `${place} is ${options.get(place)}`);
      }
      await executor.release(sandbox);
    });

    test('limits.pids caps the processes a command can have (RLIMIT_NPROC in the guest)', async () => {
      // Each background sleep is one more process of the sandbox user, the shell the first; once
      // a fork fails the shell gives up, so the lines are the forks that succeeded.
      const script = 'for i in $(seq 200); do sleep 30 & echo started; done';
      const result = await executor.invoke(sandbox, request(['sh', '-c', script]));
      const forked = result.stdout.toString().split('\n').filter(Boolean).length;
      assert.ok(forked >= 1 && forked < limits.pids, `forked ${forked} under pids ${limits.pids}: ${result.stderr.toString()}`);
      assert.match(result.stderr.toString(), /can't fork/);
      assert.equal((await executor.invoke(sandbox, request(['sh', '-c', 'ulimit -u']))).stdout.toString(), `${limits.pids}\n`);
      await executor.release(sandbox);
      // The next invocation of the reused VM starts with the count back at its own processes.
      const again = await executor.invoke(sandbox, request(['sh', '-c', 'sleep 1 & sleep 1 & wait; echo done']));
      assert.equal(again.stdout.toString(), 'done\n', again.stderr.toString());
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

  test("the image's setuid su gains nothing: no_new_privs and a nosuid root", async () => {
    const sandbox = await executor.acquire({ functionId: 'qemu-python-su', image: 'faas/python:latest', limits });
    try {
      const mode = await executor.invoke(sandbox, request(['stat', '-c', '%A %U', '/bin/su']));
      assert.equal(mode.stdout.toString(), '-rwsr-xr-x root\n', 'the image still ships su setuid root');
      await executor.release(sandbox);
      // su waits at its password prompt, long enough to read its credentials: a setuid bit that
      // took effect shows as effective and saved uid 0 (as it does in a container without
      // no-new-privileges: "Uid: 65534 0 0 0").
      const script = [
        'sleep 5 | su -c true root &',
        'pid=$!',
        'for i in $(seq 100); do grep -q "^Name:[[:space:]]*su$" /proc/$pid/status && break; sleep 0.1; done',
        'grep -E "^(Name|Uid):" /proc/$pid/status',
      ].join('\n');
      const su = await executor.invoke(sandbox, request(['sh', '-c', script]));
      assert.match(su.stdout.toString(), /Name:\tsu\nUid:\t65534\t65534\t65534\t65534\n/, su.stderr.toString());
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
