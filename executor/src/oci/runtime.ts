/**
 * The OCI runtime's command line (runc; crun and runsc take the same commands). Each sandbox is
 * one foreground `run` of its bundle, a child of this process whose stdio is the container's
 * stdio: the guest agent speaks over those pipes, and the child's exit is the container's end
 * (a foreground run deletes its container when its process exits). Containers live under a state
 * root of the platform's own (`--root`), named `faas-<platform pid>-...`, so start-up finds what
 * a dead platform left behind.
 */
import { type ChildProcessWithoutNullStreams, execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export const CONTAINER_PREFIX = 'faas-';

export interface RuntimeContainer {
  id: string;
  pid: number;
  status: string;
  bundle: string;
}

export class OciRuntime {
  constructor(
    /** The runtime binary (runc, crun, runsc). */
    readonly path: string,
    /** The runtime's state folder for this platform's containers. */
    readonly root: string,
  ) {}

  /** Starts the container in the foreground: its stdin, stdout and stderr are the child's. */
  run(id: string, bundle: string): ChildProcessWithoutNullStreams {
    return spawn(this.path, ['--root', this.root, 'run', '--bundle', bundle, id], { stdio: ['pipe', 'pipe', 'pipe'] });
  }

  async version(): Promise<string> {
    const { stdout } = await execFileAsync(this.path, ['--version'], { timeout: 10_000 });
    return stdout.split('\n')[0] ?? '';
  }

  async kill(id: string, signal = 'KILL'): Promise<void> {
    await execFileAsync(this.path, ['--root', this.root, 'kill', id, signal], { timeout: 10_000 });
  }

  /** Kills whatever still runs in the container and removes it (state, cgroup). */
  async delete(id: string): Promise<void> {
    await execFileAsync(this.path, ['--root', this.root, 'delete', '--force', id], { timeout: 15_000 });
  }

  async list(): Promise<RuntimeContainer[]> {
    const { stdout } = await execFileAsync(this.path, ['--root', this.root, 'list', '--format', 'json'], { timeout: 10_000 });
    const parsed = JSON.parse(stdout.trim() || 'null') as RuntimeContainer[] | null;
    return parsed ?? [];
  }
}

/** The platform pid a container name carries, for telling leftovers of dead platforms. */
export function ownerPid(containerId: string): number | undefined {
  const match = /^faas-(\d+)-/.exec(containerId);
  return match ? Number(match[1]) : undefined;
}
