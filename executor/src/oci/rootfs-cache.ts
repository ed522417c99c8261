/**
 * Read-only root filesystems of images, unpacked once per image id from the local Docker image
 * store and shared by every sandbox of the image (each sandbox's runtime bind-mounts it read-only
 * in its own mount namespace; nothing of a sandbox is written to it).
 *
 * An image is exported with `GET /images/{name}/get` (the `docker save` format: manifest.json
 * naming each layer's tar, lowest first), and its layers are applied in order with the `tar`
 * package, honouring the OCI whiteouts: `.wh.<name>` removes `<name>` of the layers below, and
 * `.wh..wh..opq` empties its folder of what the layers below put there. The result is built in a
 * temporary folder and renamed into place, so a half-unpacked image is never used; the mount
 * points the runtime needs are made in it then, because the runtime would otherwise create them
 * in the shared copy. Images no longer in the store are removed by `prune`.
 *
 * An image of an OCI image layout (image-layout.ts) is unpacked from its layer blobs instead, each
 * copied into the private work folder while it is checked against its digest (and diff id), and
 * unpacked from that copy (`tar` reads gzip layers by itself), into the same entry: the image id is
 * the config digest either way, so an image in both places is unpacked once.
 *
 * Set-uid and set-gid bits (0o6000) are cleared on every file unpacked: the cache folder is 0711
 * and each entry 0755 with files owned by host root (user-namespaced containers must reach them),
 * so a set-uid-root file kept there would give any local user euid 0. Inside a sandbox they do
 * nothing anyway (no-new-privileges). File capabilities (`security.capability` xattrs) are never
 * restored: the `tar` package (v7) parses SCHILY.xattr pax records but its unpacker sets no
 * extended attributes at all.
 *
 * Layout: entries live under `<dir>/v2/<hex>` (CACHE_VERSION), each with `<hex>.source.json`
 * beside it naming where it was unpacked from (`{"from":"docker"}` or `{"from":"layout","layout":
 * "/abs/path"}`), written before the entry is renamed into place. Entries of the first layout
 * (64-hex folders directly in `<dir>`, unpacked with set-uid bits kept) are never used, and are
 * removed by `prune`. `prune` removes an entry only when it is this platform's to judge: from the
 * Docker store (or of no known source) and no longer there, from this platform's layout and no
 * longer there, or from a layout folder that no longer exists; an entry of another platform's
 * existing layout is kept.
 */
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  existsSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join, normalize, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { FaasError, type Logger } from '@faas/common';
import * as tar from 'tar';
import type { DockerEngine } from '../docker/engine.js';
import { pidAlive } from '../pids.js';
import { MOUNT_POINTS } from './bundle-spec.js';
import { type LayoutLayer, layerUnpackError, verifyBlob } from './image-layout.js';

const WHITEOUT = '.wh.';
/** The entry types whose mode applyLayer sets again after extraction. */
const MODE_TYPES: ReadonlySet<string> = new Set(['File', 'OldFile', 'ContiguousFile', 'Directory']);
const OPAQUE = '.wh..wh..opq';
/** The folder of the cache holding entries of this format (set-uid bits cleared, sources recorded). */
export const CACHE_VERSION = 'v2';
const HEX64 = /^[a-f0-9]{64}$/;
const SOURCE_SUFFIX = '.source.json';
/** Set-uid and set-gid: cleared on every unpacked file. */
const SETID_BITS = 0o6000;

/** A layer the cache refuses to apply (a whiteout naming its own folder or one above). */
export class LayerError extends Error {}

/** Where an entry was unpacked from, recorded beside it as `<hex>.source.json`. */
export type EntrySource = { from: 'docker' } | { from: 'layout'; layout: string };

/** What this platform keeps at prune: the ids of its Docker store and of its own layout. */
export interface PruneKeep {
  docker: ReadonlySet<string>;
  layout?: { dir: string; ids: ReadonlySet<string> };
  /** Entry folders a sandbox uses (the root.path of live bundles), never removed whatever their image. */
  inUse?: ReadonlySet<string>;
  /** Entries rootfs() handed out less than this long ago are kept (ms; default RECENT_USE_MS). */
  recentMs?: number;
}

/**
 * How long an entry handed out by rootfs() is kept from prune (ms): a sandbox being started has
 * its path before its bundle exists.
 */
export const RECENT_USE_MS = 5 * 60_000;

/** The layer blobs of an image of an OCI image layout, lowest first, to unpack instead of exporting from Docker. */
export interface LayoutSource {
  layoutDir: string;
  layers: readonly LayoutLayer[];
}

interface SaveManifest {
  Config: string;
  Layers: string[];
}

/** Where a cached image's root filesystem lives, by its id (`sha256:<hex>`). */
export function rootfsDirName(imageId: string): string {
  return imageId.replace(/^sha256:/, '');
}

export class RootfsCache {
  private readonly inflight = new Map<string, Promise<string>>();
  /** Entry name -> when rootfs() last handed it out (ms since the epoch): kept from prune for RECENT_USE_MS. */
  private readonly used = new Map<string, number>();

  constructor(
    private readonly engine: DockerEngine,
    /** The cache folder; entries are in its CACHE_VERSION folder. */
    private readonly dir: string,
    private readonly log: Logger,
  ) {}

  /** The folder holding one unpacked root filesystem per image id (this format's). */
  get entries(): string {
    return join(this.dir, CACHE_VERSION);
  }

  /**
   * The unpacked root filesystem of the image with this id, unpacking it on first use: from the
   * Docker image store, or from the layer blobs of `layout` when given.
   */
  async rootfs(imageId: string, layout?: LayoutSource): Promise<string> {
    const path = join(this.entries, rootfsDirName(imageId));
    this.used.set(rootfsDirName(imageId), Date.now());
    if (existsSync(path)) return path;
    let pending = this.inflight.get(imageId);
    if (!pending) {
      pending = this.unpack(imageId, path, layout).finally(() => this.inflight.delete(imageId));
      this.inflight.set(imageId, pending);
    }
    return pending;
  }

  private async unpack(imageId: string, target: string, layout?: LayoutSource): Promise<string> {
    const started = Date.now();
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    // Searchable by others, as the cache folder is: user-namespaced containers pass through it.
    mkdirSync(this.entries, { recursive: true, mode: 0o711 });
    chmodSync(this.entries, 0o711);
    // The work folder is root's only: the layer copies and the half-unpacked tree stay private.
    const work = join(this.entries, cacheTempName(`${rootfsDirName(imageId).slice(0, 16)}-${randomBytes(4).toString('hex')}`));
    const exported = join(work, 'export');
    const rootfs = join(work, 'rootfs');
    mkdirSync(work, { mode: 0o700 });
    mkdirSync(exported, { mode: 0o700 });
    mkdirSync(rootfs, { mode: 0o755 });
    try {
      if (layout) {
        for (const [i, layer] of layout.layers.entries()) {
          const copy = join(work, `layer-${i}`);
          await verifyBlob(layout.layoutDir, layer, copy);
          try {
            await applyLayer(copy, rootfs);
          } catch (err) {
            throw layerUnpackError(layer.digest, err);
          } finally {
            rmSync(copy, { force: true });
          }
        }
      } else await this.unpackExport(imageId, exported, rootfs);
      makeMountPoints(rootfs);
      const source: EntrySource = layout ? { from: 'layout', layout: resolve(layout.layoutDir) } : { from: 'docker' };
      const sourceTemp = join(work, 'source.json');
      writeFileSync(sourceTemp, `${JSON.stringify(source)}\n`, { mode: 0o644 });
      try {
        // The source first, so an entry in place always has one (prune reads it).
        if (!existsSync(target)) renameSync(sourceTemp, sourcePath(target));
        renameSync(rootfs, target);
      } catch (err) {
        // Another process unpacked it first: theirs is as good.
        if (!existsSync(target)) throw err;
      }
      this.log.info(
        { image: imageId, ms: Date.now() - started, ...(layout ? { layout: layout.layoutDir } : {}) },
        'unpacked image root filesystem',
      );
      return target;
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }

  /** Exports the image from the Docker engine into `exported` and applies its layers to `rootfs`. */
  private async unpackExport(imageId: string, exported: string, rootfs: string): Promise<void> {
    let stream: Awaited<ReturnType<DockerEngine['getStream']>>;
    try {
      stream = await this.engine.getStream(`/images/${encodeURIComponent(imageId)}/get`);
    } catch (err) {
      if (err instanceof FaasError) throw err;
      throw new FaasError('FAAS_ERR_EXECUTOR_UNAVAILABLE', `cannot export image ${imageId}: ${(err as Error).message}`, { cause: err });
    }
    await pipeline(stream, tar.x({ cwd: exported }));
    const manifest = JSON.parse(readFileSync(join(exported, 'manifest.json'), 'utf8')) as SaveManifest[];
    const layers = manifest[0]?.Layers;
    if (!layers) throw new FaasError('FAAS_ERR_INTERNAL', `the export of image ${imageId} names no layers`);
    for (const layer of layers) await applyLayer(join(exported, normalize(layer)), rootfs);
  }

  /**
   * Removes what needs no knowledge of the images wanted: unfinished unpacks of dead processes in
   * the cache folder, and entries of the first cache format (64-hex folders directly in it: they
   * may hold set-uid files). Returns how many went. The executor calls it before prune(), on its
   * own, so that an image store or layout that cannot be listed does not keep them.
   */
  removeStale(): number {
    let removed = 0;
    let top: string[] = [];
    try {
      top = readdirSync(this.dir);
    } catch {
      return 0;
    }
    for (const name of top) {
      if (name.startsWith(TEMP_PREFIX)) {
        // Another platform process sharing the cache may be unpacking right now.
        const owner = Number(/^\.tmp-(\d+)-/.exec(name)?.[1]);
        if (owner === process.pid || (Number.isSafeInteger(owner) && pidAlive(owner))) continue;
        rmSync(join(this.dir, name), { recursive: true, force: true });
        removed++;
      } else if (HEX64.test(name)) {
        // The first format: never used again.
        rmSync(join(this.dir, name), { recursive: true, force: true });
        removed++;
      }
    }
    return removed;
  }

  /**
   * Removes unfinished unpacks of dead processes among the entries, and entries this platform knows
   * to be unwanted (what is directly in the cache folder is removeStale()'s): of the Docker store (or with no source recorded) and not in `keep.docker`; of this
   * platform's layout (`keep.layout.dir`) and in neither of `keep`'s sets; of a layout folder that
   * no longer exists. An entry of another existing layout is another platform's: kept.
   */
  prune(keep: PruneKeep): number {
    let removed = 0;
    const removeTemp = (folder: string, name: string): boolean => {
      if (!name.startsWith(TEMP_PREFIX)) return false;
      // Another platform process sharing the cache may be unpacking right now.
      const owner = Number(/^\.tmp-(\d+)-/.exec(name)?.[1]);
      if (owner === process.pid || (Number.isSafeInteger(owner) && pidAlive(owner))) return true;
      rmSync(join(folder, name), { recursive: true, force: true });
      removed++;
      return true;
    };
    let entries: string[] = [];
    try {
      entries = readdirSync(this.entries);
    } catch {
      return removed;
    }
    const docker = new Set([...keep.docker].map(rootfsDirName));
    const ownLayout = keep.layout ? resolve(keep.layout.dir) : undefined;
    const layoutIds = new Set([...(keep.layout?.ids ?? [])].map(rootfsDirName));
    const present = new Set(entries);
    for (const name of entries) {
      if (removeTemp(this.entries, name)) continue;
      if (name.endsWith(SOURCE_SUFFIX)) {
        // A source whose entry is gone (or never came: another process's rename won).
        const hex = name.slice(0, -SOURCE_SUFFIX.length);
        if (HEX64.test(hex) && !present.has(hex)) rmSync(join(this.entries, name), { force: true });
        continue;
      }
      if (!HEX64.test(name)) continue;
      if ([...this.inflight.keys()].some((id) => rootfsDirName(id) === name)) continue;
      const path = join(this.entries, name);
      if (keep.inUse?.has(path) || Date.now() - (this.used.get(name) ?? 0) < (keep.recentMs ?? RECENT_USE_MS)) continue;
      const source = readSource(path);
      let unwanted: boolean;
      if (source.from === 'docker') unwanted = !docker.has(name);
      else if (source.layout === ownLayout) unwanted = !layoutIds.has(name) && !docker.has(name);
      else unwanted = !isFolder(source.layout);
      if (!unwanted) continue;
      rmSync(sourcePath(path), { force: true });
      rmSync(path, { recursive: true, force: true });
      removed++;
    }
    return removed;
  }
}

const TEMP_PREFIX = '.tmp-';

/** The source file of an entry: `<entry>.source.json` beside it. */
function sourcePath(entry: string): string {
  return `${entry}${SOURCE_SUFFIX}`;
}

/** Where an entry was unpacked from; an entry without a readable source counts as the Docker store's. */
export function readSource(entry: string): EntrySource {
  try {
    const parsed = JSON.parse(readFileSync(sourcePath(entry), 'utf8')) as { from?: unknown; layout?: unknown };
    if (parsed?.from === 'layout' && typeof parsed.layout === 'string' && parsed.layout.startsWith('/')) {
      return { from: 'layout', layout: parsed.layout };
    }
  } catch {
    // none: the Docker store's
  }
  return { from: 'docker' };
}

function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * The name of a work folder in the cache, carrying this process's pid: prune() removes those of
 * processes that are gone (an unpack that never finished), never another live platform's.
 */
export function cacheTempName(label: string): string {
  return `${TEMP_PREFIX}${process.pid}-${label}`;
}

/** Applies one layer tar (uncompressed or gzip: `tar` detects it) to `rootfs`: its whiteouts first (they concern the layers below), then its files. */
async function applyLayer(layerTar: string, rootfs: string): Promise<void> {
  const whiteouts: string[] = [];
  await tar.t({
    file: layerTar,
    onReadEntry: (entry) => {
      if (basename(entry.path).startsWith(WHITEOUT)) whiteouts.push(entry.path);
    },
  });
  for (const path of whiteouts) {
    const name = basename(path);
    const rest = name.slice(WHITEOUT.length);
    // `.wh.`, `.wh..` and `.wh...` would name the folder itself or its parent: the whole tree.
    if (name !== OPAQUE && (rest === '' || rest === '.' || rest === '..')) {
      throw new LayerError(`it has a whiteout "${path.slice(0, 200)}" that names no file of its folder (the folder itself or one above)`);
    }
    const folder = safeJoin(rootfs, dirname(path));
    if (!folder || symlinkOnPath(rootfs, folder)) continue;
    if (name === OPAQUE) {
      let children: string[] = [];
      try {
        children = readdirSync(folder);
      } catch {
        continue;
      }
      for (const child of children) rmSync(join(folder, child), { recursive: true, force: true });
    } else {
      const victim = safeJoin(rootfs, join(dirname(path), rest));
      // Only ever a child of the whiteout's folder.
      if (victim && dirname(victim) === folder) rmSync(victim, { recursive: true, force: true });
    }
  }
  // `tar` makes absolute symlink targets relative (it guards the host, where they would point):
  // inside the container they are absolute, so they are put back once the layer is written.
  const absolute: [string, string][] = [];
  // Modes are set again once the layer is written: `tar` creates files and folders through the
  // process umask (a 1777 /var/tmp would land as 1755, a 0666 file as 0644) and gives folders
  // owner rwx while it fills them.
  const modes: [string, number][] = [];
  await tar.x({
    file: layerTar,
    cwd: rootfs,
    preserveOwner: true,
    // Modes exactly as the image has them (a 1777 /tmp stays 1777: the runtime gives a tmpfs
    // the mode of its mount point).
    chmod: true,
    processUmask: 0,
    unlink: true,
    filter: (path, entry) => {
      if (basename(path).startsWith(WHITEOUT)) return false;
      // No set-uid or set-gid file ever lands in the shared cache (see the header).
      if (typeof entry.mode === 'number') entry.mode &= ~SETID_BITS;
      if ('type' in entry && entry.type === 'SymbolicLink' && entry.linkpath?.startsWith('/')) absolute.push([path, entry.linkpath]);
      if ('type' in entry && MODE_TYPES.has(entry.type) && typeof entry.mode === 'number') modes.push([path, entry.mode & 0o7777]);
      return true;
    },
  });
  for (const [path, mode] of modes) {
    const at = safeJoin(rootfs, path);
    // Never through a symlink (symlinkOnPath looks at `at` itself too): host paths stay untouched.
    if (!at || symlinkOnPath(rootfs, at)) continue;
    try {
      chmodSync(at, mode);
    } catch {
      // not extracted (refused by tar) or removed by a later entry
    }
  }
  for (const [path, target] of absolute) {
    const at = safeJoin(rootfs, path);
    if (!at || symlinkOnPath(rootfs, dirname(at))) continue;
    try {
      if (!lstatSync(at).isSymbolicLink()) continue;
    } catch {
      continue;
    }
    rmSync(at, { force: true });
    symlinkSync(target, at);
  }
}

/** True when a folder on the way from `root` to `path` (itself included) is a symlink: never followed on the host. */
function symlinkOnPath(root: string, path: string): boolean {
  let at = root;
  for (const part of path.slice(root.length).split('/').filter(Boolean)) {
    at = join(at, part);
    try {
      if (lstatSync(at).isSymbolicLink()) return true;
    } catch {
      return false;
    }
  }
  return false;
}

/** `rel` under `root`, or undefined for a path that would leave it. */
function safeJoin(root: string, rel: string): string | undefined {
  const joined = normalize(join(root, rel));
  return joined === root || joined.startsWith(`${root}/`) ? joined : undefined;
}

/** The runtime's mount points, as real folders and files of the image (a symlink there is replaced). */
function makeMountPoints(rootfs: string): void {
  const replaceLink = (path: string) => {
    try {
      if (lstatSync(path).isSymbolicLink()) rmSync(path, { force: true });
    } catch {
      // absent
    }
  };
  for (const dir of MOUNT_POINTS.dirs) {
    replaceLink(join(rootfs, dir));
    mkdirSync(join(rootfs, dir), { recursive: true });
  }
  // The runtime gives the /tmp tmpfs the mode of its mount point: world-writable and sticky.
  chmodSync(join(rootfs, '/tmp'), 0o1777);
  for (const file of MOUNT_POINTS.files) {
    replaceLink(join(rootfs, file));
    closeSync(openSync(join(rootfs, file), 'a', 0o644));
  }
}
