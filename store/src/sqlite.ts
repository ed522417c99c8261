/**
 * The embedded store: one SQLite file in FAAS_DATA_DIR, for a platform served by one gateway.
 * Opening it creates the folder and the file privately (they hold key hashes, encrypted secrets
 * and function output), sets the pragmas, migrates the schema and prepares every statement once,
 * so that the hot paths (`history.record`, `keys.touch`) only bind and step.
 *
 * WAL with synchronous=NORMAL: a commit appends to the log without an fsync, so a power cut can
 * lose the last moments of history but never corrupts the file; readers never wait for the writer.
 * The acceptance of an asynchronous invocation is the exception: its transaction runs with
 * synchronous=FULL (sqlite-queue.ts), so a 202 outlives a power cut too.
 */
import { closeSync, mkdirSync, openSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { type Logger, silentLogger } from '@faas/common';
import Database from 'better-sqlite3';
import { migrate } from './migrations.js';
import { secretBox } from './secrets.js';
import { SqliteContext } from './sqlite-context.js';
import { toStoreError } from './sqlite-errors.js';
import { sqliteFunctions } from './sqlite-functions.js';
import { sqliteHistory } from './sqlite-history.js';
import { sqliteKeys } from './sqlite-keys.js';
import { sqliteKv } from './sqlite-kv.js';
import { sqliteQueue } from './sqlite-queue.js';
import type { Store } from './types.js';

export interface SqliteStoreOptions {
  /** The platform's state folder (FAAS_DATA_DIR); created with mode 0700 when missing. */
  dataDir: string;
  /** 32 bytes that encrypt function secrets (FAAS_SECRETS_KEY, or `<dataDir>/secrets.key`). */
  secretsKey: Buffer;
  /** The database's file name inside `dataDir`. */
  file?: string;
  log?: Logger;
  /** Rows `history.prune` deletes per step before it yields to the event loop (default 500). */
  pruneBatch?: number;
}

/** How long a statement waits for another process's lock before FAAS_ERR_STORE_UNAVAILABLE. */
const BUSY_TIMEOUT_MS = 5000;

function prepareDataDir(dir: string, log: Logger): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const mode = statSync(dir).mode;
    if (mode & 0o077) {
      log.warn({ dataDir: dir, mode: (mode & 0o777).toString(8) }, `FAAS_DATA_DIR is open to other users: run chmod 700 ${dir}`);
    }
  } catch (err) {
    throw toStoreError(err, dir);
  }
}

/** Creates the database file with mode 0600 when missing; SQLite gives its -wal and -shm files the same mode. */
function createPrivately(file: string): void {
  try {
    closeSync(openSync(file, 'wx', 0o600));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
}

export function openSqliteStore(options: SqliteStoreOptions): Store {
  const log = options.log ?? silentLogger;
  const box = secretBox(options.secretsKey);
  const file = join(options.dataDir, options.file ?? 'faas.db');
  prepareDataDir(options.dataDir, log);
  let db: Database.Database | undefined;
  try {
    createPrivately(file);
    db = new Database(file);
    // First, so that everything after it waits for another process's lock instead of failing.
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    const journal = db.pragma('journal_mode = WAL', { simple: true });
    if (journal !== 'wal')
      log.warn({ file, journal }, 'SQLite could not use its write-ahead log here (a network file system?); writes will be slower');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    const { from, to } = migrate(db, file);
    const ctx = new SqliteContext(db, file, log);
    const store: Store = {
      functions: sqliteFunctions(ctx, box),
      keys: sqliteKeys(ctx),
      history: sqliteHistory(ctx, { pruneBatch: options.pruneBatch }),
      kv: sqliteKv(ctx),
      queue: sqliteQueue(ctx, box),
      async close() {
        if (ctx.closed) return;
        ctx.markClosed();
        try {
          try {
            ctx.db.pragma('optimize');
          } finally {
            ctx.db.close();
          }
        } catch (err) {
          throw toStoreError(err, file);
        }
      },
    };
    log.info({ file, schemaVersion: to, ...(from !== to ? { migratedFrom: from } : {}) }, 'store opened');
    return store;
  } catch (err) {
    db?.close();
    throw toStoreError(err, file);
  }
}
