/**
 * Small secret files the platform makes for itself at start-up (`<dataDir>/admin.key`,
 * `<dataDir>/secrets.key`) when the operator set no value. A new file is written whole under a
 * temporary name and then linked into place, which fails if the name exists: two processes
 * starting at once agree on one key, and a crash never leaves a half-written one. A file other
 * users can read is refused, since its key is then no secret; the value never enters a message.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fstatSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { FaasError } from '@faas/common';

function configError(message: string, cause?: unknown): FaasError {
  return new FaasError('FAAS_ERR_CONFIG', message, cause === undefined ? undefined : { cause });
}

function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
}

/** The trimmed content, or undefined when there is no such file. */
function readKeyFile(path: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    if (errno(err) === 'ENOENT') return undefined;
    const fix = errno(err) === 'ENOTDIR' ? 'a part of its path is a file, not a folder' : 'give this user read access to it';
    throw configError(`cannot read the key file ${path} (${errno(err) ?? 'error'}): ${fix}`, err);
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw configError(`the key file ${path} is not a regular file: remove what is there to have a key generated`);
    const mode = stat.mode & 0o777;
    if (mode & 0o077) {
      throw configError(
        `the key file ${path} is open to other users (mode ${mode.toString(8).padStart(4, '0')}): run \`chmod 600 ${path}\`, and replace the key if others may have read it`,
      );
    }
    const value = readFileSync(fd, 'utf8').trim();
    if (value === '') {
      throw configError(`the key file ${path} is empty: write the key into it, or remove it to have a new one generated`);
    }
    return value;
  } finally {
    closeSync(fd);
  }
}

function writeNew(path: string, content: string): void {
  const fd = openSync(path, 'wx', 0o600);
  try {
    writeSync(fd, content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Makes the new name durable; some file systems cannot sync a folder, which costs only durability. */
function syncFolder(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // best effort
  }
}

/**
 * Reads the secret in `path`, or creates the file (mode 0600, its folder 0700) holding `generate()`.
 * Throws FAAS_ERR_CONFIG for a file open to other users, an empty one, or one that cannot be read
 * or written.
 */
export function readOrCreateKeyFile(path: string, generate: () => string): { value: string; created: boolean } {
  const existing = readKeyFile(path);
  if (existing !== undefined) return { value: existing, created: false };

  const value = generate().trim();
  if (value === '' || /[\r\n]/.test(value)) throw new Error(`the generator of ${path} must return one non-empty line`);
  const dir = dirname(path);
  const temporary = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeNew(temporary, `${value}\n`);
    try {
      linkSync(temporary, path);
    } catch (err) {
      if (errno(err) === 'EEXIST') {
        // Another process created it first: use its key, so both agree.
        const theirs = readKeyFile(path);
        if (theirs !== undefined) return { value: theirs, created: false };
      }
      if (errno(err) !== 'EPERM' && errno(err) !== 'ENOTSUP' && errno(err) !== 'EOPNOTSUPP') throw err;
      // A file system without hard links: an exclusive create is still atomic as to the name.
      writeNew(path, `${value}\n`);
    }
    syncFolder(dir);
    return { value, created: true };
  } catch (err) {
    if (err instanceof FaasError) throw err;
    throw configError(`cannot create the key file ${path} (${errno(err) ?? 'error'}): make its folder writable by this user`, err);
  } finally {
    try {
      unlinkSync(temporary);
    } catch {
      // never created, or already gone
    }
  }
}
