import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { withStore } from './test-fixtures.js';

describe('kv', () => {
  it('sets, overwrites and reads values that outlive the store', async () => {
    await withStore(async ({ store, reopen }) => {
      assert.equal(await store.kv.get('tangle.lastBlock'), undefined);
      await store.kv.set('tangle.lastBlock', '100');
      await store.kv.set('other', '');
      await store.kv.set('tangle.lastBlock', '101');
      assert.equal(await store.kv.get('tangle.lastBlock'), '101');
      assert.equal(await store.kv.get('other'), '');
      await store.close();
      const again = reopen();
      assert.equal(await again.kv.get('tangle.lastBlock'), '101');
    });
  });
});
