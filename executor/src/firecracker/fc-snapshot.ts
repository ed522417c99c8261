/**
 * Firecracker snapshots (UNVERIFIED here: no KVM on the development machines; see
 * docs/microvm.md for running the KVM suite). A snapshot is a pair of files: the microVM state
 * (devices, vCPUs) and the guest memory. Restoring needs a fresh Firecracker process and one
 * `PUT /snapshot/load`; no other configuration call is allowed before it.
 *
 * The saved state names host paths that every restored VM reopens: the root drive's
 * `path_on_host` and the vsock device's `uds_path`. Firecracker offers no drive override at load
 * time and a vsock override only from 1.16 on, so the executor keeps the saved paths valid per VM
 * on every version instead:
 * - drive: the shared, read-only root filesystem (same file for all VMs, part of the key); in the
 *   jail `/rootfs.ext4`, a hard link in each VM's own chroot;
 * - vsock: `v.sock` relative to Firecracker's working directory (each VM's state dir), or
 *   `/v.sock` in the jail, so identical saved paths resolve to a different socket per VM.
 */
import { copyFile, readFile, rename, rm } from 'node:fs/promises';
import { type JailLayout, linkOrCopy } from './jailer.js';

/** Names of the snapshot files as Firecracker sees them inside a jail. */
export const JAIL_STATE = 'snapshot.state';
export const JAIL_MEMORY = 'snapshot.mem';

/**
 * The host CPU as KVM presents it: a snapshot restores vCPU state (CPUID, MSRs) that another CPU
 * model may not accept, so it is part of the key.
 */
export async function hostCpu(): Promise<string> {
  const info = await readFile('/proc/cpuinfo', 'utf8').catch(() => '');
  const first = info.split('\n\n')[0] ?? '';
  const field = (name: string) => new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm').exec(first)?.[1]?.trim() ?? '';
  return `${field('vendor_id')}|${field('model name')}|${field('flags')}`;
}

/** Hard-links (or copies across filesystems) a cached snapshot file into a VM's jail, symlinks resolved. */
export const linkInto = linkOrCopy;

/** Moves a file Firecracker wrote (in a jail) to the cache, copying across filesystems. */
export async function moveOut(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
    await copyFile(from, to);
    await rm(from, { force: true });
  }
}

/** The snapshot files' paths as the restoring Firecracker must be given them. */
export async function snapshotPathsFor(
  layout: JailLayout | undefined,
  files: { state: string; memory: string },
): Promise<{ state: string; memory: string }> {
  if (!layout) return files;
  await linkInto(files.state, `${layout.root}/${JAIL_STATE}`);
  await linkInto(files.memory, `${layout.root}/${JAIL_MEMORY}`);
  return { state: `/${JAIL_STATE}`, memory: `/${JAIL_MEMORY}` };
}
