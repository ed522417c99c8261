/**
 * Fixtures for the microVM executors' contract suites: the build outputs they need, and the
 * leftovers check (VMM processes and per-VM state folders under a runtime dir of the test's own).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DEFAULT_AGENT_PATH, REPO_ROOT } from '@faas/common';
import type { Sandbox } from '@faas/executor';

export const AGENT_PATH = resolve(REPO_ROOT, DEFAULT_AGENT_PATH);
export const KERNEL_PATH = resolve(REPO_ROOT, '.cache/kernel/vmlinux');
export const ROOTFS_DIR = resolve(REPO_ROOT, '.cache/rootfs');

/** Why the VM suites cannot run here, or undefined when they can. */
export function vmUnavailableReason(binary: string): string | undefined {
  if (!existsSync(AGENT_PATH)) return `no guest agent at ${AGENT_PATH}: build it with \`bash guest-agent/build.sh\``;
  if (!existsSync(KERNEL_PATH))
    return `no guest kernel at ${KERNEL_PATH}: build it with \`bash tools/firecracker-rootfs-builder/build-kernel.sh\``;
  try {
    execFileSync('sh', ['-c', `command -v ${binary}`], { stdio: 'ignore' });
  } catch {
    return `${binary} is not installed: apt-get install qemu-system-x86 qemu-utils (or FAAS_SETUP_VM=1 bash scripts/setup-host.sh)`;
  }
  return undefined;
}

/** A short runtime dir of the test's own, so leftovers are attributable (socket paths stay short). */
export function testRuntimeDir(kind: string): string {
  return mkdtempSync(join(tmpdir(), `fv-${kind}-`));
}

/** VMM processes started with this runtime dir, and state folders still in it. */
export function vmLeftovers(runtimeDir: string): () => Promise<string[]> {
  return async () => {
    const left: string[] = [];
    try {
      left.push(...readdirSync(runtimeDir).map((name) => `state dir ${join(runtimeDir, name)}`));
    } catch {
      // The executor removed the runtime dir itself.
    }
    for (const pid of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
      try {
        const cmdline = execFileSync('cat', [`/proc/${pid}/cmdline`], { encoding: 'utf8' });
        if (cmdline.includes(runtimeDir)) left.push(`process ${pid}: ${cmdline.replaceAll('\0', ' ').slice(0, 120)}`);
      } catch {
        // Exited while we looked.
      }
    }
    return left;
  };
}

/**
 * Kills a VM's VMM from outside the platform (as the host's OOM killer would), found through the
 * owner record of its state folder (`<runtimeDir>/<vm id>/owner.json`).
 */
export function vmmKiller(runtimeDir: string): (sandbox: Sandbox) => Promise<void> {
  return async (sandbox) => {
    const owner = JSON.parse(readFileSync(join(runtimeDir, sandbox.id, 'owner.json'), 'utf8')) as { vmmPid?: number };
    if (!owner.vmmPid) throw new Error(`VM ${sandbox.id} has no VMM pid recorded`);
    process.kill(owner.vmmPid, 'SIGKILL');
  };
}
