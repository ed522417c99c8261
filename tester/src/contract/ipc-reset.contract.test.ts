/**
 * Reuse mode through the real executors and the real guest agent: whatever one invocation leaves
 * in the sandbox's IPC places (a file in /dev/shm, a POSIX message queue, System V shared memory,
 * message queue and semaphore set) is gone when the same sandbox runs the next invocation, after
 * the agent's RESET. Also how the agent reports a command killed by a signal: SIGABRT as the
 * signal with no exit code, and an out-of-memory kill as SIGKILL.
 *
 * The System V and POSIX objects are made by a small static helper (guest-agent/examples/
 * ipc-objects.rs, built here) that each invocation receives on its stdin and runs from a memfd
 * (faas/python, whose python3 has no ctypes, drives it).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_AGENT_PATH, REPO_ROOT, type ResourceLimits } from '@faas/common';
import { DockerExecutor, type ExecResult, type Executor, execRequest, QemuExecutor, type Sandbox } from '@faas/executor';
import { DOCKER_HOST, dockerUnavailableReason, runtimeUnavailableReason } from '../support/docker.js';
import { KERNEL_PATH, ROOTFS_DIR, testRuntimeDir, vmUnavailableReason } from './vm-support.js';

const MIB = 1024 * 1024;
const LIMITS: ResourceLimits = { memoryBytes: 128 * MIB, cpus: 1, pids: 128, tmpBytes: 8 * MIB, outputBytes: MIB };
const agentPath = resolve(REPO_ROOT, DEFAULT_AGENT_PATH);
const helperPath = resolve(REPO_ROOT, 'guest-agent/target/x86_64-unknown-linux-gnu/release/examples/ipc-objects');

/** Builds the static helper next to the agent (a no-op when current); the reason when it cannot. */
function buildHelper(): string | undefined {
  const build = spawnSync('bash', [resolve(REPO_ROOT, 'guest-agent/build.sh')], {
    env: { ...process.env, CARGO_FLAGS: '--example ipc-objects' },
    encoding: 'utf8',
  });
  if (build.status !== 0 || !existsSync(helperPath)) return `cannot build the IPC helper: ${build.stderr.slice(-2000)}`;
  return undefined;
}

const helperMissing = existsSync(agentPath) ? buildHelper() : `no guest agent at ${agentPath}: build it with \`bash guest-agent/build.sh\``;
const helper = helperMissing ? Buffer.alloc(0) : readFileSync(helperPath);

/**
 * The sandbox's writable places are mounted noexec (Docker's tmpfs default), so the helper runs
 * from a memfd: Python reads it from stdin into one, runs it through /proc/self/fd, and with
 * `write` first makes every kind of leftover, then prints what it can see:
 *   shm=N msg=N sem=N mq=N     System V objects of the IPC namespace, and the POSIX queue
 *   shm: NAMES                 the entries of /dev/shm
 *   mqueue: NAMES              the entries of /dev/mqueue ("-" where none is mounted)
 */
const PROBE = `import os, subprocess, sys
fd = os.memfd_create("ipc-objects")
os.write(fd, sys.stdin.buffer.read())
def helper(action):
    return subprocess.run(["/proc/self/fd/%d" % fd, action], pass_fds=(fd,), check=True, capture_output=True, text=True).stdout.strip()
if sys.argv[1] == "write":
    helper("create")
    open("/dev/shm/f", "w").write("secret")
    os.mkdir("/dev/shm/d")
    open("/dev/shm/d/g", "w").write("x")
    if os.path.isdir("/dev/mqueue"):
        os.close(os.open("/dev/mqueue/q", os.O_CREAT | os.O_WRONLY, 0o600))
print(helper("count"))
print("shm: " + " ".join(sorted(os.listdir("/dev/shm"))))
print("mqueue: " + (" ".join(sorted(os.listdir("/dev/mqueue"))) if os.path.isdir("/dev/mqueue") else "-"))
`;

function text(buf: Buffer): string {
  return buf.toString('utf8');
}

function summary(result: ExecResult): string {
  return JSON.stringify({
    exitCode: result.exitCode,
    signal: result.signal,
    timedOut: result.timedOut,
    startError: result.startError,
    stdout: text(result.stdout).slice(0, 500),
    stderr: text(result.stderr).slice(0, 500),
  });
}

interface Target {
  name: string;
  unavailable: () => Promise<string | undefined>;
  make: () => Executor;
  /** POSIX message queues whose leftovers this sandbox can show (none under gVisor: see docs/isolation.md). */
  mqueue: boolean;
  /** Why an out-of-memory kill cannot be reported as a command's end here, if it cannot. */
  oomSkip?: string;
}

const dockerBase = { dockerHost: DOCKER_HOST, imagePull: 'never' } as const;

const targets: Target[] = [
  {
    name: 'docker warm (guest agent)',
    unavailable: async () => (await dockerUnavailableReason()) ?? helperMissing,
    make: () => new DockerExecutor({ ...dockerBase, kind: 'docker', agentPath }),
    mqueue: true,
  },
  {
    name: 'gvisor warm (guest agent)',
    unavailable: async () => (await runtimeUnavailableReason('runsc')) ?? helperMissing,
    make: () => new DockerExecutor({ ...dockerBase, kind: 'gvisor', runtime: 'runsc', agentPath }),
    mqueue: false,
    // The host kernel enforces the memory limit on the whole sandbox (gVisor's Sentry holds the
    // command's memory), so its OOM kill takes the agent down with the command.
    oomSkip: 'under gVisor an out-of-memory kill ends the whole sandbox, agent included',
  },
  {
    name: 'qemu',
    unavailable: async () => vmUnavailableReason('qemu-system-x86_64') ?? helperMissing,
    make: () =>
      new QemuExecutor({
        kernelPath: KERNEL_PATH,
        rootfsDir: ROOTFS_DIR,
        agentPath,
        dockerHost: DOCKER_HOST,
        runtimeDir: testRuntimeDir('qemu'),
      }),
    mqueue: true,
  },
];

for (const target of targets) {
  const unavailable = await target.unavailable();
  describe(`RESET empties the IPC places, and signals are reported raw: ${target.name}`, { skip: unavailable, concurrency: 2 }, () => {
    const executor = target.make();
    const live = new Set<Sandbox>();

    before(() => executor.init());
    after(async () => {
      await Promise.allSettled([...live].map((s) => executor.destroy(s)));
      await executor.close();
    });

    async function acquire(image = 'faas/python:latest'): Promise<Sandbox> {
      const sandbox = await executor.acquire({ functionId: `ipc-reset-${randomUUID()}`, image, limits: LIMITS });
      live.add(sandbox);
      return sandbox;
    }

    async function done(sandbox: Sandbox): Promise<void> {
      live.delete(sandbox);
      await executor.destroy(sandbox);
    }

    function exec(sandbox: Sandbox, command: string[], stdin = Buffer.alloc(0)): Promise<ExecResult> {
      return executor.invoke(sandbox, execRequest(command, { stdin, timeoutMs: 60_000 }));
    }

    it('a reused sandbox holds no /dev/shm file, POSIX or System V IPC object of the previous invocation', async () => {
      const sandbox = await acquire();
      try {
        assert.equal(sandbox.reusable, true, 'warm sandboxes are reusable');
        for (let round = 0; round < 2; round++) {
          const first = await exec(sandbox, ['python3', '-c', PROBE, 'write'], helper);
          assert.equal(first.exitCode, 0, summary(first));
          const expected = target.mqueue
            ? 'shm=1 msg=1 sem=1 mq=1\nshm: d f\nmqueue: faas-probe q\n'
            : 'shm=1 msg=1 sem=1 mq=1\nshm: d f\nmqueue: -\n';
          assert.equal(text(first.stdout), expected, summary(first));
          await executor.release(sandbox);
          const second = await exec(sandbox, ['python3', '-c', PROBE, 'look'], helper);
          assert.equal(second.exitCode, 0, summary(second));
          const [objects, shm, mqueue] = text(second.stdout).split('\n');
          assert.match(objects ?? '', /^shm=0 msg=0 sem=0 /, `round ${round}: System V objects survived RESET: ${summary(second)}`);
          assert.equal(shm, 'shm: ', `round ${round}: /dev/shm was not emptied: ${summary(second)}`);
          if (target.mqueue) {
            assert.match(objects ?? '', / mq=0$/, `round ${round}: a POSIX message queue survived RESET: ${summary(second)}`);
            assert.equal(mqueue, 'mqueue: ', `round ${round}: /dev/mqueue was not emptied: ${summary(second)}`);
          }
          await executor.release(sandbox);
        }
      } finally {
        await done(sandbox);
      }
    });

    it('reports a command killed by SIGABRT as the signal, with no exit code', async () => {
      const sandbox = await acquire();
      try {
        const result = await exec(sandbox, ['python3', '-c', 'import os; os.abort()']);
        assert.equal(result.signal, 'SIGABRT', summary(result));
        assert.equal(result.exitCode, null, summary(result));
        assert.equal(result.timedOut, false, summary(result));
      } finally {
        await done(sandbox);
      }
    });

    it('reports a command killed for memory as SIGKILL', { skip: target.oomSkip }, async () => {
      const sandbox = await acquire();
      try {
        // Grows by 16 MiB of touched pages at a time until the kernel's OOM killer stops it.
        const result = await exec(sandbox, ['python3', '-c', 'a = []\nwhile True: a.append(b"x" * (16 << 20))']);
        assert.equal(result.signal, 'SIGKILL', summary(result));
        assert.equal(result.exitCode, null, summary(result));
        assert.equal(result.timedOut, false, summary(result));
      } finally {
        await done(sandbox);
      }
    });
  });
}
