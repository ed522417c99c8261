/**
 * Building a QEMU snapshot: boot one VM of the wanted image and shape to agent-ready, say HELLO,
 * hang up, and migrate the running VM into a file. Restored VMs then start with
 * `-incoming fd:3` reading that file and skip kernel boot and agent start-up entirely.
 *
 * Why it is safe to start many VMs from one file:
 * - The saved state references the root disk only by device id. Every restored VM gets its own
 *   qcow2 overlay over the same read-only image; as the guest mounts its root read-only and keeps
 *   /tmp in RAM, every overlay is empty and the disk is what the snapshot saw.
 * - Host socket paths (agent chardev, console file) are not part of the device state, so each
 *   restored VM gets its own. The agent's virtio-serial port is saved with the host detached;
 *   when the new host connects, QEMU tells the guest and the agent waits for the next HELLO.
 * - The migration runs live (no `stop` first): the guest is idle, so it converges in one pass,
 *   and the stream records the VM as running, so restored VMs resume by themselves and need no
 *   QMP socket of their own.
 * What siblings still share (RNG state, clock) is refreshed by the executor after HELLO.
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { FaasError } from '@faas/common';
import { AgentClient } from '../agent/client.js';
import { connectUnixSocket } from '../vm/connect.js';
import { withTimeout } from '../vm/console.js';
import { VmmProcess } from '../vm/process.js';
import { GUEST_AGENT_PATH } from '../vm/rootfs.js';
import { createStateDir, newVmId, recordVmmPid, removeStateDir } from '../vm/state-dir.js';
import { type QemuVmConfig, qemuArgs } from './qemu-args.js';
import { createOverlay } from './qemu-tools.js';
import { QmpClient } from './qmp.js';

/** Everything a VM's command line needs except its per-VM paths. */
export type QemuVmShape = Omit<QemuVmConfig, 'rootDisk' | 'consoleLog' | 'agentSocket'>;

export interface SnapshotBuild {
  qemuBinary: string;
  qemuImgBinary: string;
  runtimeDir: string;
  baseImage: string;
  shape: QemuVmShape;
  /** Where to write the migration stream. */
  target: string;
  /** From QEMU start to the file being complete. */
  timeoutMs: number;
  /** The builder's QEMU is registered here while it runs, so that close() can kill it. */
  running: Set<VmmProcess>;
}

/** The per-VM files of a VM in state dir `dir`. */
export function vmPaths(dir: string): Pick<QemuVmConfig, 'rootDisk' | 'consoleLog' | 'agentSocket'> {
  return { rootDisk: join(dir, 'root.qcow2'), consoleLog: join(dir, 'console.log'), agentSocket: join(dir, 'agent.sock') };
}

/**
 * The command line with placeholders for per-VM paths: the part of the cache key that changes
 * whenever a device, the kernel command line, the memory size or the accelerator does.
 */
export function argsTemplate(shape: QemuVmShape): string[] {
  return qemuArgs({ ...shape, rootDisk: '<disk>', consoleLog: '<console>', agentSocket: '<agent>' }, GUEST_AGENT_PATH);
}

/** Lets the guest notice that the host hung up before its state is saved. */
const SETTLE_MS = 200;
const POLL_MS = 20;

export async function buildQemuSnapshot(build: SnapshotBuild): Promise<void> {
  const deadline = Date.now() + build.timeoutMs;
  const dir = await createStateDir(build.runtimeDir, newVmId());
  const paths = vmPaths(dir);
  let vmm: VmmProcess | undefined;
  let qmp: QmpClient | undefined;
  const server = createServer();
  try {
    await createOverlay(build.qemuImgBinary, build.baseImage, paths.rootDisk);
    const qmpSocket = join(dir, 'qmp.sock');
    const args = [...qemuArgs({ ...build.shape, ...paths }, GUEST_AGENT_PATH), '-qmp', `unix:${qmpSocket},server=on,wait=off`];
    vmm = new VmmProcess(build.qemuBinary, args, { cwd: dir });
    build.running.add(vmm);
    if (vmm.pid !== undefined) await recordVmmPid(dir, vmm.pid);
    qmp = await QmpClient.connect(qmpSocket, vmm, deadline);
    const stream = await connectUnixSocket(paths.agentSocket, { vmm, deadline, what: 'the agent socket' });
    const agent = await AgentClient.connect(stream, { helloTimeoutMs: Math.max(1, deadline - Date.now()) });
    if (!agent.capabilities.includes('refresh')) {
      agent.close();
      throw new FaasError(
        'FAAS_ERR_SANDBOX_FAILURE',
        'the guest agent cannot refresh a restored VM (rebuild it with guest-agent/build.sh)',
      );
    }
    agent.close();
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));

    const migrationSocket = join(dir, 'migrate.sock');
    server.listen(migrationSocket);
    await once(server, 'listening');
    const received = once(server, 'connection').then(([socket]) =>
      pipeline(socket as Socket, createWriteStream(build.target, { mode: 0o600 })),
    );
    received.catch(() => {});
    await qmp.execute('migrate', { uri: `unix:${migrationSocket}` });
    await waitForMigration(qmp, vmm, deadline);
    await withTimeout(received, Math.max(1, deadline - Date.now()));
  } catch (err) {
    const exit = vmm && !vmm.running ? ` (QEMU ${vmm.describeExit()})` : '';
    throw new FaasError('FAAS_ERR_SANDBOX_FAILURE', `building a VM snapshot failed: ${(err as Error).message}${exit}`, { cause: err });
  } finally {
    qmp?.close();
    server.close();
    if (vmm) {
      await vmm.stop(0);
      build.running.delete(vmm);
    }
    await removeStateDir(dir);
  }
}

async function waitForMigration(qmp: QmpClient, vmm: VmmProcess, deadline: number): Promise<void> {
  for (;;) {
    const info = (await qmp.execute('query-migrate')) as { status?: string; 'error-desc'?: string };
    if (info.status === 'completed') return;
    if (info.status === 'failed' || info.status === 'cancelled') {
      throw new Error(`migration ${info.status}: ${info['error-desc'] ?? 'no reason given'}`);
    }
    if (!vmm.running) throw new Error('QEMU exited during migration');
    if (Date.now() >= deadline) throw new Error(`migration still ${info.status ?? 'unknown'} at the deadline`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
