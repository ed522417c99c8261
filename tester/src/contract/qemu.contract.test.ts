/**
 * The executor contract for QemuExecutor: real microVMs (KVM when usable, software emulation here)
 * booting the guest kernel with the agent as init, one VM per sandbox.
 */
import { QemuExecutor } from '@faas/executor';
import { DOCKER_HOST } from '../support/docker.js';
import { runExecutorContract } from './executor-contract.js';
import { AGENT_PATH, KERNEL_PATH, ROOTFS_DIR, testRuntimeDir, vmLeftovers, vmmKiller, vmUnavailableReason } from './vm-support.js';

const unavailable = vmUnavailableReason('qemu-system-x86_64');
const runtimeDir = testRuntimeDir('qemu');

await runExecutorContract(
  'qemu',
  async () =>
    unavailable
      ? undefined
      : new QemuExecutor({ kernelPath: KERNEL_PATH, rootfsDir: ROOTFS_DIR, agentPath: AGENT_PATH, dockerHost: DOCKER_HOST, runtimeDir }),
  {
    skipReason: () => `${unavailable}`,
    leftovers: vmLeftovers(runtimeDir),
    killFromOutside: vmmKiller(runtimeDir),
    concurrency: 2,
  },
);
