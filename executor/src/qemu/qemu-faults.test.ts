/**
 * What the QEMU executor does when the VM misbehaves: a VMM killed mid-invoke, a guest whose
 * agent never answers, an agent that sends garbage, an init that dies at boot, and VMs left
 * behind by a crashed platform. Each must end in one clear platform fault (FAAS_ERR_SANDBOX_LOST
 * for a VM that died under a command or was killed while it booted, FAAS_ERR_SANDBOX_FAILURE
 * otherwise; a boot's failure says started false) or a clean sweep, and
 * leave no process, socket or file. Stand-in agents are shell scripts run as init.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { isFaasError } from '@faas/common';
import type { Sandbox } from '../executor.js';
import { faultStarted } from '../faults.js';
import type { QemuExecutor } from './qemu-executor.js';
import { assertNothingLeft, limits, missingPrerequisite, newExecutor, processesMentioning, request } from './test-fixtures.js';

const missing = await missingPrerequisite(['faas/busybox:latest']);
if (missing) console.log(`skipping: qemu fault tests need ${missing}; see docs/microvm.md`);

const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** An executor whose VMs boot `script` as their agent, from a private rootfs cache. */
async function withFakeAgent(script: string, bootTimeoutMs: number): Promise<{ executor: QemuExecutor; runtimeDir: string }> {
  const work = await mkdtemp(join(tmpdir(), 'qv-fake-'));
  const agent = join(work, 'agent.sh');
  await writeFile(agent, script);
  await chmod(agent, 0o755);
  const made = await newExecutor({ agentPath: agent, rootfsDir: join(work, 'rootfs'), bootTimeoutMs });
  cleanups.push(async () => {
    await made.executor.close();
    await rm(made.runtimeDir, { recursive: true, force: true });
    await rm(work, { recursive: true, force: true });
  });
  await made.executor.init();
  return made;
}

function isSandboxFailure(pattern: RegExp, started?: boolean) {
  return (err: unknown) => {
    assert.ok(isFaasError(err, 'FAAS_ERR_SANDBOX_FAILURE'), `expected FAAS_ERR_SANDBOX_FAILURE, got ${String(err)}`);
    assert.match((err as Error).message, pattern);
    if (started !== undefined) assert.equal(faultStarted(err), started);
    return true;
  };
}

/** A failure while the VM boots: nothing was sent to it (`started` false), and it is not tried again. */
const bootFailure = (pattern: RegExp) => isSandboxFailure(pattern, false);

describe('qemu faults', { skip: missing !== undefined }, () => {
  test('killing QEMU mid-invoke fails the invocation and leaves nothing', async () => {
    const { executor, runtimeDir } = await newExecutor();
    cleanups.push(() => rm(runtimeDir, { recursive: true, force: true }));
    await executor.init();
    const sandbox = await executor.acquire({ functionId: 'fault-kill', image: 'faas/busybox:latest', limits });
    try {
      const [pid] = await processesMentioning(runtimeDir);
      assert.ok(pid, 'QEMU runs');
      setTimeout(() => process.kill(pid, 'SIGKILL'), 500);
      await assert.rejects(executor.invoke(sandbox, request(['sleep', '30'])), (err: unknown) => {
        assert.ok(isFaasError(err, 'FAAS_ERR_SANDBOX_LOST'), `expected FAAS_ERR_SANDBOX_LOST, got ${String(err)}`);
        assert.equal(faultStarted(err), true);
        assert.match((err as Error).message, /VMM was killed by SIGKILL/);
        return true;
      });
      await assert.rejects(executor.release(sandbox), isSandboxFailure(/cannot be reused/));
    } finally {
      await executor.destroy(sandbox);
    }
    await assertNothingLeft(runtimeDir);
  });

  test('a guest that never answers fails acquire at the boot deadline', async () => {
    const { executor, runtimeDir } = await withFakeAgent('#!/bin/sh\nexec sleep 1000\n', 5000);
    const started = Date.now();
    await assert.rejects(
      executor.acquire({ functionId: 'fault-silent', image: 'faas/busybox:latest', limits }),
      bootFailure(/did not answer HELLO/),
    );
    assert.ok(Date.now() - started < 15_000);
    await assertNothingLeft(runtimeDir);
  });

  test('an agent that sends garbage is cut off', async () => {
    const garbage = [
      '#!/bin/sh',
      'mount -t devtmpfs dev /dev',
      // An impossible frame length, forever: the host must stop reading at the first header.
      'while :; do for p in /dev/vport*p1; do [ -e "$p" ] && while :; do printf "\\377\\377\\377\\377\\001"; done > "$p"; done; sleep 0.1; done',
      '',
    ].join('\n');
    const { executor, runtimeDir } = await withFakeAgent(garbage, 30_000);
    await assert.rejects(
      executor.acquire({ functionId: 'fault-garbage', image: 'faas/busybox:latest', limits }),
      bootFailure(/invalid frame/),
    );
    await assertNothingLeft(runtimeDir);
  });

  test('an init that exits at boot is reported by the VMM exit, at once', async () => {
    const { executor, runtimeDir } = await withFakeAgent('#!/bin/sh\nexit 3\n', 60_000);
    const started = Date.now();
    await assert.rejects(executor.acquire({ functionId: 'fault-exit', image: 'faas/busybox:latest', limits }), bootFailure(/VMM exited/));
    assert.ok(Date.now() - started < 30_000);
    await assertNothingLeft(runtimeDir);
  });

  test('a VMM killed from outside while the VM boots is a sandbox lost while starting, started false', async () => {
    const { executor, runtimeDir } = await withFakeAgent('#!/bin/sh\nexec sleep 1000\n', 60_000);
    const acquiring = executor.acquire({ functionId: 'fault-boot-kill', image: 'faas/busybox:latest', limits }).then(
      () => assert.fail('the VM booted'),
      (err: unknown) => err,
    );
    // The VMM itself (qemu-img, which makes the VM's overlay first, also names the runtime dir
    // and is gone at once): killed once it is there, looked for again if it was not yet.
    let killed = false;
    for (const until = Date.now() + 60_000; !killed && Date.now() < until; ) {
      for (const pid of await processesMentioning(runtimeDir)) {
        const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
        if (!cmdline.startsWith('qemu-system') && !cmdline.includes('/qemu-system')) continue;
        try {
          process.kill(pid, 'SIGKILL');
          killed = true;
        } catch {
          // Gone between the scan and the kill: look again.
        }
      }
      if (!killed) await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(killed, 'QEMU never ran');
    const err = await acquiring;
    assert.ok(isFaasError(err, 'FAAS_ERR_SANDBOX_LOST'), `expected FAAS_ERR_SANDBOX_LOST, got ${String(err)}`);
    assert.equal(faultStarted(err), false);
    assert.match((err as Error).message, /died while booting: its VMM was killed by SIGKILL/);
    await assertNothingLeft(runtimeDir);
  });

  test('init() of a new executor removes the VMs of a crashed one', async () => {
    const { executor: crashed, runtimeDir } = await newExecutor();
    cleanups.push(() => rm(runtimeDir, { recursive: true, force: true }));
    await crashed.init();
    const sandbox: Sandbox = await crashed.acquire({ functionId: 'fault-crash', image: 'faas/busybox:latest', limits });
    // Pretend the platform process that started it died: its owner record names a dead pid.
    const ownerFile = join(runtimeDir, sandbox.id, 'owner.json');
    const owner = JSON.parse(await readFile(ownerFile, 'utf8')) as Record<string, unknown>;
    await writeFile(ownerFile, JSON.stringify({ ...owner, hostPid: spawnSync('true').pid }));

    const { executor: restarted } = await newExecutor({ runtimeDir });
    await restarted.init();
    await assertNothingLeft(runtimeDir);
    await crashed.destroy(sandbox);
    await restarted.close();
  });
});
