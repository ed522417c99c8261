/**
 * User namespaces of OCI sandboxes (runc, crun): each live sandbox maps container ids
 * 0..65535 to a host range of its own, `USERNS_BASE + slot * USERNS_SIZE`, so the container's root
 * (the guest agent) is an unprivileged host uid, the function's 65534 is not the host's nobody,
 * and no two live sandboxes share a host uid: a process that escapes one sandbox's namespaces
 * owns nothing of the host and nothing of another sandbox.
 *
 * Ranges are a host-wide resource, and more than one platform process may run on a host (a
 * gateway and a test, two gateways), so a slot is claimed with a file created exclusively in one
 * host-wide folder (`USERNS_CLAIMS`, holding the claiming pid); files of dead processes are
 * removed at start-up. Within a process, the free slots are those neither held nor claimed; the
 * search goes round from after the last slot handed out, so a range just released is the last to
 * be handed out again.
 */
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { FaasError } from '@faas/common';
import { pidAlive } from '../pids.js';

/** The first host id of slot 0: 2^30, far above the ids of users and of other tools' subuid ranges (100000+). */
export const USERNS_BASE = 2 ** 30;
/** Ids per sandbox: container 0..65535 (root, the sandbox user 65534, and every id an image uses). */
export const USERNS_SIZE = 65_536;
/** The last host id a range may use: 2^32-1 is (uid_t)-1, "no id", which the kernel never maps. */
export const USERNS_LAST_ID = 2 ** 32 - 2;
/** How many slots fit between the base and the last id: 49151. */
export const USERNS_SLOTS = Math.floor((USERNS_LAST_ID + 1 - USERNS_BASE) / USERNS_SIZE);
/** The host-wide folder of slot claims, one file per live sandbox's range. */
export const USERNS_CLAIMS = '/run/faas/oci-userns';

/** How long a claim file may stay empty while its owner writes its pid. */
const CLAIM_WRITE_MS = 10_000;

export interface IdMapping {
  containerID: number;
  hostID: number;
  size: number;
}

/** The uid and gid mapping of a slot (the same for both). */
export function slotMapping(slot: number): IdMapping {
  if (!Number.isInteger(slot) || slot < 0 || slot >= USERNS_SLOTS) throw new RangeError(`user namespace slot ${slot} is out of range`);
  return { containerID: 0, hostID: USERNS_BASE + slot * USERNS_SIZE, size: USERNS_SIZE };
}

/** Whether the kernel allows user namespaces: /proc/sys/user/max_user_namespaces > 0. */
export function kernelUserns(): string | undefined {
  let max: number;
  try {
    max = Number(readFileSync('/proc/sys/user/max_user_namespaces', 'utf8').trim());
  } catch {
    return 'the kernel has no user namespaces (no /proc/sys/user/max_user_namespaces: CONFIG_USER_NS is off)';
  }
  if (!(max > 0)) return `user namespaces are disabled (sysctl user.max_user_namespaces = ${max}; set it to e.g. 15000)`;
  return undefined;
}

export class UsernsSlots {
  private readonly held = new Set<number>();
  private cursor = 0;

  constructor(
    private readonly dir: string = USERNS_CLAIMS,
    private readonly slots: number = USERNS_SLOTS,
  ) {}

  /** Makes the claims folder and removes the claims of processes that are gone. Returns how many. */
  init(): number {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    let removed = 0;
    for (const name of readdirSync(this.dir)) {
      const path = join(this.dir, name);
      const owner = Number(readFileSafe(path));
      if (owner === process.pid || pidAlive(owner)) continue;
      // An empty claim may be one being written this moment by another process.
      if (owner === 0 && Date.now() - mtimeMs(path) < CLAIM_WRITE_MS) continue;
      rmSync(join(this.dir, name), { force: true });
      removed++;
    }
    return removed;
  }

  /** A free slot, claimed for this process until `release`. */
  acquire(): number {
    for (let tried = 0; tried < this.slots; tried++) {
      const slot = this.cursor;
      this.cursor = (this.cursor + 1) % this.slots;
      if (this.held.has(slot)) continue;
      let fd: number;
      try {
        fd = openSync(join(this.dir, String(slot)), 'wx', 0o600);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue;
        throw new FaasError(
          'FAAS_ERR_EXECUTOR_UNAVAILABLE',
          `cannot claim a user namespace id range in ${this.dir}: ${(err as Error).message}`,
        );
      }
      try {
        writeSync(fd, String(process.pid));
      } finally {
        closeSync(fd);
      }
      this.held.add(slot);
      return slot;
    }
    throw new FaasError('FAAS_ERR_SATURATED', `all ${this.slots} user namespace id ranges are in use on this host`);
  }

  release(slot: number): void {
    if (!this.held.delete(slot)) return;
    rmSync(join(this.dir, String(slot)), { force: true });
  }

  /** Slots this process holds now. */
  get size(): number {
    return this.held.size;
  }
}

function mtimeMs(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

function readFileSafe(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return '';
  }
}
