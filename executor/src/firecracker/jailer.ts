/**
 * Starting Firecracker inside its jailer (FAAS_FC_JAILER_PATH): the jailer chroots, drops to an
 * unprivileged uid/gid and execs Firecracker, so a guest that escaped into the VMM finds itself in
 * an empty directory as nobody. Everything Firecracker opens must therefore be inside the chroot:
 * kernel and root filesystem are hard-linked there (copied across filesystems), and the API and
 * vsock sockets are created there. The chroot base is the VM's state dir, so removing the state
 * dir removes the jail too.
 */
import { chown, copyFile, link, mkdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { FaasError } from '@faas/common';

export interface JailerOptions {
  jailerPath: string;
  firecrackerPath: string;
  /** Host uid/gid Firecracker runs as; default 65534 (nobody). */
  uid?: number;
  gid?: number;
}

export interface JailLayout {
  /** <chroot base>/<firecracker binary name>/<id>/root, as the jailer builds it. */
  root: string;
  /** Argument vector of the jailer. */
  args: string[];
  /** Paths as Firecracker sees them (inside the chroot) and as the host sees them. */
  apiSocket: { inJail: string; host: string };
  vsockSocket: { inJail: string; host: string };
  kernel: { inJail: string; host: string };
  rootfs: { inJail: string; host: string };
}

export function jailLayout(options: JailerOptions, vmId: string, stateDir: string): JailLayout {
  const exec = basename(options.firecrackerPath);
  if (!exec.includes('firecracker')) {
    throw new FaasError('FAAS_ERR_CONFIG', `the jailer only execs a binary whose name contains "firecracker", not ${exec}`);
  }
  if (!/^[A-Za-z0-9-]{1,64}$/.test(vmId)) throw new FaasError('FAAS_ERR_INTERNAL', `VM id ${vmId} is not a valid jailer id`);
  const base = join(stateDir, 'jail');
  const root = join(base, exec, vmId, 'root');
  const uid = options.uid ?? 65534;
  const gid = options.gid ?? 65534;
  const inJail = (name: string) => ({ inJail: `/${name}`, host: join(root, name) });
  return {
    root,
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
    ],
    apiSocket: inJail('api.sock'),
    vsockSocket: inJail('v.sock'),
    kernel: inJail('vmlinux'),
    rootfs: inJail('rootfs.ext4'),
  };
}

/**
 * Puts kernel and root filesystem where the jailed Firecracker can open them. Hard links cost
 * nothing and share the page cache; the files stay read-only to the jailed uid.
 */
export async function populateJail(layout: JailLayout, kernelPath: string, rootfsPath: string, uid: number, gid: number): Promise<void> {
  await mkdir(layout.root, { recursive: true, mode: 0o755 });
  await linkOrCopy(kernelPath, layout.kernel.host);
  await linkOrCopy(rootfsPath, layout.rootfs.host);
  // The jail root itself must be writable by Firecracker for its sockets.
  await chown(layout.root, uid, gid);
}

async function linkOrCopy(from: string, to: string): Promise<void> {
  try {
    await link(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
    await copyFile(from, to);
  }
}
