/**
 * The executor contract for OciExecutor with runc (executor kind `oci`), in both of its uses:
 * one-shot sandboxes (one invocation, then destroyed) and warm, reusable ones. Skips with one line
 * where runc, the default seccomp profile, the guest agent or the Docker image store is missing.
 */

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { DEFAULT_AGENT_PATH, REPO_ROOT } from '@faas/common';
import { execRequest, OciExecutor, ociContainerId, ociStateRoot, type Sandbox } from '@faas/executor';
import { DOCKER_HOST } from '../support/docker.js';
import { ociUnavailableReason } from '../support/oci.js';
import { oneShotView } from './docker-support.js';
import { runExecutorContract } from './executor-contract.js';

const run = promisify(execFile);
const RUNTIME = process.env.FAAS_OCI_RUNTIME ?? 'runc';
const RUN_ROOT = mkdtempSync(join(tmpdir(), 'faas-oci-contract-'));
const STATE_ROOT = ociStateRoot(RUN_ROOT, RUNTIME);
process.on('exit', () => rmSync(RUN_ROOT, { recursive: true, force: true }));
const agentPath = resolve(REPO_ROOT, DEFAULT_AGENT_PATH);

const unavailable = await ociUnavailableReason(RUNTIME, agentPath);
const create = (runtimePath = RUNTIME) =>
  new OciExecutor({
    runtimePath,
    dockerHost: DOCKER_HOST,
    imagePull: 'never',
    agentPath,
    cacheDir: resolve(REPO_ROOT, '.cache/oci-rootfs'),
    runRoot: RUN_ROOT,
  });

/** Containers of this test process still in the runtime's state, and bundles still on disk. */
async function leftovers(): Promise<string[]> {
  const prefix = `faas-${process.pid}-`;
  const found: string[] = [];
  try {
    const { stdout } = await run(RUNTIME, ['--root', STATE_ROOT, 'list', '--format', 'json']);
    for (const c of (JSON.parse(stdout.trim() || 'null') ?? []) as { id: string; status: string }[]) {
      if (c.id.startsWith(prefix)) found.push(`container ${c.id} (${c.status})`);
    }
  } catch {
    // no state folder yet
  }
  try {
    for (const name of readdirSync(join(RUN_ROOT, 'oci-bundles'))) if (name.startsWith(prefix)) found.push(`bundle ${name}`);
  } catch {
    // no bundles folder yet
  }
  return found;
}

/** Kills a sandbox's container from outside the platform (`runc kill`). */
async function killFromOutside(sandbox: Sandbox): Promise<void> {
  await run(RUNTIME, ['--root', STATE_ROOT, 'kill', ociContainerId(sandbox), 'KILL']);
}

const skipReason = () => unavailable ?? '';

await runExecutorContract('oci one-shot', async () => (unavailable ? undefined : oneShotView(create())), {
  skipReason,
  leftovers,
  killFromOutside,
  concurrency: 4,
});

await runExecutorContract('oci warm (guest agent)', async () => (unavailable ? undefined : create()), {
  skipReason,
  leftovers,
  killFromOutside,
  concurrency: 4,
});

/**
 * Each runtime installed here: every sandbox runs under one seccomp filter, the first one and
 * those after it (crun gets the filter it compiled for the first sandbox handed back as
 * run.oci.seccomp_bpf_data; a broken hand-back would fail the start or leave no filter).
 */
describe('oci seccomp filter', () => {
  for (const runtime of ['runc', 'crun', 'runsc']) {
    it(`${runtime}: every sandbox, the first and the later ones, runs in seccomp filter mode`, async (t) => {
      const missing = await run(runtime, ['--version']).then(
        () => undefined,
        () => `no ${runtime}: install the Debian package ${runtime}`,
      );
      const reason = unavailable ?? missing;
      if (reason) {
        t.skip(reason);
        return;
      }
      const executor = create(runtime);
      await executor.init();
      try {
        const limits = { memoryBytes: 128 << 20, cpus: 1, pids: 64, tmpBytes: 16 << 20, outputBytes: 4096 };
        for (let i = 0; i < 3; i++) {
          const sandbox = await executor.acquire({ image: 'faas/busybox:latest', functionId: 'seccomp', limits, oneShot: true });
          try {
            const facts = await executor.invoke(
              sandbox,
              execRequest(['grep', '^Seccomp', '/proc/self/status'], {
                invocationId: `seccomp-${i}`,
                timeoutMs: 10_000,
                outputBytes: 4096,
              }),
            );
            assert.equal(facts.exitCode, 0, facts.stderr.toString());
            // Seccomp: 2 is SECCOMP_MODE_FILTER (proc(5)); gVisor reports the filter mode too.
            assert.match(facts.stdout.toString(), /^Seccomp:\s+2$/m, `sandbox ${i}: ${facts.stdout}`);
          } finally {
            await executor.destroy(sandbox);
          }
        }
      } finally {
        await executor.close();
      }
    });
  }
});

/** The host pids of a sandbox's container, from its cgroup (cgroupfs layout, /faas-oci/<container>). */
function containerPids(sandbox: Sandbox): number[] {
  const id = ociContainerId(sandbox);
  for (const dir of [`/sys/fs/cgroup/pids/faas-oci/${id}`, `/sys/fs/cgroup/faas-oci/${id}`]) {
    try {
      return readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
    } catch {
      // the other cgroup layout
    }
  }
  return [];
}

/** The real, effective, saved and filesystem uids of a host process (proc(5)). */
function hostUids(pid: number): number[] {
  const line = /^Uid:\s+(.*)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? '';
  return line.split(/\s+/).map(Number);
}

/**
 * FAAS_OCI_USERNS (default auto): where the host allows user namespaces, a sandbox's container
 * ids 0..65535 are a host range of its own, so neither the agent (root inside) nor the function
 * (65534 inside) is host root or the host's nobody, and two live sandboxes share no host id.
 */
describe('oci user namespaces', () => {
  it(`${RUNTIME}: a command runs as an unprivileged host uid of its own sandbox's range, and two live sandboxes have disjoint ranges`, async (t) => {
    if (unavailable) {
      t.skip(unavailable);
      return;
    }
    const executor = create();
    await executor.init();
    try {
      const userns = executor.userns;
      if (!userns.active) {
        t.skip(`no user namespaces here: ${userns.reason}`);
        return;
      }
      const limits = { memoryBytes: 128 << 20, cpus: 1, pids: 64, tmpBytes: 16 << 20, outputBytes: 4096 };
      const spec = { image: 'faas/busybox:latest', functionId: 'userns', limits };
      const a = await executor.acquire(spec);
      try {
        const b = await executor.acquire(spec);
        try {
          const exec = (sandbox: Sandbox, command: string[]) =>
            executor.invoke(sandbox, execRequest(command, { invocationId: `userns-${sandbox.id}`, timeoutMs: 10_000, outputBytes: 4096 }));
          const ranges = [];
          for (const sandbox of [a, b]) {
            const facts = await exec(sandbox, ['cat', '/proc/self/uid_map', '/proc/self/gid_map']);
            assert.equal(facts.exitCode, 0, facts.stderr.toString());
            const maps = facts.stdout
              .toString()
              .trim()
              .split('\n')
              .map((line) => line.trim().split(/\s+/).map(Number));
            assert.equal(maps.length, 2, facts.stdout.toString());
            const [inside, host, size] = maps[0] as [number, number, number];
            assert.deepEqual(maps[1], maps[0], 'gids map like uids');
            assert.equal(inside, 0);
            assert.equal(size, 65536);
            assert.ok(host > 65535 && host + size - 1 <= 2 ** 32 - 2, `host range ${host}+${size}`);
            assert.deepEqual(executor.hostIds(sandbox), { containerID: 0, hostID: host, size });
            ranges.push({ host, size });

            // On the host: while a command sleeps, every process of the container has a uid of the range.
            const running = exec(sandbox, ['sleep', '1']);
            let uids: number[][] = [];
            for (let i = 0; i < 50 && uids.length < 2; i++) {
              await new Promise((resolve) => setTimeout(resolve, 20));
              uids = containerPids(sandbox).map(hostUids);
            }
            assert.equal((await running).exitCode, 0);
            assert.ok(uids.length >= 2, `agent and command seen on the host: ${JSON.stringify(uids)}`);
            const all = uids.flat();
            assert.ok(
              all.every((uid) => uid !== 0 && uid !== 65534 && uid >= host && uid < host + size),
              `host uids ${all.join(',')} in ${host}..${host + size - 1}`,
            );
            assert.ok(all.includes(host + 65534), `the command runs as host ${host + 65534} (65534 inside): ${all.join(',')}`);
          }
          const [first, second] = ranges as [{ host: number; size: number }, { host: number; size: number }];
          assert.ok(
            first.host + first.size <= second.host || second.host + second.size <= first.host,
            `disjoint: ${JSON.stringify(ranges)}`,
          );
        } finally {
          await executor.destroy(b);
        }
      } finally {
        await executor.destroy(a);
      }
    } finally {
      await executor.close();
    }
  });
});
