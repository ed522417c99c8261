import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { FaasError } from '@faas/common';
import Database from 'better-sqlite3';
import { MIGRATIONS, migrate, SCHEMA_VERSION } from './migrations.js';
import { openSqliteStore } from './sqlite.js';
import { functionInput, TEST_KEY, withStore, withTempDir } from './test-fixtures.js';

interface MigrationRow {
  version: number;
  name: string;
  applied_at: number;
}

function appliedMigrations(file: string): MigrationRow[] {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare<[], MigrationRow>('SELECT version, name, applied_at FROM schema_migrations ORDER BY version').all();
  } finally {
    db.close();
  }
}

describe('migrations', () => {
  it('creates every table of the schema on a new database, and records each migration', async () => {
    await withStore(async ({ file }) => {
      const rows = appliedMigrations(file);
      assert.deepEqual(
        rows.map((r) => r.version),
        MIGRATIONS.map((m) => m.version),
      );
      assert.equal(rows.at(-1)?.version, SCHEMA_VERSION);
      const db = new Database(file, { readonly: true });
      try {
        const tables = db.prepare<[], string>("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all();
        for (const t of ['api_keys', 'function_secrets', 'functions', 'invocation_outputs', 'invocations', 'kv', 'schema_migrations']) {
          assert.ok(tables.includes(t), `table ${t} exists`);
        }
        assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
      } finally {
        db.close();
      }
    });
  });

  it('reopening an up-to-date database applies nothing and keeps the data', async () => {
    await withStore(async ({ store, file, reopen }) => {
      await store.functions.create(functionInput('kept'));
      await store.close();
      const before = appliedMigrations(file);
      await new Promise((resolve) => setTimeout(resolve, 5));
      const again = reopen();
      assert.deepEqual(appliedMigrations(file), before, 'same rows, same applied_at');
      assert.equal((await again.functions.get('kept'))?.id, 'kept');
      await again.close();
      reopen();
      assert.deepEqual(appliedMigrations(file), before);
    });
  });

  it('refuses a database of a newer schema, naming both versions', async () => {
    await withStore(async ({ store, file, reopen }) => {
      await store.close();
      const db = new Database(file);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(
        SCHEMA_VERSION + 7,
        'future',
        Date.now(),
      );
      db.close();
      assert.throws(
        () => reopen(),
        (e: unknown) =>
          e instanceof FaasError &&
          e.code === 'FAAS_ERR_STORE_UNAVAILABLE' &&
          e.message.includes(`schema version ${SCHEMA_VERSION + 7}`) &&
          e.message.includes(`(${SCHEMA_VERSION})`) &&
          e.message.includes(file),
      );
    });
  });

  it('applies each migration in one transaction: a failing one leaves the database at the version before it', async () => {
    await withTempDir((dir) => {
      const file = join(dir, 'm.db');
      const db = new Database(file);
      try {
        const good = { version: 1, name: 'one', sql: 'CREATE TABLE one (x INTEGER)' };
        const bad = { version: 2, name: 'two', sql: 'CREATE TABLE two (x INTEGER); INSERT INTO nowhere VALUES (1)' };
        assert.throws(() => migrate(db, file, [good, bad]), /no such table: nowhere/);
        assert.equal(db.prepare('SELECT MAX(version) FROM schema_migrations').pluck().get(), 1);
        const tables = db.prepare<[], string>("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all();
        assert.ok(tables.includes('one'));
        assert.ok(!tables.includes('two'), 'the first statement of the failed migration was rolled back');
        const fixed = { ...bad, sql: 'CREATE TABLE two (x INTEGER)' };
        assert.deepEqual(migrate(db, file, [good, fixed]), { from: 1, to: 2 });
        assert.deepEqual(migrate(db, file, [good, fixed]), { from: 2, to: 2 });
      } finally {
        db.close();
      }
    });
  });

  it('refuses migrations that are not numbered 1, 2, 3, ...', async () => {
    await withTempDir((dir) => {
      const db = new Database(join(dir, 'm.db'));
      try {
        assert.throws(() => migrate(db, 'm.db', [{ version: 2, name: 'gap', sql: 'SELECT 1' }]), /numbered 2, expected 1/);
      } finally {
        db.close();
      }
    });
  });

  it('8: a database of version 7 gets the index of fair claiming in place of (key_id, state), its queue kept', async () => {
    await withTempDir(async (dir) => {
      const file = join(dir, 'v7.db');
      const db = new Database(file);
      try {
        assert.deepEqual(migrate(db, file, MIGRATIONS.slice(0, 7)), { from: 0, to: 7 });
        db.prepare(
          `INSERT INTO async_invocations (id, function_id, executor, key_id, state, attempts, max_attempts, retry_on_failure,
             stdin_bytes, run_at, cancel_requested, request_hash, accepted_at, updated_at)
           VALUES ('kept', 'echo', 'docker', 'k1', 'queued', 0, 3, 0, 0, 1, 0, 'h', 1, 1)`,
        ).run();
        assert.deepEqual(migrate(db, file, MIGRATIONS.slice(0, 8)), { from: 7, to: 8 });
        const indexes = db
          .prepare<[], string>("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'async_invocations' ORDER BY name")
          .pluck()
          .all();
        assert.ok(indexes.includes('async_invocations_key_due'), indexes.join(', '));
        assert.ok(!indexes.includes('async_invocations_key_state'), 'the index it covers is gone');
        assert.equal(db.prepare('SELECT state FROM async_invocations WHERE id = ?').pluck().get('kept'), 'queued');
        // A key's share of the queue is counted on the new index.
        const plan = db
          .prepare<[], { detail: string }>(
            `EXPLAIN QUERY PLAN SELECT COUNT(*) FROM (SELECT 1 FROM async_invocations WHERE key_id = 'k1' AND state = 'queued' LIMIT 10)`,
          )
          .all()
          .map((row) => row.detail)
          .join(' | ');
        assert.match(plan, /USING COVERING INDEX async_invocations_key_due \(state=\? AND key_id=\?\)/, plan);
      } finally {
        db.close();
      }
    });
  });

  it('9: a database of version 8 gets the delivery state of callbacks: pending where a delivery is still to come, unknown where it was handed over', async () => {
    await withTempDir(async (dir) => {
      const file = join(dir, 'v8.db');
      const db = new Database(file);
      try {
        assert.deepEqual(migrate(db, file, MIGRATIONS.slice(0, 8)), { from: 0, to: 8 });
        const insert = db.prepare<[string, string, string | null, number]>(
          `INSERT INTO async_invocations (id, function_id, executor, key_id, state, attempts, max_attempts, retry_on_failure,
             stdin_bytes, run_at, cancel_requested, callback_url, callback_pending, request_hash, accepted_at, updated_at)
           VALUES (?, 'echo', 'docker', 'k1', ?, 1, 3, 0, 0, 1, 0, ?, ?, 'h', 1, 1)`,
        );
        insert.run('queued-hooked', 'queued', 'https://hooks.example/a', 0);
        insert.run('ended-marked', 'succeeded', 'https://hooks.example/b', 1);
        insert.run('ended-handed', 'dead', 'https://hooks.example/c', 0);
        insert.run('no-hook', 'succeeded', null, 0);
        assert.deepEqual(migrate(db, file), { from: 8, to: 9 });
        const rows = db
          .prepare<[], { id: string; callback_state: string | null; callback_attempts: number }>(
            'SELECT id, callback_state, callback_attempts FROM async_invocations ORDER BY id',
          )
          .all();
        assert.deepEqual(
          rows.map((r) => [r.id, r.callback_state, r.callback_attempts]),
          [
            ['ended-handed', null, 0],
            ['ended-marked', 'pending', 0],
            ['no-hook', null, 0],
            ['queued-hooked', 'pending', 0],
          ],
        );
      } finally {
        db.close();
      }
    });
  });

  it('creates the data folder (0700) and the database file (0600) privately', async () => {
    await withTempDir(async (dir) => {
      const dataDir = join(dir, 'nested', 'data');
      const store = openSqliteStore({ dataDir, secretsKey: TEST_KEY });
      try {
        await store.functions.create(functionInput('f'));
        assert.equal(statSync(dataDir).mode & 0o777, 0o700);
        assert.equal(statSync(join(dataDir, 'faas.db')).mode & 0o777, 0o600);
        assert.equal(statSync(join(dataDir, 'faas.db-wal')).mode & 0o777, 0o600);
      } finally {
        await store.close();
      }
    });
  });
});
