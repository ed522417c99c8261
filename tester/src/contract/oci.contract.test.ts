/**
 * The executor contract for OciExecutor with runc (executor kind `oci`), in both of its uses:
 * one-shot sandboxes (one invocation, then destroyed) and warm, reusable ones. Skips with one line
 * where runc, the default seccomp profile, the guest agent or the Docker image store is missing.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { DEFAULT_AGENT_PATH, REPO_ROOT } from '@faas/common';
import { DEFAULT_SECCOMP_PROFILE, OciExecutor, ociContainerId, ociStateRoot, type Sandbox } from '@faas/executor';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DOCKER_HOST, dockerUnavailableReason } from '../support/docker.js';
import { oneShotView } from './docker-support.js';
import { runExecutorContract } from './executor-contract.js';

const run = promisify(execFile);
const RUNTIME = process.env.FAAS_OCI_RUNTIME ?? 'runc';
const RUN_ROOT = mkdtempSync(join(tmpdir(), 'faas-oci-contract-'));
const STATE_ROOT = ociStateRoot(RUN_ROOT, RUNTIME);
process.on('exit', () => rmSync(RUN_ROOT, { recursive: true, force: true }));
const agentPath = resolve(REPO_ROOT, DEFAULT_AGENT_PATH);

async function unavailableReason(): Promise<string | undefined> {
  try {
    await run(RUNTIME, ['--version']);
  } catch {
    return `no OCI runtime ${RUNTIME}: install runc`;
  }
  if (!existsSync(DEFAULT_SECCOMP_PROFILE)) return `no seccomp profile at ${DEFAULT_SECCOMP_PROFILE}: run scripts/setup-host.sh`;
  if (!existsSync(agentPath)) return `no guest agent at ${agentPath}: build it with \`bash guest-agent/build.sh\``;
  const docker = await dockerUnavailableReason();
  return docker ? `${docker}: start dockerd (scripts/setup-host.sh)` : undefined;
}

const unavailable = await unavailableReason();
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
            const facts = await executor.invoke(sandbox, {
              invocationId: `seccomp-${i}`,
              command: ['grep', '^Seccomp', '/proc/self/status'],
              env: ['PATH=/bin'],
              cwd: '/tmp',
              uid: 65534,
              gid: 65534,
              stdin: Buffer.alloc(0),
              timeoutMs: 10_000,
              outputBytes: 4096,
            });
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
