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
 * checked against its digest first (`tar` reads gzip layers by itself), into the same entry: the
 * image id is the config digest either way, so an image in both places is unpacked once.
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
  symlinkSync,
} from 'node:fs';
import { basename, dirname, join, normalize } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { FaasError, type Logger } from '@faas/common';
import * as tar from 'tar';
import type { DockerEngine } from '../docker/engine.js';
import { pidAlive } from '../pids.js';
import { MOUNT_POINTS } from './bundle-spec.js';
import { type LayoutLayer, verifyBlob } from './image-layout.js';

const WHITEOUT = '.wh.';
const OPAQUE = '.wh..wh..opq';

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

  constructor(
    private readonly engine: DockerEngine,
    /** The folder holding one unpacked root filesystem per image id. */
    private readonly dir: string,
    private readonly log: Logger,
  ) {}

  /**
   * The unpacked root filesystem of the image with this id, unpacking it on first use: from the
   * Docker image store, or from the layer blobs of `layout` when given.
   */
  async rootfs(imageId: string, layout?: LayoutSource): Promise<string> {
    const path = join(this.dir, rootfsDirName(imageId));
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
    const work = join(this.dir, cacheTempName(`${rootfsDirName(imageId).slice(0, 16)}-${randomBytes(4).toString('hex')}`));
    const exported = join(work, 'export');
    const rootfs = join(work, 'rootfs');
    mkdirSync(exported, { recursive: true });
    mkdirSync(rootfs, { mode: 0o755 });
    try {
      if (layout) {
        for (const layer of layout.layers) {
          await verifyBlob(layout.layoutDir, layer);
          await applyLayer(layer.path, rootfs);
        }
      } else await this.unpackExport(imageId, exported, rootfs);
      makeMountPoints(rootfs);
      try {
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

  /** Removes unpacked images whose id is not in `keep`, and unpacks that never finished. */
  prune(keep: ReadonlySet<string>): number {
    let entries: string[] = [];
    try {
      entries = readdirSync(this.dir);
    } catch {
      return 0;
    }
    const wanted = new Set([...keep].map(rootfsDirName));
    let removed = 0;
    for (const name of entries) {
      if (name.startsWith(TEMP_PREFIX)) {
        // Another platform process sharing the cache may be unpacking right now.
        const owner = Number(/^\.tmp-(\d+)-/.exec(name)?.[1]);
        if (owner === process.pid || (Number.isSafeInteger(owner) && pidAlive(owner))) continue;
        rmSync(join(this.dir, name), { recursive: true, force: true });
        removed++;
        continue;
      }
      if (!wanted.has(name)) {
        if ([...this.inflight.keys()].some((id) => rootfsDirName(id) === name)) continue;
        rmSync(join(this.dir, name), { recursive: true, force: true });
        removed++;
      }
    }
    return removed;
  }
}

const TEMP_PREFIX = '.tmp-';

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
      const victim = safeJoin(rootfs, join(dirname(path), name.slice(WHITEOUT.length)));
      if (victim) rmSync(victim, { recursive: true, force: true });
    }
  }
  // `tar` makes absolute symlink targets relative (it guards the host, where they would point):
  // inside the container they are absolute, so they are put back once the layer is written.
  const absolute: [string, string][] = [];
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
      if ('type' in entry && entry.type === 'SymbolicLink' && entry.linkpath?.startsWith('/')) absolute.push([path, entry.linkpath]);
      return true;
    },
  });
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
