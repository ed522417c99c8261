/**
 * Runs functions in Firecracker microVMs (KVM only). Each sandbox is one Firecracker process,
 * configured over its API socket: machine size, the shared guest kernel, the root filesystem as a
 * read-only drive (Firecracker opens it O_RDONLY, so VMs can share one file) and a vsock device
 * whose host side is a Unix socket. The agent listens on vsock port 52; the host reaches it with
 * Firecracker's `CONNECT 52` handshake. With a jailer configured, Firecracker runs chrooted as an
 * unprivileged user. The lifecycle itself lives in MicroVmExecutor.
 */
import { constants } from 'node:fs';
import { access, open, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { type ExecutorKind, FaasError } from '@faas/common';
import { AgentClient } from '../agent/client.js';
import { DEFAULT_DOCKER_HOST } from '../docker/engine.js';
import type { SandboxSpec } from '../executor.js';
import { connectUnixSocket } from '../vm/connect.js';
import type { VmmProcess } from '../vm/process.js';
import { ensureRootfs, GUEST_AGENT_PATH } from '../vm/rootfs.js';
import { type VmSize, vmSize } from '../vm/size.js';
import { fileIdentity, hashKey, SNAPSHOT_FORMAT, SnapshotCache, type SnapshotEntry } from '../vm/snapshot-cache.js';
import { createStateDir, newVmId, recordVmmPid, removeStateDir } from '../vm/state-dir.js';
import {
  type LaunchedVm,
  type LaunchOptions,
  MicroVmExecutor,
  type MicroVmOptions,
  type VmRootfs,
  type VmSandbox,
} from '../vm/vm-executor.js';
import { FirecrackerClient } from './api-client.js';
import type { SnapshotCreateParams, SnapshotLoadParams } from './api-types.js';
import { FirecrackerProcess, LOG_FILE, logArgs, prepareLogFile, withLogCause } from './fc-log.js';
import { hostCpu, JAIL_MEMORY, JAIL_STATE, moveOut, snapshotPathsFor } from './fc-snapshot.js';
import { elfInterpreter, type JailLayout, populateJail, resolveJailLayout } from './jailer.js';
import { connectVsock } from './vsock.js';

export { kvmUnusableReason } from './kvm.js';

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
  /**
   * Start VMs from snapshots (default false: not yet verified on a KVM host; FAAS_VM_SNAPSHOTS).
   * Needs Firecracker 1.1 or later (mem_backend). See docs/microvm.md, "Snapshots".
   */
  snapshots?: boolean;
  /** Where snapshots are cached (default `<rootfsDir>/snapshots`, else next to rootfsPath). */
  snapshotDir?: string;
}

/** The guest agent's vsock port (faas.transport=vsock:52). */
export const AGENT_VSOCK_PORT = 52;
/** Every VM has its own vsock device, so all can use the first unreserved context id. */
const GUEST_CID = 3;
const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export class FirecrackerExecutor extends MicroVmExecutor {
  readonly kind: ExecutorKind = 'firecracker';
  private readonly snapshots: SnapshotCache | undefined;
  /** Firecrackers of snapshots being built, killed by close(). */
  private readonly builders = new Set<VmmProcess>();

  constructor(private readonly options: FirecrackerExecutorOptions) {
    super('firecracker', options);
    if (!options.rootfsPath && !(options.rootfsDir && options.agentPath)) {
      throw new FaasError('FAAS_ERR_CONFIG', 'the firecracker executor needs rootfsPath (FAAS_FC_ROOTFS_PATH) or rootfsDir and agentPath');
    }
    if (options.snapshots === true) {
      const dir =
        options.snapshotDir ??
        (options.rootfsDir ? join(options.rootfsDir, 'snapshots') : join(dirname(options.rootfsPath as string), 'snapshots'));
      this.snapshots = new SnapshotCache(dir, 'firecracker', ['state', 'memory'], this.log);
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
    if (this.options.jailer) {
      await mustAccess(this.options.jailer.path, constants.X_OK, 'jailer binary', 'set FAAS_FC_JAILER_PATH');
      const loader = await elfInterpreter(this.options.binaryPath).catch(() => undefined);
      if (loader) {
        throw new FaasError(
          'FAAS_ERR_EXECUTOR_UNAVAILABLE',
          `firecracker binary ${this.options.binaryPath} is dynamically linked (loader ${loader}); the jailer runs it in an empty chroot where the loader does not exist: use a static build (the release binaries, or the musl target)`,
        );
      }
    }
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

  protected imageStore(): string | undefined {
    return this.options.rootfsDir && this.options.agentPath ? (this.options.dockerHost ?? DEFAULT_DOCKER_HOST) : undefined;
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
      return { path: info.path, env: info.env, workingDir: info.workingDir, imageId: info.imageId };
    }
    // One fixed root filesystem for all functions: the image name is not used (design document).
    return { path: this.options.rootfsPath as string, env: [DEFAULT_PATH], workingDir: undefined };
  }

  protected async launch(box: VmSandbox, rootfs: VmRootfs, options: LaunchOptions): Promise<LaunchedVm> {
    const size = vmSize(box.spec.limits);
    const snapshot = options.allowSnapshot ? await this.snapshotFor(rootfs, size) : undefined;
    if (snapshot && this.snapshots) {
      const cache = this.snapshots;
      box.restoredFrom = { key: snapshot.key, invalidate: (reason) => cache.invalidate(snapshot.key, reason) };
    }
    const paths = await this.preparePaths(box.dir, box.id, rootfs, this.snapshots !== undefined);
    const { vmm, api } = await this.startFirecracker(box.dir, box.consoleLog, paths, (started) => {
      // Registered at once so that a failure in the configuration calls below still kills it.
      box.vmm = started;
    });
    try {
      if (snapshot) {
        const files = await snapshotPathsFor(paths.layout, {
          state: snapshot.files.state as string,
          memory: snapshot.files.memory as string,
        });
        await api.loadSnapshot(snapshotLoadParams(files));
      } else {
        await configureAndStart(api, size, paths);
      }
    } catch (err) {
      throw withLogCause(err, paths.logHost);
    }
    return {
      vmm,
      connectAgent: (agentDeadline, signal) =>
        connectVsock(paths.vsockHost, AGENT_VSOCK_PORT, { vmm, deadline: agentDeadline, ...(signal ? { signal } : {}) }).catch(
          (err: unknown) => {
            throw withLogCause(err, paths.logHost);
          },
        ),
    };
  }

  override async close(): Promise<void> {
    for (const vmm of this.builders) vmm.signal('SIGKILL');
    await Promise.all([super.close(), this.snapshots?.settle()]);
  }

  private async startFirecracker(dir: string, consoleLog: string, paths: VmPaths, onStart: (vmm: VmmProcess) => void) {
    // Firecracker writes the guest's serial console to its stdout.
    const console = await open(consoleLog, 'a', 0o600);
    let vmm: VmmProcess;
    try {
      vmm = new FirecrackerProcess(paths.binary, paths.args, { cwd: dir, stdoutFd: console.fd }, paths.logHost);
      onStart(vmm);
    } finally {
      await console.close();
    }
    const deadline = Date.now() + 10_000;
    const probe = await connectUnixSocket(paths.apiSocket, { vmm, deadline, what: 'the Firecracker API socket' });
    probe.destroy();
    return { vmm, api: new FirecrackerClient(paths.apiSocket) };
  }

  /**
   * The snapshot for this image and VM shape, built on first use; undefined means boot cold. The
   * key covers the Firecracker (and jailer) build, the host CPU, the kernel, root filesystem and
   * agent files, the machine size and the kernel command line.
   */
  private async snapshotFor(rootfs: VmRootfs, size: VmSize): Promise<SnapshotEntry | undefined> {
    const cache = this.snapshots;
    if (!cache) return undefined;
    let inputs: Record<string, unknown>;
    try {
      inputs = {
        format: SNAPSHOT_FORMAT,
        firecracker: await fileIdentity(this.options.binaryPath),
        jailer: this.options.jailer
          ? [await fileIdentity(this.options.jailer.path), this.options.jailer.uid, this.options.jailer.gid]
          : null,
        cpu: await hostCpu(),
        kernel: await fileIdentity(this.options.kernelPath),
        rootfs: await fileIdentity(rootfs.path),
        agent: this.options.agentPath ? await fileIdentity(this.options.agentPath) : null,
        vcpus: evenVcpus(size.cpus),
        memoryMib: size.memoryMib,
        bootArgs: bootArgs(size.tmpMib),
      };
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'cannot key a VM snapshot; booting cold');
      return undefined;
    }
    const group = hashKey({ rootfs: rootfs.path, size });
    return cache.ensure(hashKey(inputs), group, inputs, (files) => this.buildSnapshot(rootfs, size, files));
  }

  /** Boots a VM to agent ready, hangs up, pauses it and writes a full snapshot to `target`. */
  private async buildSnapshot(rootfs: VmRootfs, size: VmSize, target: Record<string, string>): Promise<void> {
    const id = newVmId();
    const dir = await createStateDir(this.runtimeDir, id);
    let vmm: VmmProcess | undefined;
    try {
      const paths = await this.preparePaths(dir, id, rootfs, true);
      const started = await this.startFirecracker(dir, join(dir, 'console.log'), paths, (v) => {
        vmm = v;
        this.builders.add(v);
      });
      if (started.vmm.pid !== undefined) await recordVmmPid(dir, started.vmm.pid);
      try {
        await configureAndStart(started.api, size, paths);
        const deadline = Date.now() + (this.options.bootTimeoutMs ?? 30_000);
        const stream = await connectVsock(paths.vsockHost, AGENT_VSOCK_PORT, { vmm: started.vmm, deadline });
        const agent = await AgentClient.connect(stream, { helloTimeoutMs: Math.max(1, deadline - Date.now()) });
        const refreshable = agent.capabilities.includes('refresh');
        agent.close();
        if (!refreshable) throw new FaasError('FAAS_ERR_SANDBOX_FAILURE', 'the guest agent cannot refresh a restored VM');
        await pauseAndSnapshot(
          started.api,
          paths.layout
            ? { state: `/${JAIL_STATE}`, memory: `/${JAIL_MEMORY}` }
            : { state: target.state as string, memory: target.memory as string },
        );
      } catch (err) {
        throw withLogCause(err, paths.logHost);
      }
      if (paths.layout) {
        await moveOut(join(paths.layout.root, JAIL_STATE), target.state as string);
        await moveOut(join(paths.layout.root, JAIL_MEMORY), target.memory as string);
      }
    } finally {
      if (vmm) {
        await vmm.stop(0);
        this.builders.delete(vmm);
      }
      await removeStateDir(dir);
    }
  }

  /**
   * Where everything lives, directly in the state dir or inside the jailer's chroot. With
   * `relativeVsock`, the vsock socket is named relative to Firecracker's working directory (the
   * state dir), so that a snapshot's saved uds_path resolves to each restored VM's own socket.
   */
  private async preparePaths(dir: string, id: string, rootfs: VmRootfs, relativeVsock: boolean): Promise<VmPaths> {
    const jailer = this.options.jailer;
    // A failed restore in this state dir leaves its sockets, log and jail; the cold boot starts clean.
    await Promise.all(['api.sock', 'v.sock', LOG_FILE, 'jail'].map((name) => rm(join(dir, name), { recursive: true, force: true })));
    if (!jailer) {
      const log = join(dir, LOG_FILE);
      await prepareLogFile(log);
      return {
        binary: this.options.binaryPath,
        args: ['--api-sock', join(dir, 'api.sock'), '--id', id, ...logArgs(log)],
        apiSocket: join(dir, 'api.sock'),
        kernel: this.options.kernelPath,
        rootfs: rootfs.path,
        vsock: relativeVsock ? 'v.sock' : join(dir, 'v.sock'),
        vsockHost: join(dir, 'v.sock'),
        logHost: log,
      };
    }
    const uid = jailer.uid ?? 65534;
    const gid = jailer.gid ?? 65534;
    const layout = await resolveJailLayout({ jailerPath: jailer.path, firecrackerPath: this.options.binaryPath, uid, gid }, id, dir);
    await populateJail(layout, this.options.kernelPath, rootfs.path, uid, gid);
    return {
      binary: jailer.path,
      args: layout.args,
      apiSocket: layout.apiSocket.host,
      kernel: layout.kernel.inJail,
      rootfs: layout.rootfs.inJail,
      vsock: layout.vsockSocket.inJail,
      vsockHost: layout.vsockSocket.host,
      logHost: layout.log.host,
      layout,
    };
  }
}

interface VmPaths {
  binary: string;
  args: string[];
  apiSocket: string;
  kernel: string;
  rootfs: string;
  /** uds_path as Firecracker is told it; vsockHost is where the host connects. */
  vsock: string;
  vsockHost: string;
  /** Firecracker's own log (--log-path) as the host sees it. */
  logHost: string;
  layout?: JailLayout;
}

/**
 * A cold boot: machine, kernel, read-only root drive, vsock, start. Paths are as Firecracker sees
 * them (inside the jail under the jailer). Exported for the API conformance tests.
 */
export async function configureAndStart(
  api: FirecrackerClient,
  size: VmSize,
  paths: { kernel: string; rootfs: string; vsock: string },
): Promise<void> {
  await api.putMachineConfig({ vcpu_count: evenVcpus(size.cpus), mem_size_mib: size.memoryMib, smt: false });
  await api.putBootSource({ kernel_image_path: paths.kernel, boot_args: bootArgs(size.tmpMib) });
  await api.putDrive({ drive_id: 'rootfs', path_on_host: paths.rootfs, is_root_device: true, is_read_only: true });
  await api.putVsock({ guest_cid: GUEST_CID, uds_path: paths.vsock });
  await api.action('InstanceStart');
}

/** The snapshot builder's last two calls: pause the VM, write a full snapshot of it. */
export async function pauseAndSnapshot(api: FirecrackerClient, out: { state: string; memory: string }): Promise<void> {
  await api.patchVm('Paused');
  await api.createSnapshot(snapshotCreateParams(out));
}

export function snapshotCreateParams(out: { state: string; memory: string }): SnapshotCreateParams {
  return { snapshot_type: 'Full', snapshot_path: out.state, mem_file_path: out.memory };
}

/** A restore: the only configuration call a fresh Firecracker gets. */
export function snapshotLoadParams(files: { state: string; memory: string }): SnapshotLoadParams {
  return { snapshot_path: files.state, mem_backend: { backend_type: 'File', backend_path: files.memory }, resume_vm: true };
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
    // Like a container's memory cgroup: an allocation succeeds and the OOM killer ends the command
    // when its pages are touched past the limit, rather than the guest refusing large allocations.
    'sysctl.vm.overcommit_memory=1',
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
