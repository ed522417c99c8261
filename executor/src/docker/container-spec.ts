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

/**
 * gVisor's own sentry and gofer threads live in the container's pids cgroup, so a limit sized for
 * the function alone would starve gVisor itself; the function's processes get the requested
 * number on top of this allowance.
 */
export const GVISOR_PIDS_HEADROOM = 64;

/**
 * Inodes of the /tmp tmpfs: one per 4 KiB of its size (at least 1024), the same rule the guest
 * agent applies to a VM's /tmp (guest-agent/src/init.rs). Without it, tmpfs allows half the host's
 * RAM pages in inodes: a container could make millions of empty files where a VM makes thousands.
 */
export function tmpInodes(tmpBytes: number): number {
  return Math.max(1024, Math.floor(tmpBytes / 4096));
}

export interface ContainerSpecInput {
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
      SecurityOpt: ['no-new-privileges:true'],
      ReadonlyRootfs: true,
      Tmpfs: { '/tmp': `rw,nosuid,nodev,size=${limits.tmpBytes},nr_inodes=${tmpInodes(limits.tmpBytes)},mode=1777` },
      Memory: limits.memoryBytes,
      // Equal to Memory: no swap, so the memory limit is a real limit.
      MemorySwap: limits.memoryBytes,
      NanoCpus: Math.round(limits.cpus * 1e9),
      PidsLimit: input.runtime === 'runsc' ? limits.pids + GVISOR_PIDS_HEADROOM : limits.pids,
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
