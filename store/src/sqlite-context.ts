/**
 * The open database as the parts of the SQLite store share it: one connection, its file name for
 * messages, and the one place where a closed store and SQLite's failures become FaasErrors.
 */
import type { Logger } from '@faas/common';
import { FaasError } from '@faas/common';
import type Database from 'better-sqlite3';
import { toStoreError } from './sqlite-errors.js';

export class SqliteContext {
  #closed = false;

  constructor(
    readonly db: Database.Database,
    readonly file: string,
    readonly log: Logger,
  ) {}

  get closed(): boolean {
    return this.#closed;
  }

  markClosed(): void {
    this.#closed = true;
  }

  /** Throws FAAS_ERR_STORE_UNAVAILABLE once the store is closed (a late write during shutdown). */
  assertOpen(): void {
    if (this.#closed)
      throw new FaasError('FAAS_ERR_STORE_UNAVAILABLE', `the store (${this.file}) is closed: the platform is shutting down`);
  }

  /** Runs `fn` on the open database, with SQLite's failures turned into FAAS_ERR_STORE_UNAVAILABLE. */
  use<T>(fn: () => T): T {
    this.assertOpen();
    try {
      return fn();
    } catch (err) {
      throw toStoreError(err, this.file);
    }
  }
}

/** Parses a JSON column the store wrote itself. */
export function fromJson<T>(text: string | null): T | null {
  return text === null ? null : (JSON.parse(text) as T);
}
