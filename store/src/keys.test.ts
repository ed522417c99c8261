import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { isFaasError } from '@faas/common';
import Database from 'better-sqlite3';
import { MIGRATIONS, migrate } from './migrations.js';
import { openSqliteStore } from './sqlite.js';
import { TEST_KEY, withStore, withTempDir } from './test-fixtures.js';
import type { KeyInput } from './types.js';

function keyInput(id: string, overrides: Partial<KeyInput> = {}): KeyInput {
  return {
    id,
    secretHash: createHash('sha256').update(`secret of ${id}`).digest(),
    name: `key ${id}`,
    scopes: ['invoke', 'history'],
    functions: ['billing-*', 'resize'],
    ratePerSecond: 2.5,
    rateBurst: 10,
    maxConcurrency: 4,
    expiresAt: 9_000_000,
    ...overrides,
  };
}

describe('API keys', () => {
  it('creates a key and looks it up with its hash', async () => {
    await withStore(async ({ store }) => {
      const input = keyInput('k1');
      const record = await store.keys.create(input, 1000);
      assert.deepEqual(record, {
        id: 'k1',
        name: 'key k1',
        scopes: ['invoke', 'history'],
        functions: ['billing-*', 'resize'],
        ratePerSecond: 2.5,
        rateBurst: 10,
        maxConcurrency: 4,
        createdAt: 1000,
        expiresAt: 9_000_000,
        revokedAt: null,
        lastUsedAt: null,
      });
      assert.ok(!('secretHash' in record), 'the hash stays out of records');
      const found = await store.keys.lookup('k1');
      assert.deepEqual(found?.record, record);
      assert.ok(found?.secretHash.equals(input.secretHash));
      assert.deepEqual(await store.keys.get('k1'), record);
      assert.equal(await store.keys.lookup('nope'), undefined);
      assert.equal(await store.keys.get('nope'), undefined);

      const open = await store.keys.create(
        keyInput('k2', { functions: null, ratePerSecond: null, rateBurst: null, expiresAt: null }),
        2000,
      );
      assert.equal(open.functions, null);
      assert.equal(open.ratePerSecond, null);
      assert.equal(open.expiresAt, null);
      assert.equal(open.maxConcurrency, 4);
      // Without one of its own, a key follows the platform's FAAS_KEY_MAX_CONCURRENCY (null here).
      const { maxConcurrency: _none, ...withoutCap } = keyInput('k3');
      assert.equal((await store.keys.create(withoutCap, 3000)).maxConcurrency, null);
      assert.equal((await store.keys.get('k3'))?.maxConcurrency, null);
      assert.equal((await store.keys.create(keyInput('k4', { maxConcurrency: null }), 4000)).maxConcurrency, null);
    });
  });

  it('a key stored before max_concurrency existed (schema 5) reads back with none after the upgrade', async () => {
    await withTempDir(async (dir) => {
      const file = join(dir, 'faas.db');
      const db = new Database(file);
      try {
        migrate(db, file, MIGRATIONS.slice(0, 5));
        db.prepare(
          `INSERT INTO api_keys (id, secret_hash, name, scopes, functions, rate_per_second, rate_burst, created_at, expires_at)
           VALUES ('old', x'00', 'old key', '["invoke"]', NULL, 1, 2, 1000, NULL)`,
        ).run();
      } finally {
        db.close();
      }
      const store = openSqliteStore({ dataDir: dir, secretsKey: TEST_KEY });
      try {
        const record = await store.keys.get('old');
        assert.equal(record?.maxConcurrency, null);
        assert.equal(record?.ratePerSecond, 1);
        assert.equal(record?.name, 'old key');
      } finally {
        await store.close();
      }
    });
  });

  it('lists every key, revoked ones included, oldest first; creation times strictly increase, whatever the clock says', async () => {
    await withStore(async ({ store }) => {
      await store.keys.create(keyInput('old'), 1000);
      await store.keys.create(keyInput('new'), 3000);
      // The clock stepped back, then two keys in one millisecond: each is dated after the last.
      await store.keys.create(keyInput('mid'), 2000);
      await store.keys.create(keyInput('mie'), 2000);
      await store.keys.revoke('mid', 4000);
      const page = await store.keys.list({ limit: 100 });
      assert.deepEqual(
        page.items.map((k) => [k.id, k.createdAt]),
        [
          ['old', 1000],
          ['new', 3000],
          ['mid', 3001],
          ['mie', 3002],
        ],
      );
      assert.equal(page.items[2]?.revokedAt, 4000);
      assert.equal(page.nextCursor, null, 'no cursor when the page holds the rest');
    });
  });

  it('pages in order; a key made between pages comes at the end, a key revoked between pages stays in its place', async () => {
    await withStore(async ({ store }) => {
      // Made two to a millisecond, ids in reverse: the order is the order they were made.
      const made = Array.from({ length: 7 }, (_, i) => ({ id: `k${6 - i}`, at: 1000 + Math.floor(i / 2) }));
      for (const { id, at } of made) await store.keys.create(keyInput(id), at);
      for (let limit = 1; limit <= 8; limit++) {
        const seen: string[] = [];
        let cursor: string | undefined;
        do {
          const page = await store.keys.list({ limit, cursor });
          assert.ok(page.items.length <= limit);
          seen.push(...page.items.map((k) => k.id));
          cursor = page.nextCursor ?? undefined;
        } while (cursor);
        assert.deepEqual(
          seen,
          made.map((k) => k.id),
          `limit ${limit}`,
        );
      }

      const first = await store.keys.list({ limit: 3 });
      // Made in the millisecond of the first page's last key, with an id that sorts before it.
      await store.keys.create(keyInput('a-late'), first.items[2]!.createdAt);
      await store.keys.revoke('k2', 600_000);
      await store.keys.revoke('k5', 600_000);
      const rest = await store.keys.list({ limit: 1000, cursor: first.nextCursor! });
      assert.deepEqual(
        [...first.items, ...rest.items].map((k) => k.id),
        ['k6', 'k5', 'k4', 'k3', 'k2', 'k1', 'k0', 'a-late'],
      );
      assert.equal(first.items[1]?.revokedAt, null, 'the page already read showed it as it was');
      assert.equal(rest.items.find((k) => k.id === 'k2')?.revokedAt, 600_000);
    });
  });

  it('refuses cursors it did not issue and limits out of range with FAAS_ERR_INVALID_QUERY', async () => {
    await withStore(async ({ store }) => {
      await store.keys.create(keyInput('a'), 1000);
      await store.keys.create(keyInput('b'), 2000);
      const issued = (await store.keys.list({ limit: 1 })).nextCursor!;
      const forged = [
        'not a cursor',
        '',
        `${issued}x`,
        issued.slice(0, -2),
        // Another list's cursors, well formed.
        Buffer.from(JSON.stringify(['f', 'a'])).toString('base64url'),
        Buffer.from(JSON.stringify(['h', 1000, 'a'])).toString('base64url'),
        Buffer.from(JSON.stringify(['d', 1000, 'a'])).toString('base64url'),
        Buffer.from(JSON.stringify(['k', '1000', 'a'])).toString('base64url'),
      ];
      for (const cursor of forged) {
        await assert.rejects(
          store.keys.list({ limit: 1, cursor }),
          (err: unknown) => isFaasError(err) && err.code === 'FAAS_ERR_INVALID_QUERY' && err.details?.field === 'cursor',
          `cursor ${JSON.stringify(cursor)}`,
        );
      }
      for (const limit of [0, 1001, 1.5, Number.NaN]) {
        await assert.rejects(
          store.keys.list({ limit }),
          (err: unknown) => isFaasError(err) && err.code === 'FAAS_ERR_INVALID_QUERY',
          `limit ${limit}`,
        );
      }
      assert.deepEqual(
        (await store.keys.list({ limit: 1000, cursor: issued })).items.map((k) => k.id),
        ['b'],
      );
    });
  });

  it('revokes a key once, keeping the first time; an unknown key is false', async () => {
    await withStore(async ({ store }) => {
      await store.keys.create(keyInput('k'), 1000);
      assert.equal(await store.keys.revoke('k', 5000), true);
      assert.equal((await store.keys.get('k'))?.revokedAt, 5000);
      assert.equal(await store.keys.revoke('k', 6000), true);
      assert.equal((await store.keys.lookup('k'))?.record.revokedAt, 5000);
      assert.equal(await store.keys.revoke('unknown', 6000), false);
    });
  });

  it('records the last use at most once a minute', async () => {
    await withStore(async ({ store, reopen }) => {
      await store.keys.create(keyInput('k'), 0);
      store.keys.touch('k', 100_000);
      assert.equal((await store.keys.get('k'))?.lastUsedAt, 100_000);
      store.keys.touch('k', 130_000);
      assert.equal((await store.keys.get('k'))?.lastUsedAt, 100_000, 'within the minute: not written');
      store.keys.touch('k', 160_000);
      assert.equal((await store.keys.get('k'))?.lastUsedAt, 160_000);
      store.keys.touch('unknown', 160_000);
      await store.close();
      const again = reopen();
      again.keys.touch('k', 170_000);
      assert.equal((await again.keys.get('k'))?.lastUsedAt, 160_000, 'the database remembers the last write too (another gateway)');
      again.keys.touch('k', 230_001);
      assert.equal((await again.keys.get('k'))?.lastUsedAt, 230_001);
    });
  });

  it('touch on a closed store neither throws nor writes', async () => {
    await withStore(async ({ store }) => {
      await store.keys.create(keyInput('k'), 0);
      await store.close();
      assert.doesNotThrow(() => store.keys.touch('k', 100_000));
    });
  });
});
