/**
 * Fixtures of the store's tests: a real SQLite database in a fresh folder under the system's
 * temporary directory, removed afterwards whatever happens, and sample records to write.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStore, type SqliteStoreOptions } from './sqlite.js';
import type { FunctionInput, InvocationRecord, Store } from './types.js';

export const TEST_KEY = randomBytes(32);

/** A fresh folder, removed after `fn`; its path is printed when `fn` fails, to find what was left. */
export async function withTempDir(fn: (dir: string) => Promise<void> | void): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'faas-store-test-'));
  try {
    await fn(dir);
  } catch (err) {
    console.error(`store test folder (removed): ${dir}`);
    throw err;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface StoreFixture {
  store: Store;
  /** The data folder (inside the temporary folder). */
  dataDir: string;
  /** The database file. */
  file: string;
  /** Opens the same database again (after `store.close()`). */
  reopen(options?: Partial<SqliteStoreOptions>): Store;
}

/** Opens a store on a new database, runs `fn`, then closes every store it opened and removes the folder. */
export async function withStore(fn: (f: StoreFixture) => Promise<void>, options: Partial<SqliteStoreOptions> = {}): Promise<void> {
  await withTempDir(async (dir) => {
    const dataDir = join(dir, 'data');
    const opened: Store[] = [];
    const open = (more: Partial<SqliteStoreOptions> = {}): Store => {
      const store = openSqliteStore({ dataDir, secretsKey: TEST_KEY, ...options, ...more });
      opened.push(store);
      return store;
    };
    try {
      await fn({ store: open(), dataDir, file: join(dataDir, options.file ?? 'faas.db'), reopen: open });
    } finally {
      for (const store of opened) await store.close();
    }
  });
}

export function functionInput(id: string, overrides: Partial<FunctionInput> = {}): FunctionInput {
  return {
    id,
    image: 'alpine:3.20',
    command: ['sh', '-c', 'cat'],
    env: ['MODE=test'],
    secrets: {},
    executor: null,
    poolMode: null,
    limits: { memory_mb: 128 },
    timeoutMs: null,
    maxConcurrency: null,
    description: `function ${id}`,
    ...overrides,
  };
}

export function invocation(id: string, overrides: Partial<InvocationRecord> = {}): InvocationRecord {
  const startedAt = overrides.startedAt ?? 1_700_000_000_000;
  return {
    id,
    functionId: 'echo',
    functionVersion: 1,
    status: 'completed',
    exitCode: 0,
    signal: null,
    error: null,
    errorCode: null,
    executor: 'docker',
    keyId: 'k1',
    queueMs: 0.25,
    acquireMs: 1.5,
    runMs: 12.125,
    durationMs: 13.875,
    stdinBytes: 5,
    stdoutBytes: 5,
    stderrBytes: 0,
    truncated: false,
    outputTruncated: false,
    startedAt,
    finishedAt: startedAt + 14,
    ...overrides,
  };
}

export const NO_OUTPUT = { stdout: Buffer.alloc(0), stderr: Buffer.alloc(0) };
