/**
 * Starting Firecracker inside its jailer (FAAS_FC_JAILER_PATH): the jailer chroots, drops to an
 * unprivileged uid/gid and execs Firecracker, so a guest that escaped into the VMM finds itself in
 * an empty directory as nobody. Everything Firecracker opens must therefore be inside the chroot:
 * kernel and root filesystem are hard-linked there (copied across filesystems), and the API and
 * vsock sockets and Firecracker's log are created there. The chroot base is the VM's state dir, so
 * removing the state dir removes the jail too.
 *
 * Paths are resolved before use, as the jailer itself does:
 * - the jailer canonicalises `--exec-file` and names the jail `<chroot base>/<file name of the
 *   resolved binary>/<id>/root`, so a firecracker reached through a symlink
 *   (`/usr/local/bin/firecracker -> firecracker-v1.12.0-x86_64`) gets a jail named after the
 *   target; the layout is derived from the resolved path and that path is what the jailer is given;
 * - link(2) does not follow symlinks: hard-linking a kernel that is a symlink (build-kernel.sh makes
 *   .cache/kernel/vmlinux one) would put the symlink itself into the chroot, where its target does
 *   not exist; the kernel and root filesystem are resolved first and their real files linked.
 */
import { chown, copyFile, link, mkdir, open, realpath } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { FaasError } from '@faas/common';
import { LOG_FILE, logArgs, prepareLogFile } from './fc-log.js';

export interface JailerOptions {
  jailerPath: string;
  /** The firecracker binary; resolveJailLayout resolves symlinks, jailLayout expects it resolved. */
  firecrackerPath: string;
  /** Host uid/gid Firecracker runs as; default 65534 (nobody). */
  uid?: number;
  gid?: number;
}

export interface JailLayout {
  /** <chroot base>/<resolved firecracker binary's file name>/<id>/root, as the jailer builds it. */
  root: string;
  /** The firecracker binary the jailer is told to exec (resolved). */
  execFile: string;
  /** Argument vector of the jailer. */
  args: string[];
  /** Paths as Firecracker sees them (inside the chroot) and as the host sees them. */
  apiSocket: { inJail: string; host: string };
  vsockSocket: { inJail: string; host: string };
  kernel: { inJail: string; host: string };
  rootfs: { inJail: string; host: string };
  log: { inJail: string; host: string };
}

/**
 * The jail for a resolved firecracker binary. Use resolveJailLayout unless the path is known to
 * be resolved: the jail's folder is named after the binary's real file name.
 */
export function jailLayout(options: JailerOptions, vmId: string, stateDir: string): JailLayout {
  const exec = basename(options.firecrackerPath);
  if (exec.length === 0) throw new FaasError('FAAS_ERR_CONFIG', `the firecracker path ${options.firecrackerPath} names no file`);
  if (!/^[A-Za-z0-9-]{1,64}$/.test(vmId)) throw new FaasError('FAAS_ERR_INTERNAL', `VM id ${vmId} is not a valid jailer id`);
  const base = join(stateDir, 'jail');
  const root = join(base, exec, vmId, 'root');
  const uid = options.uid ?? 65534;
  const gid = options.gid ?? 65534;
  const inJail = (name: string) => ({ inJail: `/${name}`, host: join(root, name) });
  const log = inJail(LOG_FILE);
  return {
    root,
    execFile: options.firecrackerPath,
    args: [
      '--id',
      vmId,
      '--exec-file',
      options.firecrackerPath,
      '--uid',
      String(uid),
      '--gid',
      String(gid),
      '--chroot-base-dir',
      base,
      '--',
      '--api-sock',
      '/api.sock',
      ...logArgs(log.inJail),
    ],
    apiSocket: inJail('api.sock'),
    vsockSocket: inJail('v.sock'),
    kernel: inJail('vmlinux'),
    rootfs: inJail('rootfs.ext4'),
    log,
  };
}

/**
 * The jail as the jailer will build it: the firecracker binary is resolved first (symlinks,
 * relative paths), so the folder the executor waits in is the one the jailer creates. Jailers
 * 1.2 to 1.12 also refuse a resolved file name without "firecracker" in it; their message then
 * surfaces as the VMM's exit.
 */
export async function resolveJailLayout(options: JailerOptions, vmId: string, stateDir: string): Promise<JailLayout> {
  let resolved: string;
  try {
    resolved = await realpath(options.firecrackerPath);
  } catch (err) {
    throw new FaasError(
      'FAAS_ERR_EXECUTOR_UNAVAILABLE',
      `firecracker binary ${options.firecrackerPath} cannot be resolved: ${(err as Error).message}`,
      { cause: err },
    );
  }
  return jailLayout({ ...options, firecrackerPath: resolved }, vmId, stateDir);
}

/**
 * Puts kernel and root filesystem where the jailed Firecracker can open them, and creates its log
 * file. Hard links cost nothing and share the page cache; the files stay read-only to the jailed
 * uid. Both are resolved first: a hard link to a symlink would dangle inside the chroot.
 */
export async function populateJail(layout: JailLayout, kernelPath: string, rootfsPath: string, uid: number, gid: number): Promise<void> {
  await mkdir(layout.root, { recursive: true, mode: 0o755 });
  await linkOrCopy(kernelPath, layout.kernel.host);
  await linkOrCopy(rootfsPath, layout.rootfs.host);
  await prepareLogFile(layout.log.host, { uid, gid });
  // The jail root itself must be writable by Firecracker for its sockets.
  await chown(layout.root, uid, gid);
}

/**
 * Hard-links the real file behind `from` (symlinks resolved) to `to`, or copies it when they are on
 * different filesystems. Shared with the snapshot files that restores link into a jail.
 */
export async function linkOrCopy(from: string, to: string): Promise<void> {
  const real = await realpath(from);
  try {
    await link(real, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
    await copyFile(real, to);
  }
}

/**
 * The ELF interpreter (dynamic loader) a binary names, or undefined for a static binary or a file
 * that is not a 64-bit little-endian ELF. The jailer execs Firecracker inside an empty chroot,
 * where no loader exists: a dynamically linked build fails there with "Failed to exec into
 * Firecracker: No such file or directory". Release binaries (musl) are static.
 */
export async function elfInterpreter(path: string): Promise<string | undefined> {
  const file = await open(path, 'r');
  try {
    const header = Buffer.alloc(64);
    await file.read(header, 0, 64, 0);
    // \x7fELF, ELFCLASS64, little-endian.
    if (header.readUInt32BE(0) !== 0x7f454c46 || header[4] !== 2 || header[5] !== 1) return undefined;
    const phoff = Number(header.readBigUInt64LE(0x20));
    const phentsize = header.readUInt16LE(0x36);
    const phnum = header.readUInt16LE(0x38);
    if (phentsize < 56 || phnum > 256) return undefined;
    const table = Buffer.alloc(phentsize * phnum);
    await file.read(table, 0, table.length, phoff);
    for (let i = 0; i < phnum; i++) {
      const entry = i * phentsize;
      if (table.readUInt32LE(entry) !== 3) continue; // PT_INTERP
      const offset = Number(table.readBigUInt64LE(entry + 0x08));
      const size = Math.min(Number(table.readBigUInt64LE(entry + 0x20)), 4096);
      const name = Buffer.alloc(size);
      await file.read(name, 0, size, offset);
      return name.toString('latin1').replace(/\0.*$/s, '');
    }
    return undefined;
  } finally {
    await file.close();
  }
}
