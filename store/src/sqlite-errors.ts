/**
 * What a database failure means for an operator. SQLite reports conditions the platform cannot
 * fix by itself (a full disk, a lock another process holds, a damaged file) as error codes; each
 * becomes FAAS_ERR_STORE_UNAVAILABLE (503) with a sentence naming the fix, the original kept as
 * the cause. Anything else (a constraint the caller handles, a bug) passes through unchanged, so
 * a programming error is never disguised as an outage.
 */
import { FaasError } from '@faas/common';

const SQLITE_CONDITIONS: Record<string, (file: string) => string> = {
  SQLITE_BUSY: (f) =>
    `the database ${f} stayed locked by another process for more than 5 s: run one gateway per FAAS_DATA_DIR, and stop any tool holding the file open`,
  SQLITE_LOCKED: (f) => `the database ${f} is locked by another statement of this process: retry; report it if it persists`,
  SQLITE_FULL: (f) =>
    `the disk holding ${f} is full: free space on it, or keep less history (FAAS_HISTORY_MAX_AGE_HOURS, FAAS_HISTORY_MAX_PER_FUNCTION)`,
  SQLITE_IOERR: (f) => `reading or writing the database ${f} failed with an I/O error: check the disk and its file system (dmesg)`,
  SQLITE_CANTOPEN: (f) =>
    `cannot open the database ${f}: check that FAAS_DATA_DIR exists, is a folder, and is writable by this user (SQLite also creates ${f}-wal and ${f}-shm next to it)`,
  SQLITE_READONLY: (f) =>
    `the database ${f} is read-only: give this user write access to it and to FAAS_DATA_DIR, or mount its file system read-write`,
  SQLITE_PERM: (f) => `access to the database ${f} was denied: give this user read and write access to it and to FAAS_DATA_DIR`,
  SQLITE_CORRUPT: (f) => `the database ${f} is damaged: stop the gateway, then restore it from a backup or move it away to start empty`,
  SQLITE_NOTADB: (f) => `${f} is not a SQLite database: move it away, or point FAAS_DATA_DIR at the platform's own folder`,
  SQLITE_NOMEM: (f) => `SQLite ran out of memory using ${f}: give the gateway more memory`,
  SQLITE_PROTOCOL: (f) => `the write-ahead log of ${f} could not be locked: run one gateway per FAAS_DATA_DIR, on a local file system`,
  SQLITE_NOLFS: (f) => `the file system holding ${f} does not support large files: move FAAS_DATA_DIR to one that does`,
};

const FS_CONDITIONS: Record<string, string> = {
  EACCES: 'permission denied: give this user write access to it (or set FAAS_DATA_DIR to a folder it owns)',
  EPERM: 'permission denied: give this user write access to it (or set FAAS_DATA_DIR to a folder it owns)',
  EROFS: 'its file system is read-only: set FAAS_DATA_DIR to a writable folder',
  ENOSPC: 'the disk is full: free space on it',
  ENOTDIR: 'a part of the path is a file, not a folder: set FAAS_DATA_DIR to a folder',
  EEXIST: 'a file is in the way: set FAAS_DATA_DIR to a folder',
  EIO: 'an I/O error: check the disk and its file system (dmesg)',
};

/** The primary SQLite result code of an extended one: SQLITE_IOERR_WRITE -> SQLITE_IOERR. */
function primaryCode(code: string): string {
  const second = code.indexOf('_', 'SQLITE_'.length);
  return second < 0 ? code : code.slice(0, second);
}

function codeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** `err` as FAAS_ERR_STORE_UNAVAILABLE when it is a condition of the database file; otherwise `err` itself. */
export function toStoreError(err: unknown, file: string): unknown {
  if (err instanceof FaasError) return err;
  const code = codeOf(err);
  if (code?.startsWith('SQLITE_')) {
    const explain = SQLITE_CONDITIONS[primaryCode(code)];
    if (explain) return new FaasError('FAAS_ERR_STORE_UNAVAILABLE', `${explain(file)} (${code})`, { cause: err });
  }
  const fsReason = code ? FS_CONDITIONS[code] : undefined;
  if (fsReason) return new FaasError('FAAS_ERR_STORE_UNAVAILABLE', `cannot use ${file}: ${fsReason} (${code})`, { cause: err });
  return err;
}

/** A foreign key or unique constraint refused the write (the caller turns it into its own code). */
export function isConstraint(err: unknown, kind: 'PRIMARYKEY' | 'UNIQUE' | 'FOREIGNKEY'): boolean {
  return codeOf(err) === `SQLITE_CONSTRAINT_${kind}`;
}
