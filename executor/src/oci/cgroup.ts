/**
 * The memory cgroup of one OCI sandbox, read on the host: the kernel's own OOM-kill counter, and
 * whether any process is left. The runtime places the sandbox at `cgroupsPath` (cgroupfs layout):
 *   v1: /sys/fs/cgroup/memory/<cgroupsPath>/memory.oom_control   ("oom_kill N")
 *   v2: /sys/fs/cgroup/<cgroupsPath>/memory.events               ("oom_kill N")
 */
import { existsSync, readdirSync, readFileSync, rmdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { OomProbe } from '../agent/run.js';
import { parseOomKills } from '../docker/cgroup.js';
import { processEnding } from '../pids.js';

const ROOT = '/sys/fs/cgroup';

/** True on a cgroup v2 (unified) host. */
export function cgroupV2(): boolean {
  return existsSync(join(ROOT, 'cgroup.controllers'));
}

/** Whether the memory cgroup can limit swap (v1 needs swap accounting for memory.memsw.*). */
export function swapAccounting(): boolean {
  return cgroupV2() || existsSync(join(ROOT, 'memory', 'memory.memsw.limit_in_bytes'));
}

export class OciOomProbe implements OomProbe<number | undefined> {
  private readonly path: string;

  constructor(cgroupsPath: string) {
    this.path = cgroupV2() ? join(ROOT, cgroupsPath, 'memory.events') : join(ROOT, 'memory', cgroupsPath, 'memory.oom_control');
  }

  private read(): number | undefined {
    try {
      return parseOomKills(readFileSync(this.path, 'utf8'));
    } catch {
      return undefined;
    }
  }

  async mark(): Promise<number | undefined> {
    return this.read();
  }

  async killedSince(mark: number | undefined): Promise<boolean> {
    const now = this.read();
    return now !== undefined && mark !== undefined && now > mark;
  }

  /** True when the cgroup is gone, empty, or its first process (the agent) is exiting. */
  emptied(): boolean {
    let procs: string;
    try {
      procs = readFileSync(join(dirname(this.path), 'cgroup.procs'), 'utf8');
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'ENOENT';
    }
    const pids = procs.split('\n').filter(Boolean).map(Number);
    if (pids.length === 0) return true;
    return processEnding(Math.min(...pids));
  }
}

/**
 * Controllers a cgroup v1 ("hybrid") host has bound to its cgroup2 hierarchy at
 * /sys/fs/cgroup/unified: crun refuses to create any cgroup while one is there ("cgroups in
 * hybrid mode not supported, drop all controllers from cgroupv2"). Empty on pure v1 or v2 hosts.
 */
export function hybridV2Controllers(): string[] {
  if (cgroupV2()) return [];
  try {
    return readFileSync(join(ROOT, 'unified', 'cgroup.controllers'), 'utf8')
      .split(/\s+/)
      .filter(Boolean);
  } catch {
    return [];
  }
}

/**
 * Removes the cgroups under `parent` (e.g. faas-oci) whose name `stale` accepts: those a runtime
 * killed with its platform left behind. A cgroup that still holds a process is left (rmdir fails).
 * Returns how many were removed.
 */
export function removeStaleCgroups(parent: string, stale: (name: string) => boolean): number {
  const dirs = cgroupV2()
    ? [join(ROOT, parent)]
    : readdirSafe(ROOT)
        .filter((controller) => controller !== 'unified')
        .map((controller) => join(ROOT, controller, parent));
  let removed = 0;
  for (const dir of dirs) {
    for (const name of readdirSafe(dir)) {
      if (!stale(name)) continue;
      try {
        rmdirSync(join(dir, name));
        removed++;
      } catch {
        // still in use, or not a cgroup
      }
    }
  }
  return removed;
}

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name);
  } catch {
    return [];
  }
}
