/**
 * Shared fixtures of the QEMU suites: prerequisites (with the one line a skip prints), an
 * executor on a private runtime dir, and the check that a test left no process, socket or file.
 */

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execRequest } from '../exec-request.js';
import type { ExecRequest } from '../executor.js';
import { QemuExecutor, type QemuExecutorOptions } from './qemu-executor.js';

const MIB = 1024 * 1024;
export const repo = resolve(import.meta.dirname, '../../..');
export const kernelPath = process.env.FAAS_FC_KERNEL_PATH ?? join(repo, '.cache/kernel/vmlinux');
export const agentPath = process.env.FAAS_AGENT_PATH ?? join(repo, 'guest-agent/target/x86_64-unknown-linux-gnu/release/faas-guest-agent');
export const rootfsDir = process.env.FAAS_ROOTFS_DIR ?? join(repo, '.cache/rootfs');
export const limits = { memoryBytes: 128 * MIB, cpus: 1, pids: 64, tmpBytes: 16 * MIB, outputBytes: MIB };

/** Names the first missing prerequisite, or undefined when the suite can run. */
export async function missingPrerequisite(images: string[]): Promise<string | undefined> {
  if (!existsSync(kernelPath)) return `the guest kernel at ${kernelPath} (build-kernel.sh)`;
  if (!existsSync(agentPath)) return `the guest agent at ${agentPath} (guest-agent/build.sh)`;
  if (spawnSync('qemu-system-x86_64', ['--version']).status !== 0) return 'qemu-system-x86_64 (apt-get install qemu-system-x86)';
  for (const image of images) {
    if (spawnSync('docker', ['image', 'inspect', image], { stdio: 'ignore' }).status !== 0)
      return `the image ${image} (tools/images/build-images.sh)`;
  }
  return undefined;
}

export async function newExecutor(options: Partial<QemuExecutorOptions> = {}): Promise<{ executor: QemuExecutor; runtimeDir: string }> {
  // Short: socket paths must stay under 108 bytes.
  const runtimeDir = options.runtimeDir ?? (await mkdtemp(join(tmpdir(), 'qv-')));
  // Cold boots unless a suite asks for snapshots: the fault cases are about booting.
  const executor = new QemuExecutor({ kernelPath, agentPath, rootfsDir, runtimeDir, bootTimeoutMs: 60_000, snapshots: false, ...options });
  return { executor, runtimeDir };
}

export function request(command: string[], extra: Partial<ExecRequest> = {}): ExecRequest {
  return execRequest(command, { timeoutMs: 20_000, ...extra });
}

/** Pids of processes whose command line mentions `text` (a runtime dir: only our VMMs do). */
export async function processesMentioning(text: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes(text)) pids.push(Number(entry));
  }
  return pids;
}

/** Asserts that the runtime dir is empty and that no process refers to it. */
export async function assertNothingLeft(runtimeDir: string): Promise<void> {
  assert.deepEqual(await readdir(runtimeDir), [], `files left in ${runtimeDir}`);
  assert.deepEqual(await processesMentioning(runtimeDir), [], `processes left for ${runtimeDir}`);
}
