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
 * index.json is checked entry by entry: an entry of its `manifests` list that is not a well-formed
 * descriptor (not an object, a digest that is not `sha256:<64 hex>`, a size that is not a
 * non-negative integer, a mediaType, annotations, ref name or platform of the wrong type) is
 * skipped, so one bad entry does not take every image of the layout down with it. The skipped
 * entries are logged once per version of index.json, to the logger the constructor is given (a
 * warning: how many, and the first 20 with their position, what is wrong and the refs they name);
 * a request for a ref that only skipped entries name is refused with FAAS_ERR_IMAGE_NOT_FOUND
 * naming the ref, the entry and its fault, and one for a ref no entry names is told of the skipped
 * entries that name no ref (the first 3). An index.json that is not JSON, not an object with a
 * `manifests` list, or too large refuses every image, as a layout that cannot be read at all.
 *
 * Layers: uncompressed or gzip tars (the OCI types and Docker's gzip type); zstd is refused (Node
 * 20's zlib has none), as is any other type, and a plain-tar type whose bytes are gzip (or zstd).
 *
 * Hardening: every file of the layout is opened with O_NONBLOCK and fstat-ed, and anything but a
 * regular file (a FIFO, socket, device or folder) is refused before a byte is read, so nothing can
 * hang the thread; a blob's size is compared with its descriptor before it is read, and index.json
 * (8 MiB) and manifests, indexes and configs (4 MiB each) are capped. A layer is copied into a
 * private work folder while it is hashed (`verifyBlob`), and unpacked from that copy, so what is
 * unpacked is what was checked. Error messages (they reach API callers, logs and history) name
 * blobs by digest and the layout as "the OCI image layout (FAAS_OCI_IMAGE_LAYOUT)", never by host
 * path, and list at most 20 refs.
 */
import { createHash } from 'node:crypto';
import {
  closeSync,
  constants,
  createReadStream,
  createWriteStream,
  fstatSync,
  openSync,
  readSync,
  realpathSync,
  type Stats,
  statSync,
} from 'node:fs';
import { join, sep } from 'node:path';
import { Readable, Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { FaasError, type Logger, silentLogger } from '@faas/common';

/** How a request names an image of the layout: `oci:<ref>`. */
export const OCI_LAYOUT_PREFIX = 'oci:';

const REF_NAME = 'org.opencontainers.image.ref.name';
const CONTAINERD_NAME = 'io.containerd.image.name';
const DIGEST = /^sha256:[a-f0-9]{64}$/;
/** Manifests, indexes and configs are small; a larger one is not read into memory. */
export const MAX_JSON_BYTES = 4 << 20;
/** index.json: one descriptor per image, a few hundred bytes each. */
export const MAX_INDEX_BYTES = 8 << 20;
/** At most this many refs are listed in an error naming the refs of the layout. */
const LISTED_REFS = 20;
/** At most this many malformed entries of index.json are listed in the warning that they were skipped. */
const LOGGED_ENTRIES = 20;
/** Opened so that a FIFO never blocks the open (and a non-regular file is refused before any read). */
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK;
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

/** A skipped entry of index.json: where it is and what is wrong with it, e.g. "manifests[3], whose size is not a non-negative integer". */
interface Skipped {
  /** The first skipped entry naming the ref. */
  first: string;
  /** How many skipped entries name it. */
  count: number;
}

export class OciImageLayout {
  /** The parsed index.json with the mtime it was read at, and the images resolved from it. */
  private index: { mtimeMs: number; size: number; manifests: Descriptor[] } | undefined;
  private readonly resolved = new Map<string, LayoutImage>();
  /** The well-formed top-level descriptors by ref (ref.name and containerd name), and the sorted refs, of that index.json. */
  private byRef = new Map<string, Descriptor[]>();
  private sortedRefs: string[] = [];
  /** The malformed entries of that index.json, skipped: by the refs they name, and (the first few) of those naming none. */
  private skippedByRef = new Map<string, Skipped>();
  private skippedUnnamed: { listed: string[]; count: number } = { listed: [], count: 0 };
  /** ids() of that index.json: resolving every ref again each time costs seconds for a large layout. */
  private idsCache: ReadonlySet<string> | undefined;
  private readonly root: string;

  constructor(
    /** The layout folder. */
    readonly dir: string,
    private readonly architecture = hostArchitecture(),
    /** Told, once per version of index.json, of the entries skipped as malformed. */
    private readonly log: Logger = silentLogger,
  ) {
    try {
      this.root = realpathSync(dir);
    } catch (err) {
      throw new FaasError(
        'FAAS_ERR_IMAGE_NOT_FOUND',
        `the OCI image layout ${dir} (FAAS_OCI_IMAGE_LAYOUT) cannot be read: ${(err as Error).message}`,
      );
    }
  }

  /** The refs the well-formed entries of index.json name (ref.name and containerd names), sorted. */
  refs(): string[] {
    this.manifests();
    return [...this.sortedRefs];
  }

  /**
   * The ids of the images the layout names that resolve for this host (for the rootfs cache's
   * prune), worked out once per version of index.json.
   */
  ids(): Set<string> {
    const refs = this.refs();
    if (this.idsCache) return new Set(this.idsCache);
    const ids = new Set<string>();
    for (const ref of refs) {
      try {
        ids.add(this.resolve(ref).id);
      } catch {
        // an image this host cannot use holds nothing in the cache
      }
    }
    this.idsCache = ids;
    return new Set(ids);
  }

  /**
   * The image index.json names `ref`, for this host's platform, from its well-formed entries;
   * FAAS_ERR_IMAGE_NOT_FOUND when it has none (naming a malformed entry when only such entries name `ref`).
   */
  resolve(ref: string): LayoutImage {
    const manifests = this.manifests();
    const cached = this.resolved.get(ref);
    if (cached) return cached;
    const named = manifests.length > 0 ? (this.byRef.get(ref) ?? []) : [];
    const skipped = this.skippedByRef.get(ref);
    const shown = `${OCI_LAYOUT_PREFIX}${ref.slice(0, 120)}`;
    if (named.length === 0 && skipped) {
      throw new FaasError(
        'FAAS_ERR_IMAGE_NOT_FOUND',
        `image "${shown}" of the OCI image layout (FAAS_OCI_IMAGE_LAYOUT) has only ${
          skipped.count > 1
            ? `malformed entries in index.json (${skipped.first}; and ${skipped.count - 1} more)`
            : `a malformed entry in index.json (${skipped.first})`
        }: refused; fix that entry, or copy the image again, e.g. \`skopeo copy docker-daemon:IMAGE oci:$FAAS_OCI_IMAGE_LAYOUT:${ref.slice(0, 120)}\``,
      );
    }
    if (named.length === 0) {
      const refs = this.refs();
      const listed = refs.slice(0, LISTED_REFS).map((r) => `${OCI_LAYOUT_PREFIX}${r.slice(0, 120)}`);
      if (refs.length > LISTED_REFS) listed.push(`and ${refs.length - LISTED_REFS} more`);
      const unnamed = this.skippedUnnamed;
      const more = unnamed.count > unnamed.listed.length ? `; and ${unnamed.count - unnamed.listed.length} more` : '';
      throw new FaasError(
        'FAAS_ERR_IMAGE_NOT_FOUND',
        `image "${shown}" is not in the OCI image layout (FAAS_OCI_IMAGE_LAYOUT), which holds ${
          refs.length ? listed.join(', ') : 'no named image'
        }${
          unnamed.count > 0
            ? ` (index.json also has ${unnamed.count} malformed ${unnamed.count === 1 ? 'entry' : 'entries'} naming no ref, skipped: ${unnamed.listed.join('; ')}${more})`
            : ''
        }: copy it there, e.g. \`skopeo copy docker-daemon:IMAGE oci:$FAAS_OCI_IMAGE_LAYOUT:${ref.slice(0, 120)}\``,
      );
    }
    const note = skipped ? `; index.json also has a malformed entry for it, skipped (${skipped.first})` : '';
    const manifest = this.manifestFor(ref, this.pick(ref, named, note), 0);
    const image = this.image(ref, manifest);
    this.resolved.set(ref, image);
    return image;
  }

  /**
   * The well-formed top-level descriptors of index.json, re-read when the file changed; the
   * malformed ones are set aside (skippedByRef, skippedUnnamed) and logged once for this version.
   */
  private manifests(): Descriptor[] {
    const path = join(this.dir, 'index.json');
    this.inside(path, 'index.json');
    const file = openRegular(path, 'index.json');
    let parsed: unknown;
    try {
      const { stat } = file;
      if (this.index && this.index.mtimeMs === stat.mtimeMs && this.index.size === stat.size) return this.index.manifests;
      if (stat.size > MAX_INDEX_BYTES) {
        throw layoutError(`has an index.json of ${stat.size} bytes: at most ${MAX_INDEX_BYTES} are read`);
      }
      try {
        parsed = JSON.parse(readAll(file.fd, stat.size).toString('utf8'));
      } catch (err) {
        throw layoutError(`has an unreadable index.json: ${errorText(err)}`);
      }
    } finally {
      closeSync(file.fd);
    }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw layoutError('has an index.json that is not a JSON object (an image index with a manifests list): refused');
    }
    const entries = (parsed as { manifests?: unknown }).manifests;
    if (!Array.isArray(entries)) throw layoutError('has no descriptor list in index.json');
    const manifests: Descriptor[] = [];
    const byRef = new Map<string, Descriptor[]>();
    const skippedByRef = new Map<string, Skipped>();
    const unnamed: { listed: string[]; count: number } = { listed: [], count: 0 };
    const logged: string[] = [];
    entries.forEach((entry: unknown, i) => {
      const { names, problem: nameProblem } = entryNames(entry);
      const problem = descriptorProblem(entry) ?? nameProblem;
      if (problem === undefined) {
        const d = entry as Descriptor;
        manifests.push(d);
        for (const name of names) {
          const list = byRef.get(name);
          if (list) list.push(d);
          else byRef.set(name, [d]);
        }
        return;
      }
      const where = `manifests[${i}], ${problem}`;
      if (logged.length < LOGGED_ENTRIES) {
        logged.push(names.length ? `${where} (${names.map((n) => `"${n.slice(0, 120)}"`).join(', ')})` : where);
      }
      for (const name of names) {
        const seen = skippedByRef.get(name);
        if (seen) seen.count++;
        else skippedByRef.set(name, { first: where, count: 1 });
      }
      if (names.length === 0) {
        unnamed.count++;
        if (unnamed.listed.length < 3) unnamed.listed.push(where);
      }
    });
    this.index = { mtimeMs: file.stat.mtimeMs, size: file.stat.size, manifests };
    this.resolved.clear();
    this.idsCache = undefined;
    this.byRef = byRef;
    this.skippedByRef = skippedByRef;
    this.skippedUnnamed = unnamed;
    this.sortedRefs = [...byRef.keys()].sort();
    const skipped = entries.length - manifests.length;
    if (skipped > 0) {
      this.log.warn(
        { layout: this.dir, skipped, entries: logged },
        "malformed entries of the OCI image layout's index.json skipped: the refs only they name are refused, the others stay usable",
      );
    }
    return manifests;
  }

  /**
   * Of the descriptors of one ref (or of an image index), the one for this host's platform:
   * linux/<arch> (arm64: variant v8 or none first), else one that names no platform.
   */
  private pick(ref: string, candidates: Descriptor[], note = ''): Descriptor {
    const matching = candidates.filter((d) => d.platform?.os === 'linux' && d.platform.architecture === this.architecture);
    const best =
      matching.find((d) => !d.platform?.variant || d.platform.variant === 'v8') ?? matching[0] ?? candidates.find((d) => !d.platform);
    if (best) return best;
    const platforms = candidates
      .map((d) => `${d.platform?.os}/${d.platform?.architecture}${d.platform?.variant ? `/${d.platform.variant}` : ''}`)
      .join(', ');
    throw new FaasError(
      'FAAS_ERR_IMAGE_NOT_FOUND',
      `image "${OCI_LAYOUT_PREFIX}${ref.slice(0, 120)}" of the OCI image layout (FAAS_OCI_IMAGE_LAYOUT) has no manifest for this host's platform linux/${this.architecture} (it has ${platforms || 'none'})${note}`,
    );
  }

  /** The image manifest a descriptor leads to, through image indexes (the host's platform of each). */
  private manifestFor(ref: string, descriptor: Descriptor, depth: number): { layers: unknown; config: unknown } {
    const doc = this.json(descriptor) as { mediaType?: string; manifests?: unknown; layers?: unknown; config?: unknown };
    const type = descriptor.mediaType ?? doc.mediaType;
    const isIndex = type ? INDEX_TYPES.has(type) : Array.isArray(doc.manifests);
    if (isIndex) {
      if (depth >= MAX_INDEX_DEPTH) throw layoutError(`nests image indexes deeper than ${MAX_INDEX_DEPTH} under ${descriptor.digest}`);
      const children = checkDescriptors(descriptor.digest, doc.manifests);
      // Attestations and other artifacts carry platform unknown/unknown: never an image to run.
      const images = children.filter((d) => d.platform?.os !== 'unknown');
      if (images.length === 0) throw layoutError(`has an image index ${descriptor.digest} for "${ref.slice(0, 120)}" that lists no image`);
      return this.manifestFor(ref, this.pick(ref, images), depth + 1);
    }
    if (type && !MANIFEST_TYPES.has(type)) {
      throw new FaasError(
        'FAAS_ERR_IMAGE_NOT_FOUND',
        `image "${OCI_LAYOUT_PREFIX}${ref.slice(0, 120)}" of the OCI image layout (FAAS_OCI_IMAGE_LAYOUT) is a ${type.slice(0, 200)}, not an image manifest or index`,
      );
    }
    return { layers: doc.layers, config: doc.config };
  }

  private image(ref: string, manifest: { layers: unknown; config: unknown }): LayoutImage {
    const [config] = checkDescriptors('the manifest', [manifest.config]);
    const layers = checkDescriptors('the manifest', manifest.layers ?? []).map((d): LayoutLayer => {
      const mediaType = d.mediaType ?? '';
      if (!LAYER_TYPES.has(mediaType)) {
        throw new FaasError(
          'FAAS_ERR_IMAGE_NOT_FOUND',
          `image "${OCI_LAYOUT_PREFIX}${ref.slice(0, 120)}" of the OCI image layout (FAAS_OCI_IMAGE_LAYOUT) has a layer of media type "${mediaType.slice(0, 200) || 'none'}", which the oci executor cannot unpack${
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
        `has an image "${ref.slice(0, 120)}" whose config ${(config as Descriptor).digest} does not name one sha256 diff id per layer of its manifest (${layers.length}): refused`,
      );
    }
    layers.forEach((layer, i) => {
      layer.diffId = diffIds[i] as string;
    });
    // What the agent would refuse later (a 502 then) is refused here, as the image's fault.
    const rawEnv = doc.config?.Env;
    if (rawEnv !== undefined && rawEnv !== null && (!Array.isArray(rawEnv) || !rawEnv.every((e) => typeof e === 'string'))) {
      throw layoutError(
        `has an image "${ref.slice(0, 120)}" whose config ${(config as Descriptor).digest} has an Env that is not a list of strings: refused`,
      );
    }
    const env = (rawEnv ?? []) as string[];
    const rawDir = doc.config?.WorkingDir;
    if (
      rawDir !== undefined &&
      rawDir !== null &&
      rawDir !== '' &&
      (typeof rawDir !== 'string' || !rawDir.startsWith('/') || rawDir.includes('\0'))
    ) {
      throw layoutError(
        `has an image "${ref.slice(0, 120)}" whose config ${(config as Descriptor).digest} has a WorkingDir that is not an absolute path (${JSON.stringify(rawDir).slice(0, 120)}): refused`,
      );
    }
    const workingDir = typeof rawDir === 'string' && rawDir ? rawDir : undefined;
    return { id: (config as Descriptor).digest, env, workingDir, layers };
  }

  /** A JSON blob, checked against its descriptor before it is parsed. */
  private json(descriptor: Descriptor): unknown {
    if (descriptor.size > MAX_JSON_BYTES) {
      throw layoutError(`names a ${descriptor.size}-byte JSON blob ${descriptor.digest}: at most ${MAX_JSON_BYTES} are read`);
    }
    const path = this.blobPath(descriptor.digest);
    const file = openRegular(path, `the blob ${descriptor.digest}`);
    let data: Buffer;
    try {
      // The size first: a file larger than its descriptor says is never read.
      checkBlob(descriptor, file.stat.size, undefined);
      data = readAll(file.fd, descriptor.size);
    } finally {
      closeSync(file.fd);
    }
    checkBlob(descriptor, data.length, createHash('sha256').update(data).digest('hex'));
    try {
      return JSON.parse(data.toString('utf8'));
    } catch (err) {
      throw layoutError(`has a blob ${descriptor.digest} that is not JSON: ${errorText(err)}`);
    }
  }

  /** The path of a blob, by digest only; refused when its real path leaves the layout folder. */
  private blobPath(digest: string): string {
    if (!DIGEST.test(digest)) throw layoutError(`names a blob by "${digest.slice(0, 100)}": only sha256:<64 hex digits> is read`);
    const path = join(this.dir, 'blobs', 'sha256', digest.slice('sha256:'.length));
    this.inside(path, `the blob ${digest}`);
    return path;
  }

  /** Refuses a path whose real path (symlinks followed) is outside the layout folder; `what` names it in the message. */
  private inside(path: string, what: string): void {
    let real: string;
    try {
      real = realpathSync(path);
    } catch {
      return; // absent: reading it fails with its own message
    }
    if (!real.startsWith(`${this.root}${sep}`)) {
      throw layoutError(`has ${what} leading out of the layout folder: refused`);
    }
  }
}

/**
 * Checks a layer blob against its descriptor (size, then sha256) and, with `diffId`, its
 * uncompressed content against the config's diff id, before it is unpacked; throws
 * FAAS_ERR_IMAGE_NOT_FOUND on a mismatch. With `copy`, the blob is copied there (a path in the
 * rootfs cache's private work folder) as it is hashed, and the diff id is taken from that copy:
 * the caller unpacks the copy, so a blob changed in the layout after the check is never unpacked.
 * The blob is opened once (O_NONBLOCK, refused unless a regular file of the declared size).
 */
export async function verifyBlob(_layoutDir: string, layer: LayoutLayer, copy?: string): Promise<void> {
  const file = openRegular(layer.path, `the blob ${layer.digest}`);
  const hash = createHash('sha256');
  let head = Buffer.alloc(0);
  try {
    checkBlob(layer, file.stat.size, undefined);
    const tap = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        hash.update(chunk);
        if (head.length < 4) head = Buffer.concat([head, chunk.subarray(0, 4 - head.length)]);
        done(null, chunk);
      },
    });
    const source = createReadStream('', { fd: file.fd, autoClose: false, end: Math.max(layer.size - 1, 0), start: 0 });
    const sink = copy ? createWriteStream(copy, { mode: 0o600, flags: 'wx' }) : devNull();
    try {
      await pipeline(layer.size === 0 ? emptyStream() : source, tap, sink);
    } catch (err) {
      throw layoutError(`has a blob ${layer.digest} that cannot be read: ${errorText(err)}`);
    }
  } finally {
    closeSync(file.fd);
  }
  checkBlob(layer, file.stat.size, hash.digest('hex'));
  const gzip = layer.mediaType.endsWith('gzip');
  const gzipBytes = head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
  const zstdBytes = head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528;
  if (!gzip && (gzipBytes || zstdBytes)) {
    throw layoutError(
      `has a layer ${layer.digest} of media type ${layer.mediaType} whose bytes are ${gzipBytes ? 'gzip' : 'zstd'}-compressed: the media type must match the content; refused`,
    );
  }
  if (!layer.diffId) return;
  const plain = createHash('sha256');
  try {
    const read = copy ? createReadStream(copy) : createReadStream(layer.path);
    if (gzip) await pipeline(read, createGunzip(), plain);
    else await pipeline(read, plain);
  } catch (err) {
    throw layoutError(`has a layer ${layer.digest} that cannot be read as ${layer.mediaType}: ${errorText(err)}`);
  }
  const uncompressed = plain.digest('hex');
  if (`sha256:${uncompressed}` !== layer.diffId) {
    throw layoutError(
      `has a layer ${layer.digest} whose uncompressed content has sha256 ${uncompressed}, where the image config names ${layer.diffId}: refused (copy the image again)`,
    );
  }
}

/** A writable that drops what it gets (hashing only, no copy). */
function devNull(): Writable {
  return new Writable({
    write(_chunk, _encoding, done) {
      done();
    },
  });
}

function emptyStream(): Readable {
  return Readable.from([]);
}

/** Compares a blob's size and (with `hex`) its sha256 with its descriptor. */
function checkBlob(descriptor: { digest: string; size: number }, size: number, hex: string | undefined): void {
  if (size !== descriptor.size) {
    throw layoutError(
      `has a blob ${descriptor.digest} of ${size} bytes where its descriptor says ${descriptor.size}: refused (copy the image again)`,
    );
  }
  if (hex !== undefined && `sha256:${hex}` !== descriptor.digest) {
    throw layoutError(`has a blob ${descriptor.digest} whose content has sha256 ${hex}: refused (copy the image again)`);
  }
}

/**
 * Opens a file of the layout without blocking (a FIFO would otherwise hang the thread in open or
 * read) and refuses it unless it is a regular file; `what` names it in messages (never its path).
 */
function openRegular(path: string, what: string): { fd: number; stat: Stats } {
  // A stat first, so a device is refused without being opened at all.
  let before: Stats;
  try {
    before = statSync(path);
  } catch (err) {
    throw layoutError(`lacks ${what} (${errorText(err)})`);
  }
  if (!before.isFile()) throw layoutError(`has ${what} that is not a regular file (${fileKind(before)}): refused`);
  let fd: number;
  try {
    fd = openSync(path, OPEN_FLAGS);
  } catch (err) {
    throw layoutError(`lacks ${what} (${errorText(err)})`);
  }
  const stat = fstatSync(fd);
  if (!stat.isFile()) {
    closeSync(fd);
    throw layoutError(`has ${what} that is not a regular file (${fileKind(stat)}): refused`);
  }
  return { fd, stat };
}

/** Reads at most `size` bytes of an open file (what fstat said, never more). */
function readAll(fd: number, size: number): Buffer {
  const data = Buffer.alloc(size);
  let at = 0;
  while (at < size) {
    const n = readSync(fd, data, at, size - at, at);
    if (n === 0) break;
    at += n;
  }
  return data.subarray(0, at);
}

function fileKind(stat: Stats): string {
  if (stat.isDirectory()) return 'a folder';
  if (stat.isFIFO()) return 'a FIFO';
  if (stat.isSocket()) return 'a socket';
  if (stat.isCharacterDevice() || stat.isBlockDevice()) return 'a device';
  return 'not a file';
}

/** An error's text without host paths: its code for system errors (whose messages name the path). */
function errorText(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (typeof e?.code === 'string' && typeof e.syscall === 'string') return e.code;
  return (
    String(e?.message ?? err)
      .split('\n')[0]
      ?.slice(0, 300) ?? ''
  );
}

/** Checks a list of descriptors inside a manifest or image index: the first malformed one refuses the image. */
function checkDescriptors(where: string, list: unknown): Descriptor[] {
  if (!Array.isArray(list)) throw layoutError(`has no descriptor list in ${where}`);
  for (const d of list as unknown[]) {
    const problem = descriptorProblem(d);
    if (problem === undefined) continue;
    const digest = isObject(d) ? d.digest : undefined;
    const named = typeof digest === 'string' && DIGEST.test(digest) ? ` ${digest}` : '';
    throw layoutError(`has a descriptor${named} in ${where} ${problem}: refused`);
  }
  return list as Descriptor[];
}

/**
 * What is wrong with a descriptor, as a clause ("whose size is ..."), or undefined when it is
 * well formed; never echoes a value (a digest that is not one could be any text).
 */
function descriptorProblem(value: unknown): string | undefined {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return 'that is not an object';
  const d = value as Record<string, unknown>;
  if (typeof d.digest !== 'string' || !DIGEST.test(d.digest)) return 'whose digest is not sha256:<64 hex digits>';
  if (typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0) return 'whose size is not a non-negative integer';
  if (d.mediaType !== undefined && typeof d.mediaType !== 'string') return 'whose mediaType is not a string';
  if (d.annotations !== undefined && !isObject(d.annotations)) return 'whose annotations are not an object';
  const platform = d.platform;
  if (
    platform !== undefined &&
    (!isObject(platform) ||
      typeof platform.os !== 'string' ||
      typeof platform.architecture !== 'string' ||
      (platform.variant !== undefined && typeof platform.variant !== 'string'))
  ) {
    return 'whose platform is not an object with string os and architecture';
  }
  return undefined;
}

/**
 * The refs an entry of index.json names (its ref.name and containerd name annotations, the
 * non-empty strings among them), so that a malformed entry is still known by its ref; and a
 * problem when one of the two is there but not a string.
 */
function entryNames(value: unknown): { names: string[]; problem?: string } {
  const annotations = isObject(value) ? value.annotations : undefined;
  if (!isObject(annotations)) return { names: [] };
  const names = new Set<string>();
  let problem: string | undefined;
  for (const key of [REF_NAME, CONTAINERD_NAME]) {
    const name = annotations[key];
    if (typeof name === 'string') {
      if (name) names.add(name);
    } else if (name !== undefined) {
      problem ??= `whose annotation ${key} is not a string`;
    }
  }
  return { names: [...names], ...(problem ? { problem } : {}) };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return !!value && typeof value === 'object' && !Array.isArray(value);
}

/** An error about the layout, for API callers: the layout is named by its variable, never by its host path. */
function layoutError(what: string): FaasError {
  return new FaasError('FAAS_ERR_IMAGE_NOT_FOUND', `the OCI image layout (FAAS_OCI_IMAGE_LAYOUT) ${what}`);
}

/** The 422 for a layer of a layout image that could not be unpacked (not a tar, a gzip bomb, a bad whiteout). */
export function layerUnpackError(digest: string, err: unknown): FaasError {
  const e = err as { code?: string; message?: string };
  const message = String(e?.message ?? err);
  let what: string;
  if (/max decompression ratio exceeded/i.test(message)) {
    what = 'expands more than 1000x when decompressed (the limit that stops gzip bombs)';
  } else if (e?.code === 'TAR_BAD_ARCHIVE' || /Unrecognized archive format|TAR_BAD_ARCHIVE/.test(message)) {
    what = `is not a tar archive (${errorText(err)})`;
  } else {
    what = `cannot be unpacked: ${errorText(err)}`;
  }
  return layoutError(`has a layer ${digest} that ${what}: refused`);
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
