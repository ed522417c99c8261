import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { FaasError, isFaasError } from '@faas/common';
import Database from 'better-sqlite3';
import { openSqliteStore } from './sqlite.js';
import { toStoreError } from './sqlite-errors.js';
import { functionInput, invocation, NO_OUTPUT, TEST_KEY, withStore, withTempDir } from './test-fixtures.js';

const unavailable = (mentions: RegExp) => (e: unknown) => isFaasError(e, 'FAAS_ERR_STORE_UNAVAILABLE') && mentions.test(e.message);

describe('store unavailable', () => {
  it('maps each SQLite condition to FAAS_ERR_STORE_UNAVAILABLE with the fix, keeping the cause', () => {
    const cases: [code: string, mentions: RegExp][] = [
      ['SQLITE_BUSY', /locked by another process.*one gateway per FAAS_DATA_DIR/],
      ['SQLITE_BUSY_SNAPSHOT', /locked by another process/],
      ['SQLITE_FULL', /disk holding \/d\/faas\.db is full: free space/],
      ['SQLITE_IOERR_WRITE', /I\/O error: check the disk/],
      ['SQLITE_IOERR', /I\/O error/],
      ['SQLITE_CANTOPEN', /cannot open the database \/d\/faas\.db/],
      ['SQLITE_READONLY_DBMOVED', /read-only: give this user write access/],
      ['SQLITE_CORRUPT', /damaged.*backup/],
      ['SQLITE_NOTADB', /not a SQLite database/],
    ];
    for (const [code, mentions] of cases) {
      const cause = new Database.SqliteError('engine words', code);
      const mapped = toStoreError(cause, '/d/faas.db');
      assert.ok(mapped instanceof FaasError, code);
      assert.equal(mapped.code, 'FAAS_ERR_STORE_UNAVAILABLE');
      assert.match(mapped.message, mentions, code);
      assert.ok(mapped.message.includes(`(${code})`), code);
      assert.equal(mapped.cause, cause);
    }
    const constraint = new Database.SqliteError('UNIQUE constraint failed', 'SQLITE_CONSTRAINT_UNIQUE');
    assert.equal(toStoreError(constraint, 'f'), constraint, 'a constraint is the caller’s to handle, not an outage');
    const bug = new TypeError('x is undefined');
    assert.equal(toStoreError(bug, 'f'), bug);
  });

  it('a data folder that cannot be created', async () => {
    await withTempDir((dir) => {
      writeFileSync(join(dir, 'file'), 'not a folder');
      assert.throws(
        () => openSqliteStore({ dataDir: join(dir, 'file', 'data'), secretsKey: TEST_KEY }),
        unavailable(/cannot use .*file\/data: a part of the path is a file/),
      );
      assert.throws(() => openSqliteStore({ dataDir: join(dir, 'file'), secretsKey: TEST_KEY }), unavailable(/a file is in the way/));
    });
  });

  it('a database path that is a folder, and a file that is not a database', async () => {
    await withTempDir((dir) => {
      mkdirSync(join(dir, 'faas.db'));
      assert.throws(
        () => openSqliteStore({ dataDir: dir, secretsKey: TEST_KEY }),
        unavailable(/cannot open the database .*faas\.db.*SQLITE_CANTOPEN/),
      );
      writeFileSync(join(dir, 'other.db'), Buffer.alloc(8192, 'x'));
      assert.throws(
        () => openSqliteStore({ dataDir: dir, secretsKey: TEST_KEY, file: 'other.db' }),
        unavailable(/other\.db is not a SQLite database/),
      );
    });
  });

  it('a database another process keeps locked: waits 5 s, then FAAS_ERR_STORE_UNAVAILABLE', async () => {
    await withStore(async ({ store, file }) => {
      const holder = new Database(file);
      try {
        holder.exec('BEGIN EXCLUSIVE');
        const started = Date.now();
        assert.throws(
          () => store.history.record(invocation('blocked'), NO_OUTPUT),
          unavailable(/locked by another process for more than 5 s/),
        );
        const waited = Date.now() - started;
        assert.ok(waited >= 4500, `waited ${waited} ms (busy_timeout)`);
        holder.exec('ROLLBACK');
      } finally {
        holder.close();
      }
      store.history.record(invocation('after'), NO_OUTPUT);
      assert.ok(await store.history.get('after'));
    });
  });

  it('a closed store refuses every call', async () => {
    await withStore(async ({ store }) => {
      await store.functions.create(functionInput('f'));
      await store.close();
      await store.close();
      const closed = unavailable(/closed/);
      await assert.rejects(store.functions.get('f'), closed);
      await assert.rejects(store.functions.list({ limit: 1 }), closed);
      await assert.rejects(store.keys.list({ limit: 1 }), closed);
      await assert.rejects(store.kv.get('k'), closed);
      assert.throws(() => store.history.record(invocation('late'), NO_OUTPUT), closed);
      await assert.rejects(store.history.prune({ olderThan: 0, maxPerFunction: 1 }), closed);
    });
  });
});
