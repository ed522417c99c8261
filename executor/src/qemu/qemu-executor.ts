/**
 * Runs functions in QEMU microVMs: one VM per sandbox, booted from the shared guest kernel and a
 * root filesystem built from the function's Docker image. Uses KVM where /dev/kvm is usable and
 * software emulation (TCG) elsewhere, so the VM path works, slowly, on hosts without
 * virtualisation; the agent is reached over a virtio-serial port because vhost-vsock needs a host
 * kernel module that such hosts often lack. The lifecycle itself lives in MicroVmExecutor.
 */
import { constants, readFileSync } from 'node:fs';
import { access, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type ExecutorKind, FaasError } from '@faas/common';
import { DEFAULT_DOCKER_HOST } from '../docker/engine.js';
import type { SandboxSpec } from '../executor.js';
import { connectUnixSocket } from '../vm/connect.js';
import { VmmProcess } from '../vm/process.js';
import { ensureRootfs, GUEST_AGENT_PATH } from '../vm/rootfs.js';
import { vmSize } from '../vm/size.js';
import { fileIdentity, hashKey, SNAPSHOT_FORMAT, SnapshotCache, type SnapshotEntry } from '../vm/snapshot-cache.js';
import {
  type LaunchedVm,
  type LaunchOptions,
  MicroVmExecutor,
  type MicroVmOptions,
  type VmRootfs,
  type VmSandbox,
} from '../vm/vm-executor.js';
import { hostTscKhz, qemuArgs } from './qemu-args.js';
import { argsTemplate, buildQemuSnapshot, type QemuVmShape, vmPaths } from './qemu-snapshot.js';
import { createOverlay, mustRead, runQuiet, versionLine } from './qemu-tools.js';

export interface QemuExecutorOptions extends MicroVmOptions {
  /** Default qemu-system-x86_64 from PATH. */
  qemuBinary?: string;
  /** Default qemu-img from PATH. */
  qemuImgBinary?: string;
  /** The guest kernel: an uncompressed vmlinux (tools/firecracker-rootfs-builder/build-kernel.sh). */
  kernelPath: string;
  /** Cache of per-image root filesystems (FAAS_ROOTFS_DIR). */
  rootfsDir: string;
  /** The static guest agent binary baked into each root filesystem. */
  agentPath: string;
  dockerHost?: string;
  /** 'auto' (default) uses KVM when /dev/kvm is usable, else TCG. */
  accel?: 'auto' | 'kvm' | 'tcg';
  /**
   * Start VMs by restoring a snapshot of a booted VM instead of booting (default true; the
   * config variable FAAS_VM_SNAPSHOTS=on|off). See docs/microvm.md, "Snapshots".
   */
  snapshots?: boolean;
  /** Where snapshots are cached (default `<rootfsDir>/snapshots`). */
  snapshotDir?: string;
}

/** Unix socket paths are limited to 108 bytes including the terminating NUL. */
const MAX_SOCKET_PATH = 107;

export class QemuExecutor extends MicroVmExecutor {
  readonly kind: ExecutorKind = 'qemu';
  private accel: 'kvm' | 'tcg' | undefined;
  /** Host TSC kHz handed to TCG guests (0: unknown or not needed). */
  private tscKhz: number | undefined;
  private qemuChecked = false;
  private qemuVersion: Promise<string> | undefined;
  private readonly snapshots: SnapshotCache | undefined;
  /** QEMUs of snapshots being built, killed by close(). */
  private readonly builders = new Set<VmmProcess>();

  constructor(private readonly options: QemuExecutorOptions) {
    super('qemu', options);
    const longest = join(this.runtimeDir, 'x'.repeat(12), 'agent.sock');
    if (longest.length > MAX_SOCKET_PATH) {
      throw new FaasError('FAAS_ERR_CONFIG', `runtime dir ${this.runtimeDir} is too long for Unix socket paths: use a shorter one`);
    }
    if (options.snapshots !== false) {
      const dir = options.snapshotDir ?? join(options.rootfsDir, 'snapshots');
      this.snapshots = new SnapshotCache(dir, 'qemu', ['state'], this.log);
    }
  }

  /** Which accelerator VMs get; decided once, at init. */
  get acceleration(): 'kvm' | 'tcg' | undefined {
    return this.accel;
  }

  protected async checkHost(): Promise<void> {
    await mustRead(this.options.kernelPath, 'guest kernel', 'build it with tools/firecracker-rootfs-builder/build-kernel.sh');
    await mustRead(this.options.agentPath, 'guest agent', 'build it with guest-agent/build.sh');
    if (!this.qemuChecked) {
      await runQuiet(this.options.qemuBinary ?? 'qemu-system-x86_64', ['--version'], 'apt-get install qemu-system-x86');
      await runQuiet(this.options.qemuImgBinary ?? 'qemu-img', ['--version'], 'apt-get install qemu-utils');
      this.qemuChecked = true;
    }
    this.accel ??= await chooseAccel(this.options.accel ?? 'auto', this.options.qemuBinary ?? 'qemu-system-x86_64');
    this.log.info({ accel: this.accel }, 'QEMU acceleration chosen');
  }

  protected async prepareRootfs(spec: SandboxSpec): Promise<VmRootfs> {
    const info = await ensureRootfs({
      image: spec.image,
      rootfsDir: this.options.rootfsDir,
      agentPath: this.options.agentPath,
      ...(this.options.dockerHost ? { dockerHost: this.options.dockerHost } : {}),
      onProgress: (message) => this.log.info({ image: spec.image }, message),
    });
    return { path: info.path, env: info.env, workingDir: info.workingDir, imageId: info.imageId };
  }

  protected imageStore(): string {
    return this.options.dockerHost ?? DEFAULT_DOCKER_HOST;
  }

  protected async launch(box: VmSandbox, rootfs: VmRootfs, options: LaunchOptions): Promise<LaunchedVm> {
    const shape = this.shape(box);
    const snapshot = options.allowSnapshot ? await this.snapshotFor(rootfs, shape) : undefined;
    const paths = vmPaths(box.dir);
    // A failed restore attempt in this state dir may have left a socket behind.
    await rm(paths.agentSocket, { force: true });
    await createOverlay(this.options.qemuImgBinary ?? 'qemu-img', rootfs.path, paths.rootDisk);
    const args = qemuArgs({ ...shape, ...paths }, GUEST_AGENT_PATH);
    const binary = this.options.qemuBinary ?? 'qemu-system-x86_64';
    let vmm: VmmProcess;
    if (snapshot && this.snapshots) {
      const cache = this.snapshots;
      box.restoredFrom = { key: snapshot.key, invalidate: (reason) => cache.invalidate(snapshot.key, reason) };
      // QEMU reads the state from an inherited descriptor: no path to it, nothing to spawn.
      const state = await open(snapshot.files.state as string, 'r');
      try {
        vmm = new VmmProcess(binary, [...args, '-incoming', 'fd:3'], { cwd: box.dir, extraFds: [state.fd] });
      } finally {
        await state.close();
      }
    } else {
      vmm = new VmmProcess(binary, args, { cwd: box.dir });
    }
    box.vmm = vmm;
    return {
      vmm,
      connectAgent: (deadline, signal) =>
        connectUnixSocket(paths.agentSocket, { vmm, deadline, ...(signal ? { signal } : {}), what: 'the agent socket' }),
    };
  }

  override async close(): Promise<void> {
    for (const vmm of this.builders) vmm.signal('SIGKILL');
    await Promise.all([super.close(), this.snapshots?.settle()]);
  }

  private shape(box: VmSandbox): QemuVmShape {
    const accel = this.accel ?? 'tcg';
    this.tscKhz ??= accel === 'tcg' ? hostTscKhzOnce() : 0;
    return {
      kernelPath: this.options.kernelPath,
      ...vmSize(box.spec.limits),
      accel,
      ...(this.tscKhz ? { tscKhz: this.tscKhz } : {}),
    };
  }

  /**
   * The snapshot for this image and VM shape, built on first use; undefined means boot cold. The
   * key covers everything the saved state depends on: the QEMU build, the command line (devices,
   * memory, vCPUs, kernel arguments, accelerator) and the kernel, root filesystem and agent files.
   */
  private async snapshotFor(rootfs: VmRootfs, shape: QemuVmShape): Promise<SnapshotEntry | undefined> {
    const cache = this.snapshots;
    if (!cache) return undefined;
    const binary = this.options.qemuBinary ?? 'qemu-system-x86_64';
    let inputs: Record<string, unknown>;
    try {
      this.qemuVersion ??= versionLine(binary);
      inputs = {
        format: SNAPSHOT_FORMAT,
        qemu: await this.qemuVersion,
        args: argsTemplate(shape),
        kernel: await fileIdentity(shape.kernelPath),
        rootfs: await fileIdentity(rootfs.path),
        agent: await fileIdentity(this.options.agentPath),
      };
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'cannot key a VM snapshot; booting cold');
      return undefined;
    }
    const group = hashKey({ rootfs: rootfs.path, memoryMib: shape.memoryMib, cpus: shape.cpus, tmpMib: shape.tmpMib });
    return cache.ensure(hashKey(inputs), group, inputs, (files) =>
      buildQemuSnapshot({
        qemuBinary: binary,
        qemuImgBinary: this.options.qemuImgBinary ?? 'qemu-img',
        runtimeDir: this.runtimeDir,
        baseImage: rootfs.path,
        shape,
        target: files.state as string,
        timeoutMs: this.options.bootTimeoutMs ?? 30_000,
        running: this.builders,
      }),
    );
  }
}

async function chooseAccel(wanted: 'auto' | 'kvm' | 'tcg', qemuBinary: string): Promise<'kvm' | 'tcg'> {
  if (wanted === 'tcg') return 'tcg';
  const problem = await kvmProblem(qemuBinary);
  if (problem === undefined) return 'kvm';
  if (wanted === 'kvm')
    throw new FaasError('FAAS_ERR_EXECUTOR_UNAVAILABLE', `KVM is not usable (${problem}): enable virtualisation or use accel tcg`);
  return 'tcg';
}

/** How long a paused KVM VM must survive for KVM to count as working. */
const KVM_PROBE_MS = 1000;

/**
 * Why KVM cannot run our VMs, or undefined if it can. An accessible /dev/kvm is not enough: some
 * nested hosts expose a KVM that cannot run an ordinary guest (QEMU aborts while setting up the
 * vCPU). So we start a paused VM and see whether it survives a moment.
 */
async function kvmProblem(qemuBinary: string): Promise<string | undefined> {
  try {
    await access('/dev/kvm', constants.R_OK | constants.W_OK);
  } catch {
    return '/dev/kvm is missing or not accessible';
  }
  const probe = new VmmProcess(qemuBinary, [
    '-M',
    'microvm,x-option-roms=off,acpi=off',
    '-accel',
    'kvm',
    '-cpu',
    'host',
    '-m',
    '32M',
    '-nodefaults',
    '-no-user-config',
    '-display',
    'none',
    '-S',
  ]);
  const survived = await probe.stop(KVM_PROBE_MS).then(() => probe.describeExit());
  // stop() kills a survivor with SIGKILL: that is the good outcome.
  return survived?.startsWith('was killed by SIGKILL') ? undefined : `a test VM ${survived}`;
}

function hostTscKhzOnce(): number {
  try {
    return hostTscKhz(readFileSync('/proc/cpuinfo', 'utf8')) ?? 0;
  } catch {
    return 0;
  }
}
