/**
 * Turns a local Docker image into an ext4 root filesystem for a microVM, with the guest agent at
 * /faas/agent (booted with init=/faas/agent, so an image's own /sbin/init is left alone). Images are
 * the platform's one packaging format; this lets every executor run the same functions.
 *
 * Steps: `docker create` + export (Engine API) into a folder, add the agent and the few /etc files a
 * VM needs, then `mkfs.ext4 -d` (no loop mounts, no root-only mount calls). The result is cached as
 * <rootfsDir>/<image id>.ext4 with a sidecar <image id>.json that records the agent's digest and
 * the image's Env/WorkingDir, and names the image relative to its own folder, so a copied or moved
 * cache uses its own files; a changed agent or builder version rebuilds. Writes go to a temporary
 * name and are renamed into place, so a running VM, which holds its image open, is never disturbed.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmod, copyFile, lstat, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { basename, join, resolve as resolvePath } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { FaasError } from '@faas/common';
import { DEFAULT_DOCKER_HOST, DockerEngine, EngineError, engineFault } from '../docker/engine.js';

/** Bumped when the image layout changes, so cached images built by older code are rebuilt. */
export const BUILDER_VERSION = 1;
const MIB = 1024 * 1024;
/** Path of the agent inside the guest; the kernel command line names it with init=. */
export const GUEST_AGENT_PATH = '/faas/agent';

export interface RootfsOptions {
  /** A local image reference (faas/python:latest) or id. */
  image: string;
  /** Cache folder (FAAS_ROOTFS_DIR). */
  rootfsDir: string;
  /** The static guest agent binary to install as /faas/agent. */
  agentPath: string;
  /** DOCKER_HOST; default unix:///var/run/docker.sock. */
  dockerHost?: string;
  /** Free space left in the filesystem beyond its content (default 32 MiB). */
  headroomBytes?: number;
  /** Rebuild even when a valid cached image exists. */
  force?: boolean;
  onProgress?: (message: string) => void;
}

/** What the executor needs to know about a built root filesystem. */
export interface RootfsInfo {
  path: string;
  imageId: string;
  /** The image's Config.Env: the base environment of every command (PATH above all). */
  env: string[];
  /** The image's Config.WorkingDir, or undefined for "/". */
  workingDir: string | undefined;
  agentSha256: string;
  builderVersion: number;
  bytes: number;
}

const inflight = new Map<string, Promise<RootfsInfo>>();

/** Returns the cached root filesystem of an image, building it first when needed. */
export async function ensureRootfs(options: RootfsOptions): Promise<RootfsInfo> {
  const progress = options.onProgress ?? (() => {});
  const engine = new DockerEngine({ host: options.dockerHost ?? DEFAULT_DOCKER_HOST });
  try {
    const image = await inspectImage(engine, options.image);
    const agentSha256 = await sha256File(options.agentPath).catch((err: Error) => {
      throw new FaasError(
        'FAAS_ERR_CONFIG',
        `guest agent ${options.agentPath} unreadable (${err.message}): build it with guest-agent/build.sh`,
      );
    });
    const key = image.id.replace(/^sha256:/, '');
    const cached = options.force ? undefined : await readCachedRootfs(options.rootfsDir, key, agentSha256);
    if (cached) return cached;
    let pending = inflight.get(key);
    if (!pending) {
      progress(`building rootfs for ${options.image} (${key.slice(0, 12)})`);
      pending = build(engine, options, image, key, agentSha256, progress).finally(() => inflight.delete(key));
      inflight.set(key, pending);
    }
    return await pending;
  } finally {
    engine.close();
  }
}

interface ImageConfig {
  id: string;
  env: string[];
  workingDir: string | undefined;
}

async function inspectImage(engine: DockerEngine, image: string): Promise<ImageConfig> {
  try {
    const info = await engine.request<{ Id: string; Config?: { Env?: string[] | null; WorkingDir?: string } }>(
      'GET',
      `/images/${encodeURIComponent(image)}/json`,
    );
    return { id: info.Id, env: info.Config?.Env ?? [], workingDir: info.Config?.WorkingDir || undefined };
  } catch (err) {
    if (err instanceof EngineError && err.statusCode === 404) {
      throw new FaasError('FAAS_ERR_IMAGE_NOT_FOUND', `image ${image} is not present locally: build or pull it before building its rootfs`);
    }
    if (err instanceof EngineError && err.statusCode === 400) {
      throw new FaasError(
        'FAAS_ERR_INVALID_IMAGE',
        `the engine refused image "${image.slice(0, 80)}": ${err.message.split('\n')[0]?.slice(0, 300)}`,
        {
          details: { field: 'image' },
        },
      );
    }
    throw engineFault(err, 'image lookup');
  }
}

/**
 * The cached image of `key` in `rootfsDir`, if its sidecar matches this agent and builder version.
 * The sidecar names its image relative to its own folder (`file`), and the image is always looked
 * up in the folder being read: a copied or moved cache resolves to its own files, never to those
 * of the checkout that built it. Sidecars of older builds, which recorded an absolute `path`, are
 * only trusted for their metadata; the image must still be `<key>.ext4` in this folder and have the
 * recorded size.
 */
export async function readCachedRootfs(rootfsDir: string, key: string, agentSha256: string): Promise<RootfsInfo | undefined> {
  const dir = resolvePath(rootfsDir);
  try {
    const sidecar = JSON.parse(await readFile(join(dir, `${key}.json`), 'utf8')) as Partial<RootfsInfo> & { file?: string };
    if (sidecar.agentSha256 !== agentSha256 || sidecar.builderVersion !== BUILDER_VERSION) return undefined;
    if (sidecar.imageId !== undefined && sidecar.imageId.replace(/^sha256:/, '') !== key) return undefined;
    const file = sidecar.file ?? `${key}.ext4`;
    if (file !== basename(file) || file === '..' || file === '.') return undefined;
    const path = join(dir, file);
    const stat = await lstat(path);
    if (!stat.isFile() || (sidecar.bytes !== undefined && stat.size !== sidecar.bytes)) return undefined;
    const { file: _file, path: _recorded, ...info } = sidecar;
    return { ...(info as Omit<RootfsInfo, 'path'>), path };
  } catch {
    return undefined;
  }
}

async function build(
  engine: DockerEngine,
  options: RootfsOptions,
  image: ImageConfig,
  key: string,
  agentSha256: string,
  progress: (message: string) => void,
): Promise<RootfsInfo> {
  const started = Date.now();
  const rootfsDir = resolvePath(options.rootfsDir);
  await mkdir(rootfsDir, { recursive: true });
  const work = join(rootfsDir, `.build-${key.slice(0, 12)}-${randomBytes(4).toString('hex')}`);
  const tree = join(work, 'tree');
  await mkdir(tree, { recursive: true });
  try {
    progress('exporting the image filesystem');
    await exportImage(engine, options.dockerHost ?? DEFAULT_DOCKER_HOST, image.id, tree);
    await addGuestFiles(tree, options.agentPath);
    const usage = await measureTree(tree);
    const bytes = roundUp(usage.bytes * 1.1 + (options.headroomBytes ?? 32 * MIB), MIB);
    const inodes = Math.ceil(usage.entries * 1.2) + 1024;
    progress(`writing ext4 image: ${usage.entries} files, ${(bytes / MIB).toFixed(0)} MiB`);
    const imagePath = join(rootfsDir, `${key}.ext4`);
    const temp = join(work, 'rootfs.ext4');
    await run('mkfs.ext4', [
      '-q',
      '-F',
      '-t',
      'ext4',
      '-d',
      tree,
      '-L',
      'faas-rootfs',
      '-N',
      String(inodes),
      '-m',
      '0',
      '-O',
      '^has_journal',
      '-E',
      'root_owner=0:0',
      temp,
      `${bytes / 1024}k`,
    ]);
    await rename(temp, imagePath);
    const info: RootfsInfo = {
      path: imagePath,
      imageId: image.id,
      env: image.env,
      workingDir: image.workingDir,
      agentSha256,
      builderVersion: BUILDER_VERSION,
      bytes,
    };
    // The sidecar names the image relative to its own folder, so the cache can be copied or moved.
    const { path: _absolute, ...portable } = info;
    const sidecar = { file: basename(imagePath), ...portable };
    await writeFile(join(rootfsDir, `${key}.json.tmp`), `${JSON.stringify(sidecar, null, 2)}\n`);
    await rename(join(rootfsDir, `${key}.json.tmp`), join(rootfsDir, `${key}.json`));
    progress(`rootfs ready: ${imagePath} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    return info;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Creates a stopped container (never started) and streams its flattened filesystem into `tree`. */
async function exportImage(engine: DockerEngine, dockerHost: string, imageId: string, tree: string): Promise<void> {
  const created = await engine.request<{ Id: string }>('POST', '/containers/create', {
    Image: imageId,
    Entrypoint: ['/faas-rootfs-export'],
    Cmd: [],
    NetworkDisabled: true,
    Labels: { 'dev.faas.rootfs-export': 'true' },
  });
  try {
    const response = await openExport(dockerHost, created.Id);
    // --numeric-owner keeps the image's uids; as root, tar also restores owners and modes.
    const tar = spawn('tar', ['-x', '-f', '-', '-C', tree, '--numeric-owner'], { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    tar.stderr.on('data', (c: Buffer) => {
      stderr = (stderr + c.toString()).slice(-2000);
    });
    const exited = new Promise<number | null>((resolve, reject) => {
      tar.once('error', reject);
      tar.once('close', resolve);
    });
    await Promise.all([pipeline(response, tar.stdin), exited]);
    const code = await exited;
    if (code !== 0) throw new FaasError('FAAS_ERR_SANDBOX_FAILURE', `tar failed while unpacking ${imageId}: ${stderr.trim()}`);
  } finally {
    await engine.request('DELETE', `/containers/${created.Id}?force=1`).catch(() => {});
  }
}

function openExport(dockerHost: string, containerId: string): Promise<http.IncomingMessage> {
  const target = dockerHost.startsWith('unix://')
    ? { socketPath: dockerHost.slice('unix://'.length) }
    : (() => {
        const url = new URL(dockerHost.replace(/^tcp:/, 'http:'));
        return { host: url.hostname, port: Number(url.port) };
      })();
  return new Promise((resolve, reject) => {
    const req = http.get({ ...target, path: `/v1.41/containers/${containerId}/export` }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        reject(new FaasError('FAAS_ERR_SANDBOX_FAILURE', `Docker export of ${containerId} answered ${res.statusCode}`));
        return;
      }
      resolve(res);
    });
    req.on('error', (err) => reject(new FaasError('FAAS_ERR_EXECUTOR_UNAVAILABLE', `Docker engine unreachable: ${err.message}`)));
  });
}

/** The agent plus what a VM needs that a container gets from its engine. */
async function addGuestFiles(tree: string, agentPath: string): Promise<void> {
  await mkdir(join(tree, 'faas'), { recursive: true, mode: 0o755 });
  const agent = join(tree, GUEST_AGENT_PATH);
  await copyFile(agentPath, agent);
  await chmod(agent, 0o755);
  // Mount points the agent mounts proc, sys, dev and tmp on; /tmp world-writable like a container's.
  for (const dir of ['proc', 'sys', 'dev', 'tmp', 'run', 'etc']) await mkdir(join(tree, dir), { recursive: true });
  await chmod(join(tree, 'tmp'), 0o1777);
  await writeFile(join(tree, 'etc/hostname'), 'faas\n');
  await writeFile(join(tree, 'etc/hosts'), '127.0.0.1\tlocalhost faas\n');
  // The VM has no network; an empty resolv.conf makes lookups fail fast instead of hanging.
  await writeFile(join(tree, 'etc/resolv.conf'), '');
  await rm(join(tree, '.dockerenv'), { force: true });
}

async function measureTree(root: string): Promise<{ bytes: number; entries: number }> {
  let bytes = 0;
  let entries = 0;
  const pending = [root];
  while (pending.length > 0) {
    const dir = pending.pop() as string;
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      entries++;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        pending.push(path);
        bytes += 4096;
      } else if (entry.isFile()) {
        bytes += roundUp((await lstat(path)).size, 4096);
      } else {
        bytes += 4096;
      }
    }
  }
  return { bytes, entries };
}

function roundUp(value: number, unit: number): number {
  return Math.ceil(value / unit) * unit;
}

async function sha256File(path: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(path))
    .digest('hex');
}

function run(binary: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => {
      stderr = (stderr + c.toString()).slice(-2000);
    });
    child.once('error', (err) =>
      reject(new FaasError('FAAS_ERR_CONFIG', `cannot run ${binary} (${err.message}): apt-get install e2fsprogs`, { cause: err })),
    );
    child.once('close', (code) => {
      if (code === 0) resolve();
      else reject(new FaasError('FAAS_ERR_SANDBOX_FAILURE', `${binary} failed with code ${code}: ${stderr.trim()}`));
    });
  });
}
