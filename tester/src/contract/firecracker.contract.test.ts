/**
 * The executor contract for FirecrackerExecutor. Firecracker needs a /dev/kvm that boots guests
 * and a firecracker binary (FAAS_FC_BINARY_PATH); where either is missing the suite skips with one
 * line (a nested kvm-pvm device counts as missing: it cannot boot an ordinary guest kernel). The
 * kernel is FAAS_FC_KERNEL_PATH or .cache/kernel/vmlinux. With FAAS_FC_ROOTFS_PATH every sandbox
 * uses that root filesystem (it must hold busybox and the agent: build-rootfs.mjs --output), so
 * neither Docker nor the agent binary is needed (this is how scripts/kvm-check.sh runs it on a bare
 * KVM host); otherwise root filesystems are built per image from local Docker images.
 * FAAS_FC_JAILER_PATH runs every VM under the jailer (as root). See docs/microvm.md.
 */
import { existsSync } from 'node:fs';
import { FirecrackerExecutor, kvmUnusableReason } from '@faas/executor';
import { DOCKER_HOST } from '../support/docker.js';
import { runExecutorContract } from './executor-contract.js';
import { AGENT_PATH, KERNEL_PATH, ROOTFS_DIR, testRuntimeDir, vmLeftovers, vmmKiller } from './vm-support.js';

const binary = process.env.FAAS_FC_BINARY_PATH;
const kernel = process.env.FAAS_FC_KERNEL_PATH ?? KERNEL_PATH;
const rootfsPath = process.env.FAAS_FC_ROOTFS_PATH;
const jailer = process.env.FAAS_FC_JAILER_PATH;

async function unavailable(): Promise<string | undefined> {
  const kvm = await kvmUnusableReason();
  if (kvm || !binary || !existsSync(binary))
    return `skipping: firecracker tests need a booting /dev/kvm and FAAS_FC_BINARY_PATH (${kvm ?? 'no binary'}); see docs/microvm.md`;
  if (!existsSync(kernel)) return `skipping: no guest kernel at ${kernel}; see docs/microvm.md`;
  if (rootfsPath ? !existsSync(rootfsPath) : !existsSync(AGENT_PATH))
    return `skipping: ${rootfsPath ? `no root filesystem at ${rootfsPath}` : 'build the guest agent first (or set FAAS_FC_ROOTFS_PATH)'}; see docs/microvm.md`;
  return undefined;
}
const reason = await unavailable();
const runtimeDir = reason ? '' : testRuntimeDir('fc');

await runExecutorContract(
  'firecracker',
  async () =>
    reason
      ? undefined
      : new FirecrackerExecutor({
          binaryPath: binary as string,
          kernelPath: kernel,
          ...(rootfsPath ? { rootfsPath } : { rootfsDir: ROOTFS_DIR, agentPath: AGENT_PATH, dockerHost: DOCKER_HOST }),
          ...(jailer ? { jailer: { path: jailer } } : {}),
          runtimeDir,
        }),
  {
    skipReason: () => `${reason}`,
    leftovers: vmLeftovers(runtimeDir),
    killFromOutside: vmmKiller(runtimeDir),
    concurrency: 2,
    ...(rootfsPath ? { noImageStore: 'FAAS_FC_ROOTFS_PATH: one fixed root filesystem serves every image' } : {}),
  },
);
