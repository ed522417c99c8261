/**
 * The OCI runtime's command line (runc, crun, runsc: the same commands). Each sandbox is one
 * foreground `run` of its bundle, a child of this process whose stdio is the container's stdio:
 * the guest agent speaks over those pipes, and the child's exit is the container's end (a
 * foreground run deletes its container when its process exits). Containers live under a state
 * root of the platform's own (`--root`), named `faas-<platform pid>-...`, so start-up finds what
 * a dead platform left behind.
 *
 * Global flags: the executor's own (`--root`), then per runtime what the sandbox needs (runsc:
 * `--network=none`, gVisor's network stack off; the sandbox has none anyway, and runsc refuses to
 * start a sandbox in a fresh network namespace without it on hosts whose netns it cannot
 * configure; and `--oci-seccomp`, without which runsc ignores the config's seccomp filter and only
 * its own host-side filter applies), then the operator's `FAAS_OCI_RUNTIME_ARGS` (e.g.
 * `--platform=systrap` for runsc).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { LaunchedProcess, Launcher, SpawnFiles } from './launcher.js';

const execFileAsync = promisify(execFile);

export const CONTAINER_PREFIX = 'faas-';

/** Which OCI runtime a binary is, from the first line of its `--version`. */
export type RuntimeFlavour = 'runc' | 'crun' | 'runsc' | 'other';

export interface RuntimeContainer {
  id: string;
  pid: number;
  status: string;
  bundle: string;
}

/** `crun version 1.8.1` -> crun; `runc version 1.1.5` -> runc; `runsc version ...` -> runsc. */
export function runtimeFlavour(versionLine: string): RuntimeFlavour {
  const match = /^\s*(runc|crun|runsc)\b/i.exec(versionLine);
  return match ? (match[1]?.toLowerCase() as RuntimeFlavour) : 'other';
}

/** Global flags the executor always passes to a runtime of this flavour, before the operator's. */
export function flavourArgs(flavour: RuntimeFlavour): string[] {
  return flavour === 'runsc' ? ['--network=none', '--oci-seccomp'] : [];
}

export class OciRuntime {
  private globals: string[];
  /** Set by version(): which runtime the binary is. */
  flavour: RuntimeFlavour = 'other';

  constructor(
    /** The runtime binary (runc, crun, runsc). */
    readonly path: string,
    /** The runtime's state folder for this platform's containers. */
    readonly root: string,
    /** The operator's extra global flags (FAAS_OCI_RUNTIME_ARGS). */
    private readonly extraArgs: readonly string[],
    /** Starts `run` from a worker thread (launcher.ts). */
    private readonly launcher: Launcher,
  ) {
    this.globals = ['--root', root, ...extraArgs];
  }

  /**
   * Starts the container in the foreground: its stdin, stdout and stderr are the child's. `files`
   * (the bundle) are written first, by the launcher's thread.
   */
  run(id: string, bundle: string, files: SpawnFiles = {}): LaunchedProcess {
    return this.launcher.spawn(this.path, [...this.globals, 'run', '--bundle', bundle, id], files);
  }

  /** Reads the binary's version line and learns its flavour (and so its global flags). */
  async version(): Promise<string> {
    const { stdout } = await execFileAsync(this.path, ['--version'], { timeout: 10_000 });
    const line = stdout.split('\n')[0] ?? '';
    this.flavour = runtimeFlavour(line);
    this.globals = ['--root', this.root, ...flavourArgs(this.flavour), ...this.extraArgs];
    return line;
  }

  async kill(id: string, signal = 'KILL'): Promise<void> {
    await execFileAsync(this.path, [...this.globals, 'kill', id, signal], { timeout: 10_000 });
  }

  /** Kills whatever still runs in the container and removes it (state, cgroup). */
  async delete(id: string): Promise<void> {
    await execFileAsync(this.path, [...this.globals, 'delete', '--force', id], { timeout: 15_000 });
  }

  async list(): Promise<RuntimeContainer[]> {
    const { stdout } = await execFileAsync(this.path, [...this.globals, 'list', '--format', 'json'], { timeout: 10_000 });
    const parsed = JSON.parse(stdout.trim() || 'null') as RuntimeContainer[] | null;
    return parsed ?? [];
  }
}

/** The platform pid a container name carries, for telling leftovers of dead platforms. */
export function ownerPid(containerId: string): number | undefined {
  const match = /^faas-(\d+)-/.exec(containerId);
  return match ? Number(match[1]) : undefined;
}
