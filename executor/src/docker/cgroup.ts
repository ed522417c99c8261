/**
 * The OOM-kill counter of a container's memory cgroup, read on the host. It is the kernel's own
 * record, so it is right whatever ran inside: runc or runsc, the agent's child or a grandchild.
 *
 * Where the file lives depends on the cgroup version and Docker's cgroup driver:
 *   v1, cgroupfs: /sys/fs/cgroup/memory/docker/<id>/memory.oom_control        ("oom_kill N")
 *   v1, systemd:  /sys/fs/cgroup/memory/system.slice/docker-<id>.scope/memory.oom_control
 *   v2, cgroupfs: /sys/fs/cgroup/docker/<id>/memory.events                      ("oom_kill N")
 *   v2, systemd:  /sys/fs/cgroup/system.slice/docker-<id>.scope/memory.events
 * (kernel Documentation/admin-guide/cgroup-v1/memory.rst and cgroup-v2.rst; the `oom_kill` field
 * exists since Linux 4.13.)
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { OomProbe } from '../agent/run.js';
import { processEnding } from '../pids.js';

const ROOT = '/sys/fs/cgroup';

function candidates(containerId: string): string[] {
  return [
    `${ROOT}/memory/docker/${containerId}/memory.oom_control`,
    `${ROOT}/memory/system.slice/docker-${containerId}.scope/memory.oom_control`,
    `${ROOT}/docker/${containerId}/memory.events`,
    `${ROOT}/system.slice/docker-${containerId}.scope/memory.events`,
  ];
}

/** Parses the `oom_kill N` line of memory.oom_control or memory.events; undefined if absent. */
export function parseOomKills(text: string): number | undefined {
  const match = /^oom_kill (\d+)$/m.exec(text);
  return match ? Number(match[1]) : undefined;
}

/**
 * A probe for one container. The file is found on first use and remembered; where no cgroup file
 * can be read (a remote engine), the probe falls back to asking the engine's `State.OOMKilled`.
 * Reads are synchronous on purpose: a cgroup file is served from kernel memory in microseconds,
 * while an asynchronous read waits for a libuv pool thread, which under load cost the warm path
 * milliseconds per invocation (bench/compare.mjs).
 */
export class ContainerOomProbe implements OomProbe<number | undefined> {
  private path: string | undefined;
  private searched = false;

  constructor(
    private readonly containerId: string,
    private readonly engineSaysOomKilled: () => Promise<boolean>,
  ) {}

  private read(): number | undefined {
    if (this.path) {
      const value = readCounter(this.path);
      if (value !== undefined) return value;
    }
    if (this.searched && !this.path) return undefined;
    this.searched = true;
    for (const path of candidates(this.containerId)) {
      const value = readCounter(path);
      if (value !== undefined) {
        this.path = path;
        return value;
      }
    }
    this.path = undefined;
    return undefined;
  }

  async mark(): Promise<number | undefined> {
    return this.read();
  }

  /**
   * True when the container's cgroup, once found, is gone, holds no process any more, or its init
   * (the first process) is exiting or has a kill pending: the container is dead or dying, whether
   * or not the engine said so yet. Synchronous reads of kernel files (microseconds), cheap enough
   * to ask before every command; false when it cannot tell (a gVisor sandbox's kill happens inside
   * its own kernel, where only the agent's hang-up and the engine's events tell).
   */
  emptied(): boolean {
    if (!this.searched) this.read();
    if (!this.path) return false;
    let procs: string;
    try {
      procs = readFileSync(join(dirname(this.path), 'cgroup.procs'), 'utf8');
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'ENOENT';
    }
    // The container's init is its first process: killed (docker kill), the container is ending.
    const pids = procs.split('\n').filter(Boolean).map(Number);
    if (pids.length === 0) return true;
    return processEnding(Math.min(...pids));
  }

  async killedSince(mark: number | undefined): Promise<boolean> {
    const now = this.read();
    if (now !== undefined && mark !== undefined) return now > mark;
    // A container that died with its cgroup (gVisor) or a host without readable cgroups.
    return this.engineSaysOomKilled();
  }
}

function readCounter(path: string): number | undefined {
  try {
    return parseOomKills(readFileSync(path, 'utf8'));
  } catch {
    return undefined;
  }
}
