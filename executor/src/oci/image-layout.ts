/**
 * Images from an OCI image layout folder (FAAS_OCI_IMAGE_LAYOUT; image-spec "image-layout.md":
 * `oci-layout`, `index.json` and `blobs/sha256/<hex>`, as `skopeo copy docker-daemon:IMG oci:DIR:REF`
 * or `docker buildx build --output type=oci,tar=false` write it), for the oci executor. A request
 * names one as `oci:<ref>`, where `<ref>` is a manifest's `org.opencontainers.image.ref.name`
 * annotation in index.json (or its `io.containerd.image.name`).
 *
 * index.json -> (an image index: the manifest for this host's platform) -> manifest -> config
 * blob. Every blob is read by its digest only (`sha256:` and 64 hex digits, so no name can leave
 * the folder, and a blob whose real path is outside the folder is refused too), and its size and
 * sha256 are checked against its descriptor before it is used: the manifest and config here, each
 * layer by `verifyBlob` before it is unpacked (rootfs-cache.ts), its uncompressed content against
 * the config's diff id too. The image id is the config digest, the value the Docker engine gives
 * the same image as its id, so an image in both places shares one unpacked root filesystem (which
 * is why the layers must be the config's). index.json is re-read when its mtime changes, so an
 * image copied again is picked up.
 *
 * Layers: uncompressed or gzip tars (the OCI types and Docker's gzip type); zstd is refused (Node
 * 20's zlib has none), as is any other type.
 */
import { createHash } from 'node:crypto';
import { createReadStream, readFileSync, realpathSync, statSync } from 'node:fs';
import { join, sep } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { FaasError } from '@faas/common';

/** How a request names an image of the layout: `oci:<ref>`. */
export const OCI_LAYOUT_PREFIX = 'oci:';

const REF_NAME = 'org.opencontainers.image.ref.name';
const CONTAINERD_NAME = 'io.containerd.image.name';
const DIGEST = /^sha256:[a-f0-9]{64}$/;
/** Manifests, indexes and configs are small; a larger one is not read into memory. */
const MAX_JSON_BYTES = 8 << 20;
const MAX_INDEX_DEPTH = 4;

const INDEX_TYPES = new Set(['application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json']);
const MANIFEST_TYPES = new Set(['application/vnd.oci.image.manifest.v1+json', 'application/vnd.docker.distribution.manifest.v2+json']);
/** Layer media types the rootfs cache can apply (`tar` reads gzip by itself). */
export const LAYER_TYPES: ReadonlySet<string> = new Set([
  'application/vnd.oci.image.layer.v1.tar',
  'application/vnd.oci.image.layer.v1.tar+gzip',
  'application/vnd.docker.image.rootfs.diff.tar.gzip',
]);

interface Descriptor {
  mediaType?: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: { os?: string; architecture?: string; variant?: string };
}

/** One layer blob of an image, lowest first. */
export interface LayoutLayer {
  /** The blob's path in the layout folder. */
  path: string;
  mediaType: string;
  digest: string;
  size: number;
  /** The sha256 of the uncompressed tar, as the image config's rootfs.diff_ids names it. */
  diffId?: string;
}

export interface LayoutImage {
  /** The config digest (`sha256:<hex>`): the image id the Docker engine would give it. */
  id: string;
  env: string[];
  workingDir: string | undefined;
  layers: LayoutLayer[];
}

/** True for an image name that names an image of an OCI layout (`oci:<ref>`). */
export function isLayoutImage(image: string): boolean {
  return image.startsWith(OCI_LAYOUT_PREFIX);
}

/**
 * Refuses an `oci:<ref>` image in an executor other than oci (the Docker engine and the VM
 * executors take images from the Docker image store only).
 */
export function refuseLayoutImage(image: string): void {
  if (!isLayoutImage(image)) return;
  throw new FaasError(
    'FAAS_ERR_IMAGE_NOT_FOUND',
    `image "${image.slice(0, 120)}" names an image of an OCI image layout (FAAS_OCI_IMAGE_LAYOUT): images from an OCI layout run on the oci executor only; choose "executor": "oci", or name an image of the Docker image store`,
  );
}

/** The host's OCI architecture name. */
export function hostArchitecture(): string {
  return process.arch === 'x64' ? 'amd64' : process.arch === 'ia32' ? '386' : process.arch;
}

export class OciImageLayout {
  /** The parsed index.json with the mtime it was read at, and the images resolved from it. */
  private index: { mtimeMs: number; size: number; manifests: Descriptor[] } | undefined;
  private readonly resolved = new Map<string, LayoutImage>();
  private readonly root: string;

  constructor(
    /** The layout folder. */
    readonly dir: string,
    private readonly architecture = hostArchitecture(),
  ) {
    try {
      this.root = realpathSync(dir);
    } catch (err) {
      throw layoutError(dir, `cannot be read: ${(err as Error).message}`);
    }
  }

  /** The refs index.json names (ref.name and containerd names), sorted. */
  refs(): string[] {
    const refs = new Set<string>();
    for (const d of this.manifests()) {
      for (const key of [REF_NAME, CONTAINERD_NAME]) {
        const name = d.annotations?.[key];
        if (name) refs.add(name);
      }
    }
    return [...refs].sort();
  }

  /** The ids of the images the layout names that resolve for this host (for the rootfs cache's prune). */
  ids(): Set<string> {
    const ids = new Set<string>();
    for (const ref of this.refs()) {
      try {
        ids.add(this.resolve(ref).id);
      } catch {
        // an image this host cannot use holds nothing in the cache
      }
    }
    return ids;
  }

  /** The image index.json names `ref`, for this host's platform; FAAS_ERR_IMAGE_NOT_FOUND when it has none. */
  resolve(ref: string): LayoutImage {
    const manifests = this.manifests();
    const cached = this.resolved.get(ref);
    if (cached) return cached;
    const named = manifests.filter((d) => d.annotations?.[REF_NAME] === ref || d.annotations?.[CONTAINERD_NAME] === ref);
    if (named.length === 0) {
      const refs = this.refs();
      throw new FaasError(
        'FAAS_ERR_IMAGE_NOT_FOUND',
        `image "${OCI_LAYOUT_PREFIX}${ref.slice(0, 120)}" is not in the OCI image layout ${this.dir} (FAAS_OCI_IMAGE_LAYOUT), which holds ${
          refs.length ? refs.map((r) => `${OCI_LAYOUT_PREFIX}${r}`).join(', ') : 'no named image'
        }: copy it there, e.g. \`skopeo copy docker-daemon:IMAGE oci:${this.dir}:${ref.slice(0, 120)}\``,
      );
    }
    const manifest = this.manifestFor(ref, this.pick(ref, named), 0);
    const image = this.image(ref, manifest);
    this.resolved.set(ref, image);
    return image;
  }

  /** The top-level descriptors of index.json, re-read when the file changed. */
  private manifests(): Descriptor[] {
    const path = join(this.dir, 'index.json');
    let stat: { mtimeMs: number; size: number };
    try {
      stat = statSync(path);
    } catch (err) {
      throw layoutError(this.dir, `has no readable index.json: ${(err as Error).message}`);
    }
    if (this.index && this.index.mtimeMs === stat.mtimeMs && this.index.size === stat.size) return this.index.manifests;
    this.inside(path);
    let parsed: { manifests?: unknown };
    try {
      parsed = JSON.parse(readFileSync(path, 'utf8')) as { manifests?: unknown };
    } catch (err) {
      throw layoutError(this.dir, `has an unreadable index.json: ${(err as Error).message}`);
    }
    const manifests = checkDescriptors(this.dir, 'index.json', parsed.manifests);
    this.index = { mtimeMs: stat.mtimeMs, size: stat.size, manifests };
    this.resolved.clear();
    return manifests;
  }

  /**
   * Of the descriptors of one ref (or of an image index), the one for this host's platform:
   * linux/<arch> (arm64: variant v8 or none first), else one that names no platform.
   */
  private pick(ref: string, candidates: Descriptor[]): Descriptor {
    const matching = candidates.filter((d) => d.platform?.os === 'linux' && d.platform.architecture === this.architecture);
    const best =
      matching.find((d) => !d.platform?.variant || d.platform.variant === 'v8') ?? matching[0] ?? candidates.find((d) => !d.platform);
    if (best) return best;
    const platforms = candidates
      .map((d) => `${d.platform?.os}/${d.platform?.architecture}${d.platform?.variant ? `/${d.platform.variant}` : ''}`)
      .join(', ');
    throw new FaasError(
      'FAAS_ERR_IMAGE_NOT_FOUND',
      `image "${OCI_LAYOUT_PREFIX}${ref.slice(0, 120)}" of the OCI image layout ${this.dir} has no manifest for this host's platform linux/${this.architecture} (it has ${platforms || 'none'})`,
    );
  }

  /** The image manifest a descriptor leads to, through image indexes (the host's platform of each). */
  private manifestFor(ref: string, descriptor: Descriptor, depth: number): { layers: unknown; config: unknown } {
    const doc = this.json(descriptor) as { mediaType?: string; manifests?: unknown; layers?: unknown; config?: unknown };
    const type = descriptor.mediaType ?? doc.mediaType;
    const isIndex = type ? INDEX_TYPES.has(type) : Array.isArray(doc.manifests);
    if (isIndex) {
      if (depth >= MAX_INDEX_DEPTH)
        throw layoutError(this.dir, `nests image indexes deeper than ${MAX_INDEX_DEPTH} under ${descriptor.digest}`);
      const children = checkDescriptors(this.dir, descriptor.digest, doc.manifests);
      // Attestations and other artifacts carry platform unknown/unknown: never an image to run.
      const images = children.filter((d) => d.platform?.os !== 'unknown');
      if (images.length === 0) throw layoutError(this.dir, `has an image index ${descriptor.digest} for "${ref}" that lists no image`);
      return this.manifestFor(ref, this.pick(ref, images), depth + 1);
    }
    if (type && !MANIFEST_TYPES.has(type)) {
      throw new FaasError(
        'FAAS_ERR_IMAGE_NOT_FOUND',
        `image "${OCI_LAYOUT_PREFIX}${ref.slice(0, 120)}" of the OCI image layout ${this.dir} is a ${type}, not an image manifest or index`,
      );
    }
    return { layers: doc.layers, config: doc.config };
  }

  private image(ref: string, manifest: { layers: unknown; config: unknown }): LayoutImage {
    const [config] = checkDescriptors(this.dir, 'the manifest', [manifest.config]);
    const layers = checkDescriptors(this.dir, 'the manifest', manifest.layers ?? []).map((d): LayoutLayer => {
      const mediaType = d.mediaType ?? '';
      if (!LAYER_TYPES.has(mediaType)) {
        throw new FaasError(
          'FAAS_ERR_IMAGE_NOT_FOUND',
          `image "${OCI_LAYOUT_PREFIX}${ref.slice(0, 120)}" of the OCI image layout ${this.dir} has a layer of media type "${mediaType || 'none'}", which the oci executor cannot unpack${
            mediaType.endsWith('+zstd') ? " (zstd: Node 20's zlib has no zstd)" : ''
          }: it reads ${[...LAYER_TYPES].join(', ')}; copy the image again with gzip layers, e.g. \`skopeo copy --dest-compress-format=gzip\``,
        );
      }
      return { path: this.blobPath(d.digest), mediaType, digest: d.digest, size: d.size };
    });
    const doc = this.json(config as Descriptor) as {
      config?: { Env?: unknown; WorkingDir?: unknown };
      rootfs?: { diff_ids?: unknown };
    };
    // The unpacked root filesystem is shared by image id (the config digest): the layers must be
    // the ones the config names, each checked against its diff id when unpacked.
    const diffIds = doc.rootfs?.diff_ids;
    if (!Array.isArray(diffIds) || diffIds.length !== layers.length || !diffIds.every((id) => typeof id === 'string' && DIGEST.test(id))) {
      throw layoutError(
        this.dir,
        `has an image "${ref.slice(0, 120)}" whose config ${(config as Descriptor).digest} does not name one sha256 diff id per layer of its manifest (${layers.length}): refused`,
      );
    }
    layers.forEach((layer, i) => {
      layer.diffId = diffIds[i] as string;
    });
    const env = Array.isArray(doc.config?.Env) ? doc.config.Env.filter((e): e is string => typeof e === 'string') : [];
    const workingDir = typeof doc.config?.WorkingDir === 'string' && doc.config.WorkingDir ? doc.config.WorkingDir : undefined;
    return { id: (config as Descriptor).digest, env, workingDir, layers };
  }

  /** A JSON blob, checked against its descriptor before it is parsed. */
  private json(descriptor: Descriptor): unknown {
    if (descriptor.size > MAX_JSON_BYTES) {
      throw layoutError(this.dir, `names a ${descriptor.size}-byte JSON blob ${descriptor.digest}: at most ${MAX_JSON_BYTES} are read`);
    }
    const path = this.blobPath(descriptor.digest);
    let data: Buffer;
    try {
      data = readFileSync(path);
    } catch (err) {
      throw layoutError(this.dir, `lacks the blob ${descriptor.digest}: ${(err as Error).message}`);
    }
    checkBlob(this.dir, descriptor, data.length, createHash('sha256').update(data).digest('hex'));
    try {
      return JSON.parse(data.toString('utf8'));
    } catch (err) {
      throw layoutError(this.dir, `has a blob ${descriptor.digest} that is not JSON: ${(err as Error).message}`);
    }
  }

  /** The path of a blob, by digest only; refused when its real path leaves the layout folder. */
  private blobPath(digest: string): string {
    if (!DIGEST.test(digest)) throw layoutError(this.dir, `names a blob by "${digest.slice(0, 100)}": only sha256:<64 hex digits> is read`);
    const path = join(this.dir, 'blobs', 'sha256', digest.slice('sha256:'.length));
    this.inside(path);
    return path;
  }

  /** Refuses a path whose real path (symlinks followed) is outside the layout folder. */
  private inside(path: string): void {
    let real: string;
    try {
      real = realpathSync(path);
    } catch {
      return; // absent: reading it fails with its own message
    }
    if (!real.startsWith(`${this.root}${sep}`)) {
      throw layoutError(this.dir, `has ${path.slice(this.dir.length + 1)} leading out of the layout folder (to ${real}): refused`);
    }
  }
}

/**
 * Checks a layer blob against its descriptor (size, then sha256) and, with `diffId`, its
 * uncompressed content against the config's diff id, before it is unpacked; throws
 * FAAS_ERR_IMAGE_NOT_FOUND on a mismatch. One read: the blob is hashed as it is decompressed.
 */
export async function verifyBlob(layoutDir: string, layer: LayoutLayer): Promise<void> {
  let size: number;
  try {
    size = statSync(layer.path).size;
  } catch (err) {
    throw layoutError(layoutDir, `lacks the blob ${layer.digest}: ${(err as Error).message}`);
  }
  if (size !== layer.size) checkBlob(layoutDir, layer, size, '');
  const hash = createHash('sha256');
  const plain = createHash('sha256');
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      done(null, chunk);
    },
  });
  const gzip = layer.mediaType.endsWith('gzip');
  try {
    if (gzip && layer.diffId) await pipeline(createReadStream(layer.path), tap, createGunzip(), plain);
    else await pipeline(createReadStream(layer.path), tap, plain);
  } catch (err) {
    // A blob that is not what its digest says is reported as such, before its broken compression.
    const whole = createHash('sha256');
    await pipeline(createReadStream(layer.path), whole);
    checkBlob(layoutDir, layer, size, whole.digest('hex'));
    throw layoutError(layoutDir, `has a layer ${layer.digest} that cannot be read as ${layer.mediaType}: ${(err as Error).message}`);
  }
  checkBlob(layoutDir, layer, size, hash.digest('hex'));
  const uncompressed = plain.digest('hex');
  if (layer.diffId && `sha256:${uncompressed}` !== layer.diffId) {
    throw layoutError(
      layoutDir,
      `has a layer ${layer.digest} whose uncompressed content has sha256 ${uncompressed}, where the image config names ${layer.diffId}: refused (copy the image again)`,
    );
  }
}

function checkBlob(dir: string, descriptor: { digest: string; size: number }, size: number, hex: string): void {
  if (size !== descriptor.size) {
    throw layoutError(
      dir,
      `has a blob ${descriptor.digest} of ${size} bytes where its descriptor says ${descriptor.size}: refused (copy the image again)`,
    );
  }
  if (`sha256:${hex}` !== descriptor.digest) {
    throw layoutError(dir, `has a blob ${descriptor.digest} whose content has sha256 ${hex}: refused (copy the image again)`);
  }
}

function checkDescriptors(dir: string, where: string, list: unknown): Descriptor[] {
  if (!Array.isArray(list)) throw layoutError(dir, `has no descriptor list in ${where}`);
  for (const d of list as Partial<Descriptor>[]) {
    if (!d || typeof d !== 'object' || typeof d.digest !== 'string' || !DIGEST.test(d.digest)) {
      throw layoutError(dir, `has a descriptor in ${where} whose digest is not sha256:<64 hex digits>: refused`);
    }
    if (typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0) {
      throw layoutError(dir, `has a descriptor ${d.digest} in ${where} without a valid size`);
    }
  }
  return list as Descriptor[];
}

function layoutError(dir: string, what: string): FaasError {
  return new FaasError('FAAS_ERR_IMAGE_NOT_FOUND', `the OCI image layout ${dir} (FAAS_OCI_IMAGE_LAYOUT) ${what}`);
}

/**
 * The image of an `oci:<ref>` name in the layout; FAAS_ERR_IMAGE_NOT_FOUND when no layout is
 * configured or it has no such image.
 */
export async function layoutImage(layout: OciImageLayout | undefined, name: string): Promise<LayoutImage> {
  if (!layout) {
    throw new FaasError(
      'FAAS_ERR_IMAGE_NOT_FOUND',
      `image "${name.slice(0, 120)}" names an image of an OCI image layout, and no layout is configured: set FAAS_OCI_IMAGE_LAYOUT to the layout folder`,
    );
  }
  return layout.resolve(name.slice(OCI_LAYOUT_PREFIX.length));
}
