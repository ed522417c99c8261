/**
 * The container every invocation runs in, hardened for untrusted code by default: no network, no
 * capabilities, no privilege escalation, read-only root with a size-capped /tmp, a non-root user,
 * an init process as PID 1, memory/CPU/pids/file limits, and no log driver (output is captured
 * from the attach stream, capped, instead of growing json-file logs on the host).
 */
import type { ResourceLimits } from '@faas/common';

export const LABEL_MANAGED = 'dev.faas.managed';
export const LABEL_HOST = 'dev.faas.host';
export const LABEL_PID = 'dev.faas.pid';
export const LABEL_EXECUTOR = 'dev.faas.executor';
export const LABEL_FUNCTION = 'dev.faas.function';
export const LABEL_INVOCATION = 'dev.faas.invocation';
/** The sandbox's id in its executor, so a sweep can tell a container it holds from a leftover. */
export const LABEL_SANDBOX = 'dev.faas.sandbox';
/** The executor object that created it: several may share one process (tests) and one engine. */
export const LABEL_INSTANCE = 'dev.faas.instance';

/**
 * gVisor's own Sentry and gofer threads live in the container's pids cgroup, whatever the function
 * runs: the allowance before any process of the function.
 */
export const GVISOR_PIDS_HEADROOM = 64;

/**
 * Host tasks a gVisor sandbox may add per process of the function. Under runsc the function's
 * processes are limited inside the sandbox (the guest agent sets RLIMIT_NPROC to `limits.pids`,
 * counted by gVisor's kernel); the host pids cgroup only keeps a runaway sandbox from taking the
 * host's pids. It cannot count processes: on the ptrace platform every address space is a host
 * stub process with one thread per Sentry thread that ran it, so host tasks grow with processes
 * times Sentry threads. Measured on 2 cores, a fork bomb held at 32 processes took up to 2,200
 * host tasks and one held at 128 about 6,400; a cgroup limit below that kills the whole sandbox.
 */
export const GVISOR_HOST_TASKS_PER_PROCESS = 128;

/**
 * The most host tasks one gVisor sandbox may hold, whatever its `limits.pids`: the host's pids are
 * the resource this cgroup protects (`kernel.pid_max` is 32768 on the development machines). A
 * function allowed more processes than fit under it can still lose its sandbox to the cgroup.
 */
export const GVISOR_HOST_TASKS_MAX = 8192;

/** The container's pids cgroup limit for a function allowed `pids` processes. */
export function hostPidsLimit(runtime: string, pids: number): number {
  if (runtime !== 'runsc') return pids;
  return Math.min(GVISOR_PIDS_HEADROOM + pids * GVISOR_HOST_TASKS_PER_PROCESS, GVISOR_HOST_TASKS_MAX);
}

/**
 * Inodes of the /tmp tmpfs: one per 4 KiB of its size (at least 1024), the same rule the guest
 * agent applies to a VM's /tmp (guest-agent/src/init.rs). Without it, tmpfs allows half the host's
 * RAM pages in inodes: a container could make millions of empty files where a VM makes thousands.
 */
export function tmpInodes(tmpBytes: number): number {
  return Math.max(1024, Math.floor(tmpBytes / 4096));
}

export interface ContainerSpecInput {
  /**
   * A seccomp profile (Docker's JSON format) instead of the engine's built-in default; undefined
   * keeps the engine's. The gVisor executor sets containers-common's (docker/executor.ts).
   */
  seccompProfile?: string;
  image: string;
  command: string[];
  env: string[];
  limits: ResourceLimits;
  user: string;
  runtime: string;
  labels: Record<string, string>;
}

export function containerSpec(input: ContainerSpecInput): Record<string, unknown> {
  const { limits } = input;
  return {
    Image: input.image,
    // The request's command is the whole argv: an image ENTRYPOINT must not wrap it.
    Entrypoint: [],
    Cmd: input.command,
    Env: ['HOME=/tmp', ...input.env],
    User: input.user,
    Hostname: 'sandbox',
    AttachStdin: true,
    AttachStdout: true,
    AttachStderr: true,
    OpenStdin: true,
    StdinOnce: true,
    Tty: false,
    NetworkDisabled: true,
    Labels: input.labels,
    HostConfig: {
      Runtime: input.runtime,
      Init: true,
      NetworkMode: 'none',
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges:true', ...(input.seccompProfile ? [`seccomp=${input.seccompProfile}`] : [])],
      ReadonlyRootfs: true,
      Tmpfs: { '/tmp': `rw,nosuid,nodev,size=${limits.tmpBytes},nr_inodes=${tmpInodes(limits.tmpBytes)},mode=1777` },
      Memory: limits.memoryBytes,
      // Equal to Memory: no swap, so the memory limit is a real limit.
      MemorySwap: limits.memoryBytes,
      NanoCpus: Math.round(limits.cpus * 1e9),
      PidsLimit: hostPidsLimit(input.runtime, limits.pids),
      Ulimits: [
        { Name: 'nofile', Soft: 1024, Hard: 1024 },
        { Name: 'core', Soft: 0, Hard: 0 },
      ],
      OomScoreAdj: 1000,
      IpcMode: 'private',
      ShmSize: 16 * 1024 * 1024,
      LogConfig: { Type: 'none', Config: {} },
      AutoRemove: false,
      Privileged: false,
      PublishAllPorts: false,
    },
  };
}
