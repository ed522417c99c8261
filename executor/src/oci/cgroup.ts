/**
 * The memory cgroup of one OCI sandbox, read on the host: the kernel's own OOM-kill counter, and
 * whether any process is left. The runtime places the sandbox at `cgroupsPath` (cgroupfs layout):
 *   v1: /sys/fs/cgroup/memory/<cgroupsPath>/memory.oom_control   ("oom_kill N")
 *   v2: /sys/fs/cgroup/<cgroupsPath>/memory.events               ("oom_kill N")
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
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

  /** The last count read: the cgroup goes with its container, maybe before the loss is handled. */
  private last: number | undefined;

  /** Reads the OOM-kill count now (also called the moment the sandbox is known lost). */
  read(): number | undefined {
    try {
      const count = parseOomKills(readFileSync(this.path, 'utf8'));
      if (count !== undefined) this.last = count;
      return count;
    } catch {
      return undefined;
    }
  }

  async mark(): Promise<number | undefined> {
    return this.read();
  }

  async killedSince(mark: number | undefined): Promise<boolean> {
    const now = this.read() ?? this.last;
    return now !== undefined && mark !== undefined && now > mark;
  }

  /** The host pids of the sandbox's processes (empty when the cgroup is gone). */
  pids(): number[] {
    try {
      return readFileSync(join(dirname(this.path), 'cgroup.procs'), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map(Number);
    } catch {
      return [];
    }
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

export interface V1Limits {
  memoryBytes: number;
  /** Whether memory.memsw (memory + swap) is set too, to the same value. */
  swap: boolean;
  cpuQuotaUs: number;
  cpuPeriodUs: number;
  pids: number;
}

const V1_OWN_CONTROLLERS = ['memory', 'cpu', 'pids'];

/**
 * Makes the sandbox's memory, cpu and pids cgroups (v1) with their limits before the runtime
 * starts it. For runsc: gVisor joins a cgroup that exists instead of making its own, and then
 * leaves it in place when the sandbox dies, so its OOM-kill count can still be read (a runsc
 * sandbox killed by its memory limit goes whole, and runsc removes the cgroups it made at once).
 * Throws when a cgroup cannot be made or limited.
 */
export function createV1Cgroups(cgroupsPath: string, limits: V1Limits): void {
  const dir = (controller: string) => join(ROOT, controller, cgroupsPath);
  for (const controller of V1_OWN_CONTROLLERS) mkdirSync(dir(controller), { recursive: true });
  writeFileSync(join(dir('memory'), 'memory.limit_in_bytes'), String(limits.memoryBytes));
  if (limits.swap) writeFileSync(join(dir('memory'), 'memory.memsw.limit_in_bytes'), String(limits.memoryBytes));
  writeFileSync(join(dir('cpu'), 'cpu.cfs_period_us'), String(limits.cpuPeriodUs));
  writeFileSync(join(dir('cpu'), 'cpu.cfs_quota_us'), String(limits.cpuQuotaUs));
  writeFileSync(join(dir('pids'), 'pids.max'), String(limits.pids));
}

/** Removes what createV1Cgroups made (once the sandbox's processes are gone); true if all went. */
export function removeV1Cgroups(cgroupsPath: string): boolean {
  let removed = true;
  for (const controller of V1_OWN_CONTROLLERS) {
    try {
      rmdirSync(join(ROOT, controller, cgroupsPath));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') removed = false;
    }
  }
  return removed;
}
