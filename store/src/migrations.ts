/**
 * The database schema as numbered migrations, applied at open, each in its own transaction with
 * its row in `schema_migrations`, so a crash leaves the database at one known version. A database
 * written by a newer build is refused rather than guessed at: an older build could drop what it
 * does not know about.
 *
 * The SQL stays portable so that a PostgreSQL store can follow with the same tables: times are
 * integer epoch milliseconds, ids are TEXT, lists and objects are JSON in TEXT, flags are 0/1
 * INTEGERs; only BLOB (BYTEA there) and the ordering of ids (byte order, COLLATE "C" there) differ.
 * Never edit a migration that has shipped; add the next one.
 */
import { FaasError } from '@faas/common';
import type Database from 'better-sqlite3';

export interface Migration {
  /** 1, 2, 3, ... with no gaps. */
  version: number;
  name: string;
  /** One or more statements, without BEGIN/COMMIT (the runner owns the transaction). */
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'functions with encrypted secrets, API keys, invocation history with output, kv',
    sql: `
      CREATE TABLE functions (
        id TEXT PRIMARY KEY,
        image TEXT NOT NULL,
        command TEXT NOT NULL,
        env TEXT NOT NULL,
        executor TEXT,
        pool_mode TEXT,
        limits TEXT NOT NULL,
        timeout_ms INTEGER,
        max_concurrency INTEGER,
        description TEXT NOT NULL,
        version INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      );
      CREATE TABLE function_secrets (
        function_id TEXT NOT NULL REFERENCES functions (id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        value BLOB NOT NULL,
        PRIMARY KEY (function_id, name)
      );
      CREATE TABLE api_keys (
        id TEXT PRIMARY KEY,
        secret_hash BLOB NOT NULL,
        name TEXT NOT NULL,
        scopes TEXT NOT NULL,
        functions TEXT,
        rate_per_second REAL,
        rate_burst INTEGER,
        created_at INTEGER NOT NULL,
        expires_at INTEGER,
        revoked_at INTEGER,
        last_used_at INTEGER
      );
      CREATE INDEX api_keys_created ON api_keys (created_at, id);
      CREATE TABLE invocations (
        id TEXT PRIMARY KEY,
        function_id TEXT NOT NULL,
        function_version INTEGER,
        status TEXT NOT NULL,
        exit_code INTEGER,
        signal TEXT,
        error TEXT,
        error_code TEXT,
        executor TEXT NOT NULL,
        key_id TEXT,
        queue_ms REAL NOT NULL,
        acquire_ms REAL NOT NULL,
        run_ms REAL NOT NULL,
        duration_ms REAL NOT NULL,
        stdin_bytes INTEGER NOT NULL,
        stdout_bytes INTEGER NOT NULL,
        stderr_bytes INTEGER NOT NULL,
        truncated INTEGER NOT NULL,
        output_truncated INTEGER NOT NULL,
        started_at INTEGER NOT NULL,
        finished_at INTEGER NOT NULL
      );
      CREATE INDEX invocations_by_function ON invocations (function_id, started_at, id);
      CREATE INDEX invocations_by_start ON invocations (started_at);
      CREATE TABLE invocation_outputs (
        invocation_id TEXT PRIMARY KEY REFERENCES invocations (id) ON DELETE CASCADE,
        stdout BLOB NOT NULL,
        stderr BLOB NOT NULL
      );
      CREATE TABLE kv (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
      );
    `,
  },
  {
    version: 2,
    name: 'asynchronous invocations: the queue with leases, attempts, idempotency keys; retry settings of functions',
    sql: `
      ALTER TABLE functions ADD COLUMN max_attempts INTEGER;
      ALTER TABLE functions ADD COLUMN retry_on_failure INTEGER NOT NULL DEFAULT 0;
      CREATE TABLE async_invocations (
        id TEXT PRIMARY KEY,
        function_id TEXT NOT NULL,
        function_version INTEGER,
        executor TEXT NOT NULL,
        key_id TEXT,
        state TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        max_attempts INTEGER NOT NULL,
        retry_on_failure INTEGER NOT NULL,
        stdin_bytes INTEGER NOT NULL,
        run_at INTEGER NOT NULL,
        lease_owner TEXT,
        lease_expires_at INTEGER,
        cancel_requested INTEGER NOT NULL,
        callback_url TEXT,
        request BLOB,
        request_hash TEXT NOT NULL,
        result TEXT,
        error TEXT,
        error_code TEXT,
        accepted_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        finished_at INTEGER
      );
      CREATE INDEX async_invocations_due ON async_invocations (state, run_at, accepted_at);
      CREATE INDEX async_invocations_leases ON async_invocations (state, lease_expires_at);
      CREATE INDEX async_invocations_finished ON async_invocations (state, finished_at, id);
      CREATE TABLE async_attempts (
        invocation_id TEXT NOT NULL REFERENCES async_invocations (id) ON DELETE CASCADE,
        attempt INTEGER NOT NULL,
        status TEXT NOT NULL,
        exit_code INTEGER,
        error TEXT,
        error_code TEXT,
        started_at INTEGER NOT NULL,
        finished_at INTEGER,
        PRIMARY KEY (invocation_id, attempt)
      );
      CREATE TABLE idempotency_keys (
        scope TEXT NOT NULL,
        idempotency_key TEXT NOT NULL,
        invocation_id TEXT NOT NULL,
        request_hash TEXT NOT NULL,
        expires_at INTEGER NOT NULL,
        PRIMARY KEY (scope, idempotency_key)
      );
      CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);
    `,
  },
  {
    version: 3,
    name: 'the callback URL of a function definition',
    sql: `
      ALTER TABLE functions ADD COLUMN callback_url TEXT;
    `,
  },
  {
    version: 4,
    name: 'a final state with a callback URL is marked until its delivery is recorded',
    sql: `
      ALTER TABLE async_invocations ADD COLUMN callback_pending INTEGER NOT NULL DEFAULT 0;
      CREATE INDEX async_invocations_callbacks ON async_invocations (id) WHERE callback_pending = 1;
    `,
  },
  {
    version: 5,
    name: 'the variables an invocation of a function may set',
    sql: `
      ALTER TABLE functions ADD COLUMN allowed_env_vars TEXT NOT NULL DEFAULT '[]';
    `,
  },
  {
    version: 6,
    name: "an API key's own cap on its invocations under way at once",
    sql: `
      ALTER TABLE api_keys ADD COLUMN max_concurrency INTEGER;
    `,
  },
  {
    version: 7,
    name: "an API key's queued asynchronous invocations, counted for its share of the queue",
    sql: `
      CREATE INDEX async_invocations_key_state ON async_invocations (key_id, state);
    `,
  },
  {
    version: 8,
    name: 'fair claiming across API keys: the queue of each key in the order it is claimed',
    // Each key's due invocations in claim order (the head of its queue), the keys that have queued
    // ones (walked one seek a key), and each key's running count, all on one index; it starts with
    // (state, key_id), so it also counts a key's share of the queue, and replaces (key_id, state).
    sql: `
      CREATE INDEX async_invocations_key_due ON async_invocations (state, key_id, run_at, accepted_at);
      DROP INDEX async_invocations_key_state;
    `,
  },
  {
    version: 9,
    name: "the delivery state of an asynchronous invocation's callback",
    // pending, delivered, failed or refused; NULL without a callback URL. An invocation that ended
    // and had its callback handed over before this version has no state the store knows (it stays
    // NULL); one still to run, or still marked for its hand-over, is pending.
    sql: `
      ALTER TABLE async_invocations ADD COLUMN callback_state TEXT;
      ALTER TABLE async_invocations ADD COLUMN callback_attempts INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE async_invocations ADD COLUMN callback_last_error TEXT;
      ALTER TABLE async_invocations ADD COLUMN callback_last_status INTEGER;
      ALTER TABLE async_invocations ADD COLUMN callback_delivered_at INTEGER;
      UPDATE async_invocations SET callback_state = 'pending'
        WHERE callback_url IS NOT NULL AND (callback_pending = 1 OR state IN ('queued', 'running'));
    `,
  },
];

/** The schema version this build writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

export interface MigrationResult {
  /** Version found at open (0 for a new database). */
  from: number;
  to: number;
}

/**
 * Brings the database up to the last of `migrations`. Reopening an up-to-date database writes
 * nothing. `file` names the database in messages.
 */
export function migrate(db: Database.Database, file: string, migrations: readonly Migration[] = MIGRATIONS): MigrationResult {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1)
      throw new Error(`migration ${m.name} is numbered ${m.version}, expected ${i + 1}: migrations must be 1, 2, 3, ...`);
  });
  const latest = migrations.length;
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)');
  const current = db.prepare<[], number | null>('SELECT MAX(version) FROM schema_migrations').pluck();
  const from = current.get() ?? 0;
  if (from > latest) {
    throw new FaasError(
      'FAAS_ERR_STORE_UNAVAILABLE',
      `the database ${file} has schema version ${from}, newer than this build knows (${latest}): run the newer faas build that wrote it, or restore a backup taken before that upgrade`,
      { details: { schemaVersion: from, supportedVersion: latest } },
    );
  }
  const record = db.prepare<[number, string, number]>('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
  for (const m of migrations.slice(from)) {
    // IMMEDIATE takes the write lock first, so a second process opening the same file waits and
    // then sees the version this one wrote, instead of applying the migration twice.
    db.transaction(() => {
      if ((current.get() ?? 0) >= m.version) return;
      db.exec(m.sql);
      record.run(m.version, m.name, Date.now());
    }).immediate();
  }
  return { from, to: Math.max(from, latest) };
}
