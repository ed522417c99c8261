/**
 * The on-disk cache of VM snapshots shared by the microVM executors. A snapshot is only valid for
 * the exact kernel, root filesystem, agent, VMM build and VM shape it was taken with (the saved
 * state references the disk and the device layout), so every entry is named by a key hashed from
 * all of them: change any input and the key changes, the old entry is simply never looked up
 * again (and is pruned when its replacement for the same image and shape is written).
 *
 * The cache is an optimisation and must never fail an invocation: creation and restore failures
 * are logged, and the caller boots cold. A key whose snapshot cannot be created, or whose
 * snapshots keep failing to restore, is left alone for a while instead of costing a wasted boot
 * on every acquire.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, realpath, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '@faas/common';

/** Bumped when the layout of snapshot files or what they capture changes. */
export const SNAPSHOT_FORMAT = 1;
/** How long a key is skipped after its snapshot could not be created or kept failing to restore. */
const DEFAULT_COOLDOWN_MS = 10 * 60_000;

/** Where one snapshot's files live; `files` maps a part name (state, memory) to its path. */
export interface SnapshotEntry {
  key: string;
  files: Record<string, string>;
}

interface Meta {
  format: number;
  key: string;
  /** Entries of one group (image and VM shape) replace each other. */
  group: string;
  createdAt: string;
  bytes: number;
  /** Human-readable inputs of the key, for operators looking at the cache. */
  inputs: unknown;
}

/** A short, stable hash of any JSON-serialisable value. */
export function hashKey(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 32);
}

/**
 * Identifies a file's current content cheaply: the resolved path plus device, inode, size and
 * times. Rebuilt kernels and root filesystems are written to a new name and renamed into place
 * (a new inode), and an in-place rewrite changes size or mtime, so either way the key changes.
 */
export async function fileIdentity(path: string): Promise<string> {
  const resolved = await realpath(path);
  const s = await stat(resolved, { bigint: true });
  return `${resolved}:${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
}

export class SnapshotCache {
  private readonly inflight = new Map<string, Promise<SnapshotEntry | undefined>>();
  private readonly skipUntil = new Map<string, number>();
  private readonly restoreFailures = new Map<string, number>();

  /**
   * @param prefix names this VMM's entries (`qemu`, `firecracker`): their formats differ.
   * @param parts the files one snapshot consists of, e.g. ['state'] or ['state', 'memory'].
   */
  constructor(
    readonly dir: string,
    private readonly prefix: string,
    private readonly parts: readonly string[],
    private readonly log: Logger,
    private readonly cooldownMs = DEFAULT_COOLDOWN_MS,
  ) {}

  entry(key: string): SnapshotEntry {
    const files: Record<string, string> = {};
    for (const part of this.parts) files[part] = join(this.dir, `${this.prefix}-${key}.${part}`);
    return { key, files };
  }

  /** The snapshot for `key`, creating it first if needed; undefined means "boot cold". */
  async ensure(
    key: string,
    group: string,
    inputs: unknown,
    create: (files: Record<string, string>) => Promise<void>,
  ): Promise<SnapshotEntry | undefined> {
    if ((this.skipUntil.get(key) ?? 0) > Date.now()) return undefined;
    const found = await this.lookup(key);
    if (found) return found;
    let pending = this.inflight.get(key);
    if (!pending) {
      pending = this.build(key, group, inputs, create).finally(() => this.inflight.delete(key));
      this.inflight.set(key, pending);
    }
    return pending;
  }

  /**
   * Called when a VM could not be restored from `key`: the entry is removed so that the next
   * acquire builds a fresh one, and after a second failure the key is skipped for a while.
   */
  async invalidate(key: string, reason: string): Promise<void> {
    const failures = (this.restoreFailures.get(key) ?? 0) + 1;
    this.restoreFailures.set(key, failures);
    if (failures >= 2) this.skipUntil.set(key, Date.now() + this.cooldownMs);
    this.log.warn({ snapshot: key, reason, failures }, 'VM snapshot removed after a failed restore');
    await this.remove(key);
  }

  /** Resolves once no snapshot is being built (close() waits for the builders it killed). */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.inflight.values()]);
  }

  private async lookup(key: string): Promise<SnapshotEntry | undefined> {
    const entry = this.entry(key);
    try {
      const meta = JSON.parse(await readFile(this.metaPath(key), 'utf8')) as Partial<Meta>;
      if (meta.format !== SNAPSHOT_FORMAT || meta.key !== key) return undefined;
      for (const path of Object.values(entry.files)) if (!(await stat(path)).isFile()) return undefined;
      return entry;
    } catch {
      return undefined;
    }
  }

  private async build(
    key: string,
    group: string,
    inputs: unknown,
    create: (files: Record<string, string>) => Promise<void>,
  ): Promise<SnapshotEntry | undefined> {
    const started = Date.now();
    const tag = `.tmp-${randomBytes(4).toString('hex')}`;
    const entry = this.entry(key);
    const temp: Record<string, string> = {};
    for (const [part, path] of Object.entries(entry.files)) temp[part] = path + tag;
    try {
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
      await create(temp);
      let bytes = 0;
      for (const [part, path] of Object.entries(entry.files)) {
        bytes += (await stat(temp[part] as string)).size;
        await rename(temp[part] as string, path);
      }
      const meta: Meta = { format: SNAPSHOT_FORMAT, key, group, createdAt: new Date().toISOString(), bytes, inputs };
      // The metadata goes last: an entry without it is never used.
      await writeFile(this.metaPath(key) + tag, `${JSON.stringify(meta)}\n`, { mode: 0o600 });
      await rename(this.metaPath(key) + tag, this.metaPath(key));
      this.log.info({ snapshot: key, bytes, ms: Date.now() - started }, 'VM snapshot created');
      await this.pruneGroup(group, key);
      return entry;
    } catch (err) {
      this.skipUntil.set(key, Date.now() + this.cooldownMs);
      this.log.warn({ snapshot: key, err: (err as Error).message }, 'VM snapshot could not be created; booting cold');
      await Promise.all([...Object.values(temp), this.metaPath(key) + tag].map((p) => rm(p, { force: true })));
      return undefined;
    }
  }

  /** Removes older entries of the same image and shape: their key inputs changed. */
  private async pruneGroup(group: string, keep: string): Promise<void> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    for (const name of names) {
      const match = new RegExp(`^${this.prefix}-([0-9a-f]{32})\\.json$`).exec(name);
      const other = match?.[1];
      if (!other || other === keep) continue;
      const meta = await readFile(join(this.dir, name), 'utf8')
        .then((t) => JSON.parse(t) as Partial<Meta>)
        .catch(() => undefined);
      if (meta?.group === group) await this.remove(other);
    }
  }

  private async remove(key: string): Promise<void> {
    await rm(this.metaPath(key), { force: true });
    await Promise.all(Object.values(this.entry(key).files).map((p) => rm(p, { force: true })));
  }

  private metaPath(key: string): string {
    return join(this.dir, `${this.prefix}-${key}.json`);
  }
}
