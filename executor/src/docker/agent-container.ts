/**
 * Warm container sandboxes: the container's main process is the guest agent (the static binary,
 * bind-mounted read-only), listening on a Unix socket in a per-sandbox host folder, or, under
 * gVisor (whose sockets the host cannot see), serving its stdin/stdout over the engine's attach
 * stream (`--stdio`, attach-duplex.ts). Invocations reach the agent directly, never through
 * `docker exec`.
 *
 * The agent runs as root inside the container but with only the capabilities it needs to run
 * commands as the sandbox user and clean up after them (SETUID, SETGID, KILL, DAC_OVERRIDE,
 * FOWNER); commands run as the unprivileged sandbox user with no capabilities at all, under
 * no-new-privileges, and cannot reach the agent's socket (root-owned, mode 0600, in a 0700 folder).
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ResourceLimits } from '@faas/common';
import { containerSpec } from './container-spec.js';

export const AGENT_MOUNT = '/faas/agent';
export const AGENT_RUN_DIR = '/faas/run';
export const AGENT_SOCKET = 'agent.sock';

export interface AgentContainerInput {
  image: string;
  limits: ResourceLimits;
  agentPath: string;
  hostRunDir: string;
  runtime: string;
  labels: Record<string, string>;
  /** `unix` (default): a socket in `hostRunDir`; `stdio`: frames over the container's attached stdio. */
  transport?: 'unix' | 'stdio';
  /** A seccomp profile in Docker's JSON format; undefined: the engine's default (container-spec.ts). */
  seccompProfile?: string;
}

/**
 * Tasks of the sandbox's own machinery in its pids cgroup, so that `limits.pids` counts the
 * function's processes alone: the init (docker-init) and the agent's threads (measured: main,
 * plus the socket listener and one worker with the unix transport; main and one worker over stdio).
 */
export function agentPidsHeadroom(transport: 'unix' | 'stdio'): number {
  return transport === 'stdio' ? 3 : 4;
}

export function agentContainerSpec(input: AgentContainerInput): Record<string, unknown> {
  const stdio = input.transport === 'stdio';
  const base = containerSpec({
    image: input.image,
    command: stdio ? [AGENT_MOUNT, '--stdio'] : [AGENT_MOUNT, '--unix', `${AGENT_RUN_DIR}/${AGENT_SOCKET}`],
    env: [],
    limits: input.limits,
    user: '0:0',
    runtime: input.runtime,
    labels: input.labels,
    ...(input.seccompProfile ? { seccompProfile: input.seccompProfile } : {}),
  });
  const host = base.HostConfig as Record<string, unknown>;
  const agentBind = `${input.agentPath}:${AGENT_MOUNT}:ro`;
  return {
    ...base,
    // stdio: stdin stays open while the host is attached and closes when it detaches
    // (StdinOnce), which ends the agent; frames must not pass through a TTY.
    AttachStdin: stdio,
    AttachStdout: stdio,
    AttachStderr: stdio,
    OpenStdin: stdio,
    StdinOnce: stdio,
    Tty: false,
    HostConfig: {
      ...host,
      PidsLimit: (host.PidsLimit as number) + agentPidsHeadroom(stdio ? 'stdio' : 'unix'),
      CapAdd: ['SETUID', 'SETGID', 'KILL', 'DAC_OVERRIDE', 'FOWNER'],
      Binds: stdio ? [agentBind] : [agentBind, `${input.hostRunDir}:${AGENT_RUN_DIR}:rw`],
    },
  };
}

/** Creates the host folder that will hold one sandbox's agent socket. */
export function makeRunDir(root: string, sandboxId: string): string {
  const dir = join(root, sandboxId);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

export function removeRunDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
