/**
 * What a column's platform process leaves behind, looked at from the host: containers labelled
 * with its pid, its per-executor run dir (/run/faas/<kind>-<pid>; for oci, the runtime's state
 * dirs and the bundles named faas-<pid>-... under /run/faas), VM state dirs in its own
 * runtime dir, and processes (VMMs) that still name its scratch folder on their command line.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ociStateRoot } from '@faas/executor';
import { describeContainers, dockerApi, managedContainers } from '../support/docker.js';

/** A GET on the Docker Engine API. */
export function DOCKER_GET(path: string, timeoutMs = 5000): Promise<{ status: number; body: string }> {
  return dockerApi('GET', path, timeoutMs);
}

export { dockerApi };

/** Processes whose command line contains `needle` (the column's scratch folder), as short lines. */
export function processesNaming(needle: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (cmdline.includes(needle)) found.push(`pid ${pid} ${cmdline.replaceAll('\0', ' ').slice(0, 100)}`);
    } catch {
      // Exited while we looked.
    }
  }
  return found;
}

/** Entries left in a folder (state dirs, sockets), or none if it is gone. */
export function entriesIn(dir: string): string[] {
  if (!existsSync(dir)) return [];
  try {
    return readdirSync(dir).map((name) => join(dir, name));
  } catch {
    return [];
  }
}

export interface Footprint {
  containers: string[];
  runDir: string[];
  vmStateDirs: string[];
  processes: string[];
}

/** The platform process a footprint is taken of. */
export interface Platform {
  pid: number;
  /** Its executor kind: names its run dir (/run/faas/<kind>-<pid>). */
  kind: string;
  /** The oci executor's runtime (FAAS_OCI_RUNTIME): names its state dir (/run/faas/oci-<basename>). */
  ociRuntime?: string;
  /** Its TMPDIR: VM state dirs live there, and VMMs name it on their command line. */
  scratch: string;
}

/** Everything of one platform process that the host still shows. */
export async function footprint(p: Platform): Promise<Footprint> {
  const containers = await managedContainers({ 'dev.faas.pid': String(p.pid) });
  const runDir = join('/run/faas', `${p.kind}-${p.pid}`);
  return {
    containers: containers.length > 0 ? describeContainers(containers).split('\n') : [],
    runDir: p.kind === 'oci' ? ociEntries(p.pid, p.ociRuntime ?? 'runc') : entriesIn(runDir),
    vmStateDirs: readdirSafe(p.scratch).flatMap((name) => (name.startsWith('faas-') ? entriesIn(join(p.scratch, name)) : [])),
    processes: processesNaming(p.scratch),
  };
}

/**
 * The oci executor's sandboxes of one platform process (named faas-<pid>-...) still on the host:
 * one entry per sandbox, saying where it shows (the runtime's state dir, its bundle or both).
 * The state dir is the executor's (ociStateRoot): one per runtime binary. runc and crun keep a
 * folder per container there; runsc keeps files named after sandbox and container
 * (`<id>_sandbox:<id>.state`, `.lock`), counted once.
 */
function ociEntries(pid: number, runtimePath: string): string[] {
  const ownId = new RegExp(`^faas-${pid}-[0-9a-f-]+`);
  const seen = new Map<string, Set<string>>();
  for (const [dir, what] of [
    [ociStateRoot('/run/faas', runtimePath), 'state'],
    [join('/run/faas', 'oci-bundles'), 'bundle'],
  ] as const) {
    for (const name of readdirSafe(dir)) {
      const id = ownId.exec(name)?.[0];
      if (id) seen.set(id, (seen.get(id) ?? new Set()).add(what));
    }
  }
  return [...seen].map(([id, where]) => `${id} (${[...where].join(', ')})`);
}

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** Polls until `ok` holds for the footprint or the time is up; returns the last one seen. */
export async function waitForFootprint(p: Platform, ok: (f: Footprint) => boolean, withinMs: number): Promise<Footprint> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const f = await footprint(p);
    if (ok(f) || Date.now() >= deadline) return f;
    await new Promise((r) => setTimeout(r, 250));
  }
}
