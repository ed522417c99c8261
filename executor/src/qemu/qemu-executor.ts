/**
 * Runs functions in QEMU microVMs: one VM per sandbox, booted from the shared guest kernel and a
 * root filesystem built from the function's Docker image. Uses KVM where /dev/kvm is usable and
 * software emulation (TCG) elsewhere, so the VM path works, slowly, on hosts without
 * virtualisation; the agent is reached over a virtio-serial port because vhost-vsock needs a host
 * kernel module that such hosts often lack. The lifecycle itself lives in MicroVmExecutor.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { type ExecutorKind, FaasError } from '@faas/common';
import type { SandboxSpec } from '../executor.js';
import { connectUnixSocket } from '../vm/connect.js';
import { VmmProcess } from '../vm/process.js';
import { ensureRootfs, GUEST_AGENT_PATH } from '../vm/rootfs.js';
import { vmSize } from '../vm/size.js';
import { type LaunchedVm, MicroVmExecutor, type MicroVmOptions, type VmRootfs, type VmSandbox } from '../vm/vm-executor.js';
import { qemuArgs } from './qemu-args.js';

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
}

/** Unix socket paths are limited to 108 bytes including the terminating NUL. */
const MAX_SOCKET_PATH = 107;

export class QemuExecutor extends MicroVmExecutor {
  readonly kind: ExecutorKind = 'qemu';
  private accel: 'kvm' | 'tcg' | undefined;
  private qemuChecked = false;

  constructor(private readonly options: QemuExecutorOptions) {
    super('qemu', options);
    const longest = join(this.runtimeDir, 'x'.repeat(12), 'agent.sock');
    if (longest.length > MAX_SOCKET_PATH) {
      throw new FaasError('FAAS_ERR_CONFIG', `runtime dir ${this.runtimeDir} is too long for Unix socket paths: use a shorter one`);
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
    return { path: info.path, env: info.env, workingDir: info.workingDir };
  }

  protected async launch(box: VmSandbox, rootfs: VmRootfs): Promise<LaunchedVm> {
    const rootDisk = join(box.dir, 'root.qcow2');
    // The overlay is the VM's only writable disk; its backing image is opened read-only.
    await runQuiet(
      this.options.qemuImgBinary ?? 'qemu-img',
      ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', rootfs.path, rootDisk],
      'apt-get install qemu-utils',
    );
    const agentSocket = join(box.dir, 'agent.sock');
    const args = qemuArgs(
      {
        kernelPath: this.options.kernelPath,
        rootDisk,
        consoleLog: box.consoleLog,
        agentSocket,
        ...vmSize(box.spec.limits),
        accel: this.accel ?? 'tcg',
      },
      GUEST_AGENT_PATH,
    );
    const vmm = new VmmProcess(this.options.qemuBinary ?? 'qemu-system-x86_64', args, { cwd: box.dir });
    box.vmm = vmm;
    return {
      vmm,
      connectAgent: (deadline, signal) =>
        connectUnixSocket(agentSocket, { vmm, deadline, ...(signal ? { signal } : {}), what: 'the agent socket' }),
    };
  }
}

async function mustRead(path: string, what: string, fix: string): Promise<void> {
  try {
    await access(path, constants.R_OK);
  } catch {
    throw new FaasError('FAAS_ERR_EXECUTOR_UNAVAILABLE', `${what} ${path} is missing: ${fix}`);
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

/** Runs a short helper command; a missing binary or a failure becomes EXECUTOR_UNAVAILABLE. */
function runQuiet(binary: string, args: string[], fix: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-1000);
    });
    child.once('error', (err) => reject(new FaasError('FAAS_ERR_EXECUTOR_UNAVAILABLE', `cannot run ${binary} (${err.message}): ${fix}`)));
    child.once('close', (code) => {
      if (code === 0) resolve();
      else reject(new FaasError('FAAS_ERR_SANDBOX_FAILURE', `${binary} ${args[0]} failed (code ${code}): ${stderr.trim()}`));
    });
  });
}
