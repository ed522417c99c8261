import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { withStore } from './test-fixtures.js';
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
    });
  });

  it('lists every key, revoked ones included, newest first', async () => {
    await withStore(async ({ store }) => {
      await store.keys.create(keyInput('old'), 1000);
      await store.keys.create(keyInput('new'), 3000);
      await store.keys.create(keyInput('mid'), 2000);
      await store.keys.revoke('mid', 4000);
      const list = await store.keys.list();
      assert.deepEqual(
        list.map((k) => k.id),
        ['new', 'mid', 'old'],
      );
      assert.equal(list[1]?.revokedAt, 4000);
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
