/**
 * The OCI runtime config (config.json, runtime-spec 1.0) of one sandbox, with the hardening of the
 * Docker executor's containers (docker/container-spec.ts, docker/agent-container.ts) spelled out
 * as Docker itself would hand it to runc: a fresh network namespace with only loopback, every
 * capability dropped but the five the guest agent needs to run commands as the sandbox user,
 * no-new-privileges, the default seccomp profile, a read-only root with a size- and inode-capped
 * /tmp, Docker's masked and read-only /proc and /sys paths, and cgroup limits for memory (swap
 * included), CPU and pids. The guest agent, bind-mounted read-only, is the container's PID 1 and
 * reaps orphans; it speaks the framed protocol over its stdio.
 */
import type { ResourceLimits } from '@faas/common';
import { agentPidsHeadroom } from '../docker/agent-container.js';
import { hostPidsLimit, tmpInodes } from '../docker/container-spec.js';
import type { OciSeccomp } from './seccomp.js';
import type { IdMapping } from './userns.js';

export const AGENT_MOUNT = '/faas/agent';

/** The agent's capabilities, the same as under Docker (docker/agent-container.ts). */
export const AGENT_CAPS = ['CAP_SETUID', 'CAP_SETGID', 'CAP_KILL', 'CAP_DAC_OVERRIDE', 'CAP_FOWNER'];

/** Docker's default masked paths (moby oci/defaults.go). */
export const MASKED_PATHS = [
  '/proc/asound',
  '/proc/acpi',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
  '/sys/devices/virtual/powercap',
];

/** Docker's default read-only paths (moby oci/defaults.go). */
export const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

/** Mount points the shared root filesystem must already have: nothing may create them in it. */
export const MOUNT_POINTS = { dirs: ['/proc', '/sys', '/dev', '/tmp', '/faas'], files: [AGENT_MOUNT] };

export interface BundleSpecInput {
  /** The shared, read-only root filesystem of the image. */
  rootfs: string;
  agentPath: string;
  limits: ResourceLimits;
  /** cgroupsPath, e.g. /faas-oci/<container id>. */
  cgroupsPath: string;
  /** Left out only where the runtime gets the compiled filter otherwise (crun's annotation). */
  seccomp: OciSeccomp | undefined;
  /**
   * The pids cgroup limit: the function's processes plus the agent's threads under runc and crun;
   * under runsc the Sentry's host tasks (docker/container-spec.ts, hostPidsLimit).
   */
  pidsLimit: number;
  /** Whether the host's memory cgroup accounts swap (cgroup v1 without swapaccount has no memsw). */
  swapAccounting: boolean;
  annotations: Record<string, string>;
  /**
   * The sandbox's host id range (userns.ts): a user namespace mapping container uids and gids
   * 0..65535 onto it. Absent: no user namespace, container root is host root.
   */
  idMapping?: IdMapping;
}

/**
 * The pids cgroup limit of a sandbox allowed `pids` processes: under runc and crun the function's
 * processes and the agent's own threads, but no init process (the agent is PID 1 here); under
 * runsc the host tasks of gVisor's Sentry, while RLIMIT_NPROC inside counts the processes.
 */
export function ociPidsLimit(flavour: string, pids: number): number {
  return flavour === 'runsc' ? hostPidsLimit('runsc', pids) : pids + agentPidsHeadroom('stdio') - 1;
}

/** The CFS period of every sandbox, µs. */
export const CPU_PERIOD_US = 100_000;

/** The CFS quota for `cpus` cores per CPU_PERIOD_US, µs (at least 1 ms, the kernel's minimum). */
export function cpuQuotaUs(cpus: number): number {
  return Math.max(1000, Math.round(cpus * CPU_PERIOD_US));
}

export function bundleSpec(input: BundleSpecInput): Record<string, unknown> {
  const { limits } = input;
  const caps = [...AGENT_CAPS];
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args: [AGENT_MOUNT, '--stdio'],
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'HOME=/tmp'],
      cwd: '/',
      capabilities: { bounding: caps, effective: caps, permitted: caps, inheritable: [], ambient: [] },
      rlimits: [
        { type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 },
        { type: 'RLIMIT_CORE', hard: 0, soft: 0 },
      ],
      noNewPrivileges: true,
      oomScoreAdj: 1000,
    },
    root: { path: input.rootfs, readonly: true },
    hostname: 'sandbox',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      {
        destination: '/dev/pts',
        type: 'devpts',
        source: 'devpts',
        options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
      },
      { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=16777216'] },
      { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] },
      {
        destination: '/tmp',
        type: 'tmpfs',
        source: 'tmpfs',
        options: ['rw', 'nosuid', 'nodev', `size=${limits.tmpBytes}`, `nr_inodes=${tmpInodes(limits.tmpBytes)}`, 'mode=1777'],
      },
      { destination: AGENT_MOUNT, type: 'bind', source: input.agentPath, options: ['rbind', 'ro', 'nosuid', 'nodev'] },
    ],
    annotations: input.annotations,
    linux: {
      namespaces: [
        { type: 'pid' },
        { type: 'network' },
        { type: 'ipc' },
        { type: 'uts' },
        { type: 'mount' },
        { type: 'cgroup' },
        ...(input.idMapping ? [{ type: 'user' }] : []),
      ],
      // The kernel maps devpts' gid=5 and the tmpfs owners through these too; the shared root
      // filesystem, owned by host root, shows as the overflow id (nobody) and stays readable.
      ...(input.idMapping ? { uidMappings: [input.idMapping], gidMappings: [input.idMapping] } : {}),
      cgroupsPath: input.cgroupsPath,
      resources: {
        devices: [{ allow: false, access: 'rwm' }],
        memory: {
          limit: limits.memoryBytes,
          // Equal to the limit: no swap, so the memory limit is a real limit.
          ...(input.swapAccounting ? { swap: limits.memoryBytes } : {}),
        },
        cpu: { quota: cpuQuotaUs(limits.cpus), period: CPU_PERIOD_US },
        pids: { limit: input.pidsLimit },
      },
      ...(input.seccomp ? { seccomp: input.seccomp } : {}),
      maskedPaths: MASKED_PATHS,
      readonlyPaths: READONLY_PATHS,
    },
  };
}
