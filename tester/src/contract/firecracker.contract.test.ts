/**
 * The executor contract for FirecrackerExecutor. Firecracker needs a working /dev/kvm and a
 * firecracker binary (FAAS_FC_BINARY_PATH); where either is missing the suite skips with one line.
 * To run it on a KVM host, see docs/microvm.md ("Running the Firecracker tests").
 */
import { accessSync, constants, existsSync } from 'node:fs';
import { FirecrackerExecutor } from '@faas/executor';
import { DOCKER_HOST } from '../support/docker.js';
import { runExecutorContract } from './executor-contract.js';
import { AGENT_PATH, KERNEL_PATH, ROOTFS_DIR, testRuntimeDir, vmLeftovers } from './vm-support.js';

const binary = process.env.FAAS_FC_BINARY_PATH;
function unavailable(): string | undefined {
  try {
    accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
  } catch {
    return 'skipping: firecracker tests need /dev/kvm and FAAS_FC_BINARY_PATH; see docs/microvm.md';
  }
  if (!binary || !existsSync(binary)) return 'skipping: firecracker tests need /dev/kvm and FAAS_FC_BINARY_PATH; see docs/microvm.md';
  if (!existsSync(AGENT_PATH) || !existsSync(KERNEL_PATH)) return 'skipping: build the guest agent and kernel first; see docs/microvm.md';
  return undefined;
}
const reason = unavailable();
const runtimeDir = reason ? '' : testRuntimeDir('fc');

await runExecutorContract(
  'firecracker',
  async () =>
    reason
      ? undefined
      : new FirecrackerExecutor({
          binaryPath: binary as string,
          kernelPath: KERNEL_PATH,
          rootfsDir: ROOTFS_DIR,
          agentPath: AGENT_PATH,
          dockerHost: DOCKER_HOST,
          runtimeDir,
        }),
  { skipReason: () => `${reason}`, leftovers: vmLeftovers(runtimeDir), concurrency: 2 },
);
