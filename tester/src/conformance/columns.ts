/**
 * The columns of the conformance matrix: one executor and pool mode each (and, for oci, one OCI
 * runtime), with the environment its platform process starts with, and the one line that says
 * why it cannot run here (or undefined when it can).
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { DEFAULT_AGENT_PATH, type ExecutorKind, REPO_ROOT } from '@faas/common';
import { DEFAULT_SECCOMP_PROFILE } from '@faas/executor';
import { vmUnavailableReason } from '../contract/vm-support.js';
import { dockerUnavailableReason, runtimeUnavailableReason } from '../support/docker.js';
import { BUSYBOX, PYTHON } from '../support/images.js';
import { DOCKER_GET } from './leftovers.js';

export type PoolMode = 'off' | 'single-use' | 'reuse';

/**
 * The kernel a column's functions run on. Known differences (Row.knownDifferences) belong to
 * it, not to the executor: gVisor's kernel differs the same way under Docker and under oci.
 */
export type Kernel = 'host' | 'gvisor' | 'guest';

/** The OCI runtimes the oci executor is run with, each with the Debian package that installs it. */
export const OCI_RUNTIMES = [
  { runtime: 'runc', pkg: 'runc', kernel: 'host' },
  { runtime: 'crun', pkg: 'crun', kernel: 'host' },
  { runtime: 'runsc', pkg: 'runsc', kernel: 'gvisor' },
] as const;

export interface Column {
  /** Short name, used as the table header and to pick columns with CONFORMANCE_COLUMNS. */
  id: string;
  executor: ExecutorKind;
  mode: PoolMode;
  kernel: Kernel;
  /** Extra FAAS_* variables of this column (the shared ones are in SHARED_ENV). */
  env: Record<string, string>;
  /** Why the column cannot run on this machine; undefined when it can. */
  unavailable: () => Promise<string | undefined>;
}

/** Spares a pool may keep: the idle check after the rows allows this many sandboxes. */
export const POOL_MAX_IDLE = 4;
/** The per-stream output cap every column runs with (small, so the flood rows are quick). */
export const OUTPUT_CAP = 65_536;
/** The /tmp size every column runs with, in MiB. */
export const TMP_MB = 8;

/** Variables every column's platform starts with, whatever its executor. */
export const SHARED_ENV: Record<string, string> = {
  FAAS_MAX_OUTPUT_BYTES: String(OUTPUT_CAP),
  FAAS_TMP_SIZE_MB: String(TMP_MB),
  FAAS_DEFAULT_TIMEOUT_MS: '30000',
  FAAS_MAX_CONCURRENCY: '4',
  FAAS_POOL_MIN_IDLE: '1',
  FAAS_POOL_MAX_IDLE: String(POOL_MAX_IDLE),
  FAAS_SHUTDOWN_GRACE_MS: '5000',
  FAAS_IMAGE_PULL: 'never',
};

const AGENT_PATH = resolve(REPO_ROOT, DEFAULT_AGENT_PATH);

async function imagesMissing(): Promise<string | undefined> {
  for (const image of [BUSYBOX, PYTHON]) {
    const res = await DOCKER_GET(`/images/${encodeURIComponent(image)}/json`);
    if (res.status !== 200) return `image ${image} is not on the host: bash tools/images/build-images.sh`;
  }
  return undefined;
}

async function containerReason(runtime: string | undefined, mode: PoolMode): Promise<string | undefined> {
  const down = runtime ? await runtimeUnavailableReason(runtime) : await dockerUnavailableReason();
  if (down) return down;
  const images = await imagesMissing();
  if (images) return images;
  // The container executors need the agent in every pool mode: without it the platform does not
  // start (bin/src/executors.ts), so the column is skipped with the reason rather than failed.
  if (!existsSync(AGENT_PATH)) return `no guest agent at ${AGENT_PATH} (bash guest-agent/build.sh): the ${mode} column needs it`;
  return undefined;
}

/**
 * The oci executor runs the runtime itself, with the default seccomp profile, from the Docker
 * image store. Only a runtime that is not on the PATH skips the column: one that is there but
 * does not run is the column's failure to report, not a reason to skip it (scripts/setup-host.sh
 * installs all three, so CI runs every oci column).
 */
async function ociReason(runtime: string, pkg: string, mode: PoolMode): Promise<string | undefined> {
  try {
    execFileSync(runtime, ['--version'], { stdio: 'ignore', timeout: 10_000 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return `no ${runtime} on the PATH: install Debian's ${pkg} package`;
  }
  if (!existsSync(DEFAULT_SECCOMP_PROFILE)) return `no seccomp profile at ${DEFAULT_SECCOMP_PROFILE}: run scripts/setup-host.sh`;
  return containerReason(undefined, mode);
}

function setupRunning(): boolean {
  try {
    execFileSync('pgrep', ['-f', 'scripts/setup-host.sh'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

async function qemuReason(): Promise<string | undefined> {
  const vm = vmUnavailableReason('qemu-system-x86_64');
  if (vm) return vm;
  if (setupRunning()) return 'the host set-up (scripts/setup-host.sh) is still building the guest kernel or VM root filesystems';
  const down = await dockerUnavailableReason();
  if (down) return `${down} (root filesystems are built from local Docker images)`;
  return imagesMissing();
}

/** Firecracker runs only where /dev/kvm is real hardware virtualisation and a firecracker binary is given. */
async function firecrackerReason(): Promise<string | undefined> {
  try {
    accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
  } catch {
    return 'no usable /dev/kvm on this host';
  }
  // A nested PVM device accepts every KVM call but cannot run an ordinary guest kernel.
  if (existsSync('/sys/module/kvm_pvm')) return '/dev/kvm here is the nested kvm_pvm device, which cannot boot a guest kernel';
  const binary = process.env.FAAS_FC_BINARY_PATH;
  if (!binary || !existsSync(binary)) return 'no firecracker binary (set FAAS_FC_BINARY_PATH; docs/microvm.md)';
  const rootfs = process.env.FAAS_FC_ROOTFS_PATH;
  if (!rootfs || !existsSync(rootfs)) return 'no default rootfs (set FAAS_FC_ROOTFS_PATH; docs/microvm.md)';
  return qemuReason();
}

function firecrackerEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of ['FAAS_FC_BINARY_PATH', 'FAAS_FC_KERNEL_PATH', 'FAAS_FC_ROOTFS_PATH', 'FAAS_FC_JAILER_PATH']) {
    const value = process.env[name];
    if (value) env[name] = value;
  }
  env.FAAS_FC_KERNEL_PATH ??= resolve(REPO_ROOT, '.cache/kernel/vmlinux');
  return env;
}

function column(executor: ExecutorKind, mode: PoolMode, unavailable: () => Promise<string | undefined>): Column {
  const extra = executor === 'firecracker' ? firecrackerEnv() : {};
  return {
    id: `${executor} ${mode}`,
    executor,
    mode,
    kernel: executor === 'gvisor' ? 'gvisor' : executor === 'qemu' || executor === 'firecracker' ? 'guest' : 'host',
    env: { FAAS_EXECUTOR_TYPE: executor, FAAS_ALLOWED_EXECUTORS: executor, FAAS_POOL_MODE: mode, ...extra },
    unavailable,
  };
}

/** An oci column: named like the others with its runtime between executor and mode ("oci crun reuse"). */
function ociColumn({ runtime, pkg, kernel }: (typeof OCI_RUNTIMES)[number], mode: PoolMode): Column {
  const base = column('oci', mode, () => ociReason(runtime, pkg, mode));
  return { ...base, id: `oci ${runtime} ${mode}`, kernel, env: { ...base.env, FAAS_OCI_RUNTIME: runtime } };
}

export const COLUMNS: Column[] = [
  column('docker', 'off', () => containerReason(undefined, 'off')),
  column('docker', 'single-use', () => containerReason(undefined, 'single-use')),
  column('docker', 'reuse', () => containerReason(undefined, 'reuse')),
  ...OCI_RUNTIMES.flatMap((r) => (['off', 'single-use', 'reuse'] as const).map((mode) => ociColumn(r, mode))),
  column('gvisor', 'single-use', () => containerReason('runsc', 'single-use')),
  column('gvisor', 'reuse', () => containerReason('runsc', 'reuse')),
  column('qemu', 'reuse', qemuReason),
  column('qemu', 'single-use', qemuReason),
  column('firecracker', 'reuse', firecrackerReason),
];
