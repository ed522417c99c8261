/**
 * Runs functions in Firecracker microVMs (KVM only). Each sandbox is one Firecracker process,
 * configured over its API socket: machine size, the shared guest kernel, the root filesystem as a
 * read-only drive (Firecracker opens it O_RDONLY, so VMs can share one file) and a vsock device
 * whose host side is a Unix socket. The agent listens on vsock port 52; the host reaches it with
 * Firecracker's `CONNECT 52` handshake. With a jailer configured, Firecracker runs chrooted as an
 * unprivileged user. The lifecycle itself lives in MicroVmExecutor.
 */
import { constants } from 'node:fs';
import { access, open } from 'node:fs/promises';
import { join } from 'node:path';
import { type ExecutorKind, FaasError } from '@faas/common';
import type { SandboxSpec } from '../executor.js';
import { connectUnixSocket } from '../vm/connect.js';
import { VmmProcess } from '../vm/process.js';
import { ensureRootfs, GUEST_AGENT_PATH } from '../vm/rootfs.js';
import { vmSize } from '../vm/size.js';
import { type LaunchedVm, MicroVmExecutor, type MicroVmOptions, type VmRootfs, type VmSandbox } from '../vm/vm-executor.js';
import { FirecrackerClient } from './api-client.js';
import { jailLayout, populateJail } from './jailer.js';
import { connectVsock } from './vsock.js';

export interface FirecrackerExecutorOptions extends MicroVmOptions {
  /** FAAS_FC_BINARY_PATH */
  binaryPath: string;
  /** FAAS_FC_KERNEL_PATH: an uncompressed vmlinux with virtio-mmio, vsock and ext4 built in. */
  kernelPath: string;
  /** FAAS_FC_ROOTFS_PATH: the root filesystem used for every image when no rootfsDir is given. */
  rootfsPath?: string;
  /** With agentPath: build a root filesystem per image (FAAS_ROOTFS_DIR) instead of one fixed one. */
  rootfsDir?: string;
  agentPath?: string;
  dockerHost?: string;
  /** FAAS_FC_JAILER_PATH; uid/gid Firecracker runs as under the jailer (default 65534). */
  jailer?: { path: string; uid?: number; gid?: number };
}

/** The guest agent's vsock port (faas.transport=vsock:52). */
export const AGENT_VSOCK_PORT = 52;
/** Every VM has its own vsock device, so all can use the first unreserved context id. */
const GUEST_CID = 3;
const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export class FirecrackerExecutor extends MicroVmExecutor {
  readonly kind: ExecutorKind = 'firecracker';

  constructor(private readonly options: FirecrackerExecutorOptions) {
    super('firecracker', options);
    if (!options.rootfsPath && !(options.rootfsDir && options.agentPath)) {
      throw new FaasError('FAAS_ERR_CONFIG', 'the firecracker executor needs rootfsPath (FAAS_FC_ROOTFS_PATH) or rootfsDir and agentPath');
    }
  }

  protected async checkHost(): Promise<void> {
    await mustAccess(
      '/dev/kvm',
      constants.R_OK | constants.W_OK,
      '/dev/kvm',
      'Firecracker needs KVM: run on a host with virtualisation enabled',
    );
    await mustAccess(this.options.binaryPath, constants.X_OK, 'firecracker binary', 'set FAAS_FC_BINARY_PATH (see docs/microvm.md)');
    if (this.options.jailer) await mustAccess(this.options.jailer.path, constants.X_OK, 'jailer binary', 'set FAAS_FC_JAILER_PATH');
    await mustAccess(
      this.options.kernelPath,
      constants.R_OK,
      'guest kernel',
      'build it with tools/firecracker-rootfs-builder/build-kernel.sh',
    );
    if (this.options.rootfsPath)
      await mustAccess(
        this.options.rootfsPath,
        constants.R_OK,
        'root filesystem',
        'build it with tools/firecracker-rootfs-builder/build-rootfs.mjs',
      );
  }

  protected async prepareRootfs(spec: SandboxSpec): Promise<VmRootfs> {
    const { rootfsDir, agentPath } = this.options;
    if (rootfsDir && agentPath) {
      const info = await ensureRootfs({
        image: spec.image,
        rootfsDir,
        agentPath,
        ...(this.options.dockerHost ? { dockerHost: this.options.dockerHost } : {}),
        onProgress: (message) => this.log.info({ image: spec.image }, message),
      });
      return { path: info.path, env: info.env, workingDir: info.workingDir };
    }
    // One fixed root filesystem for all functions: the image name is not used (design document).
    return { path: this.options.rootfsPath as string, env: [DEFAULT_PATH], workingDir: undefined };
  }

  protected async launch(box: VmSandbox, rootfs: VmRootfs): Promise<LaunchedVm> {
    const paths = await this.preparePaths(box, rootfs);
    // Firecracker writes the guest's serial console to its stdout.
    const console = await open(box.consoleLog, 'a', 0o600);
    let vmm: VmmProcess;
    try {
      vmm = new VmmProcess(paths.binary, paths.args, { cwd: box.dir, stdoutFd: console.fd });
      // Registered at once so that a failure in the configuration calls below still kills it.
      box.vmm = vmm;
    } finally {
      await console.close();
    }
    const deadline = Date.now() + 10_000;
    const probe = await connectUnixSocket(paths.apiSocket, { vmm, deadline, what: 'the Firecracker API socket' });
    probe.destroy();
    const api = new FirecrackerClient(paths.apiSocket);
    const size = vmSize(box.spec.limits);
    await api.putMachineConfig({ vcpu_count: evenVcpus(size.cpus), mem_size_mib: size.memoryMib, smt: false });
    await api.putBootSource({ kernel_image_path: paths.kernel, boot_args: bootArgs(size.tmpMib) });
    await api.putDrive({ drive_id: 'rootfs', path_on_host: paths.rootfs, is_root_device: true, is_read_only: true });
    await api.putVsock({ guest_cid: GUEST_CID, uds_path: paths.vsock });
    await api.action('InstanceStart');
    return {
      vmm,
      connectAgent: (agentDeadline, signal) =>
        connectVsock(paths.vsockHost, AGENT_VSOCK_PORT, { vmm, deadline: agentDeadline, ...(signal ? { signal } : {}) }),
    };
  }

  /** Where everything lives, directly in the state dir or inside the jailer's chroot. */
  private async preparePaths(box: VmSandbox, rootfs: VmRootfs) {
    const jailer = this.options.jailer;
    if (!jailer) {
      const vsock = join(box.dir, 'v.sock');
      return {
        binary: this.options.binaryPath,
        args: ['--api-sock', join(box.dir, 'api.sock'), '--id', box.id],
        apiSocket: join(box.dir, 'api.sock'),
        kernel: this.options.kernelPath,
        rootfs: rootfs.path,
        vsock,
        vsockHost: vsock,
      };
    }
    const uid = jailer.uid ?? 65534;
    const gid = jailer.gid ?? 65534;
    const layout = jailLayout({ jailerPath: jailer.path, firecrackerPath: this.options.binaryPath, uid, gid }, box.id, box.dir);
    await populateJail(layout, this.options.kernelPath, rootfs.path, uid, gid);
    return {
      binary: jailer.path,
      args: layout.args,
      apiSocket: layout.apiSocket.host,
      kernel: layout.kernel.inJail,
      rootfs: layout.rootfs.inJail,
      vsock: layout.vsockSocket.inJail,
      vsockHost: layout.vsockSocket.host,
    };
  }
}

/** The guest kernel command line; Firecracker appends the virtio-mmio device list itself. */
export function bootArgs(tmpMib: number): string {
  return [
    'console=ttyS0',
    'loglevel=4',
    'reboot=k',
    'panic=-1',
    'pci=off',
    'random.trust_cpu=on',
    'root=/dev/vda',
    'rootfstype=ext4',
    'ro',
    `init=${GUEST_AGENT_PATH}`,
    `faas.transport=vsock:${AGENT_VSOCK_PORT}`,
    `faas.tmp_mb=${tmpMib}`,
  ].join(' ');
}

/** Firecracker accepts 1 or an even number of vCPUs (up to 32). */
export function evenVcpus(cpus: number): number {
  if (cpus <= 1) return 1;
  return Math.min(32, cpus % 2 === 0 ? cpus : cpus + 1);
}

async function mustAccess(path: string, mode: number, what: string, fix: string): Promise<void> {
  try {
    await access(path, mode);
  } catch {
    throw new FaasError('FAAS_ERR_EXECUTOR_UNAVAILABLE', `${what} ${path} is not usable: ${fix}`);
  }
}
