/**
 * The short helper commands the QEMU executor runs besides QEMU itself: qemu-img for the per-VM
 * overlay, --version probes. A missing binary becomes FAAS_ERR_EXECUTOR_UNAVAILABLE with the
 * package to install, any other failure a sandbox failure with the tool's own words.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { FaasError } from '@faas/common';

export async function mustRead(path: string, what: string, fix: string): Promise<void> {
  try {
    await access(path, constants.R_OK);
  } catch {
    throw new FaasError('FAAS_ERR_EXECUTOR_UNAVAILABLE', `${what} ${path} is missing: ${fix}`);
  }
}

/**
 * A VM's private root disk: a qcow2 layer whose backing file is the shared image, which QEMU
 * opens read-only, so VMs never share a writable disk. An existing layer is replaced.
 */
export async function createOverlay(qemuImg: string, base: string, overlay: string): Promise<void> {
  await runQuiet(qemuImg, ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', base, overlay], 'apt-get install qemu-utils');
}

/** The first line a binary prints for --version (QEMU's includes its build), for cache keys. */
export function versionLine(binary: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, ['--version'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out = (out + chunk.toString()).slice(0, 4096);
    });
    child.once('error', reject);
    child.once('close', (code) =>
      code === 0 ? resolve(out.split('\n')[0]?.trim() ?? '') : reject(new Error(`${binary} --version failed`)),
    );
  });
}

/** Runs a short helper command; a missing binary or a failure becomes EXECUTOR_UNAVAILABLE. */
export function runQuiet(binary: string, args: string[], fix: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-1000);
    });
    child.once('error', (err) => reject(new FaasError('FAAS_ERR_EXECUTOR_UNAVAILABLE', `cannot run ${binary} (${err.message}): ${fix}`)));
    child.once('close', (code) => {
      if (code === 0) resolve();
      else reject(new FaasError('FAAS_ERR_SANDBOX_FAILURE', `${binary} ${args[0]} failed (code ${code}): ${stderr.trim()}`));
    });
  });
}
