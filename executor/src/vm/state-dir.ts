/**
 * Every VM owns exactly one state directory under the executor's runtime directory: its sockets,
 * its writable disk layer, its console log and a record of who started it. Keeping everything a
 * VM creates in one place makes destroy a single `rm -r`, and lets a restarted platform find and
 * remove what a crashed run left behind (init() sweeps directories whose owner process is gone).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '@faas/common';
import { pidAlive } from '../pids.js';

const OWNER_FILE = 'owner.json';
/** How long a state dir without an owner record is taken for one being created. */
const UNRECORDED_GRACE_MS = 60_000;

/** What a state directory records about the processes that own it. */
interface OwnerRecord {
  /** The platform process that created the VM. */
  hostPid: number;
  /** The VMM process, once started; written by recordVmmPid. */
  vmmPid?: number;
  /** The executor object that made it, for its sweep while running (absent: snapshot builds). */
  instance?: string;
  createdAt: string;
}

/** The executor object that owns state dirs (by `instance`), and the VM ids it still holds. */
export interface SweepOwner {
  instance: string;
  holds(id: string): boolean;
}

/**
 * The default runtime directory. It must be short: Unix socket paths are limited to 107 bytes and
 * Firecracker appends `_<port>` to the vsock socket path.
 */
export function defaultRuntimeDir(kind: string): string {
  const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
  return join(tmpdir(), `faas-${kind}-${uid}`);
}

/** A short random id: unique enough per host, short enough for socket paths. */
export function newVmId(): string {
  return randomBytes(6).toString('hex');
}

export async function createStateDir(runtimeDir: string, id: string, instance?: string): Promise<string> {
  await mkdir(runtimeDir, { recursive: true, mode: 0o700 });
  const dir = join(runtimeDir, id);
  await mkdir(dir, { mode: 0o700 });
  await writeOwner(dir, { hostPid: process.pid, ...(instance ? { instance } : {}), createdAt: new Date().toISOString() });
  return dir;
}

export async function recordVmmPid(dir: string, vmmPid: number): Promise<void> {
  const owner = await readOwner(dir);
  await writeOwner(dir, { hostPid: process.pid, createdAt: new Date().toISOString(), ...owner, vmmPid });
}

async function writeOwner(dir: string, record: OwnerRecord): Promise<void> {
  await writeFile(join(dir, OWNER_FILE), `${JSON.stringify(record)}\n`, { mode: 0o600 });
}

export async function removeStateDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true, maxRetries: 3 });
}

/**
 * Removes state directories whose owning platform process no longer runs, killing their VMM
 * first. A VMM is only killed if its command line names the directory, so a pid that the kernel
 * has since handed to an unrelated process is never touched. Directories of live owners (another
 * executor in this or another process) are left alone, except that `own`'s directories of VMs it
 * no longer holds are leftovers too (the sweep while running). Returns how many were removed.
 */
export async function sweepRuntimeDir(runtimeDir: string, log: Logger, own?: SweepOwner): Promise<number> {
  let entries: string[];
  try {
    entries = await readdir(runtimeDir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
  let removed = 0;
  for (const name of entries) {
    const dir = join(runtimeDir, name);
    // Held before its owner record is written: a VM being created is never a leftover.
    if (own?.holds(name)) continue;
    const owner = await readOwner(dir);
    // No record yet: another executor may be between creating the folder and writing it.
    if (!owner && own && (await youngerThan(dir, UNRECORDED_GRACE_MS))) continue;
    const mine = own !== undefined && owner?.hostPid === process.pid && owner.instance === own.instance;
    if (owner && pidAlive(owner.hostPid) && !mine) continue;
    if (owner?.vmmPid !== undefined && pidAlive(owner.vmmPid) && (await commandLineMentions(owner.vmmPid, dir))) {
      log.warn({ vm: name, pid: owner.vmmPid }, 'killing a VMM left behind by an earlier run');
      try {
        process.kill(owner.vmmPid, 'SIGKILL');
      } catch {
        // Exited meanwhile.
      }
      await waitForExit(owner.vmmPid, 5000);
    }
    await removeStateDir(dir);
    removed++;
  }
  return removed;
}

async function youngerThan(dir: string, ms: number): Promise<boolean> {
  try {
    return Date.now() - (await stat(dir)).mtimeMs < ms;
  } catch {
    return false;
  }
}

async function readOwner(dir: string): Promise<OwnerRecord | undefined> {
  try {
    const parsed = JSON.parse(await readFile(join(dir, OWNER_FILE), 'utf8')) as Partial<OwnerRecord>;
    if (typeof parsed.hostPid !== 'number') return undefined;
    return parsed as OwnerRecord;
  } catch {
    return undefined;
  }
}

async function commandLineMentions(pid: number, text: string): Promise<boolean> {
  try {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8');
    return cmdline.includes(text);
  } catch {
    return false;
  }
}

async function waitForExit(pid: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (pidAlive(pid) && Date.now() < deadline) {
    // A zombie of another parent stays "alive" to kill(0); /proc tells us it is dead.
    const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
    if (/^State:\s+Z/m.test(status) || status === '') return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
