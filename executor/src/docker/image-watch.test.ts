import assert from 'node:assert/strict';
import { test } from 'node:test';
import { silentLogger } from '@faas/common';
import { ImageWatch } from './image-watch.js';

/** A watch over a map of name -> id standing in for the image store (no engine: recheck only). */
function watchOver(store: Map<string, string>, inUse: (name: string) => boolean = () => false) {
  const changed: string[] = [];
  let resolves = 0;
  const watch = new ImageWatch({
    resolve: async (name) => {
      resolves++;
      if (name === 'broken') throw new Error('the engine is down');
      return store.get(name);
    },
    inUse,
    onChanged: (name) => changed.push(name),
    log: silentLogger,
  });
  return { watch, changed, resolves: () => resolves };
}

test('a name resolved to another id, or to none, is reported once; unchanged names are not', async () => {
  const store = new Map([
    ['a', 'sha256:1'],
    ['b', 'sha256:2'],
  ]);
  const { watch, changed } = watchOver(store);
  watch.seen('a', 'sha256:1');
  watch.seen('b', 'sha256:2');
  await watch.recheck();
  assert.deepEqual(changed, []);
  store.set('a', 'sha256:3');
  store.delete('b');
  await watch.recheck();
  assert.deepEqual(changed.sort(), ['a', 'b']);
  await watch.recheck();
  assert.deepEqual(changed.sort(), ['a', 'b'], 'each change reported once');
  store.set('a', 'sha256:4');
  await watch.recheck();
  assert.deepEqual(changed, ['a', 'b', 'a'], 'a later change of the same name is reported again');
  watch.close();
});

test('a sandbox started from another id than the one known reports the change at once', () => {
  const { watch, changed } = watchOver(new Map());
  watch.seen('a', 'sha256:1');
  watch.seen('a', 'sha256:1');
  assert.deepEqual(changed, []);
  watch.seen('a', 'sha256:2');
  assert.deepEqual(changed, ['a']);
  watch.close();
});

test('a name that cannot be resolved now (engine down) is kept as it was, not reported', async () => {
  const { watch, changed } = watchOver(new Map());
  watch.seen('broken', 'sha256:1');
  await watch.recheck();
  assert.deepEqual(changed, []);
  watch.close();
});

test('recheck can be limited to some names', async () => {
  const store = new Map([
    ['oci:a', 'sha256:1'],
    ['b', 'sha256:2'],
  ]);
  const { watch, changed } = watchOver(store);
  watch.seen('oci:a', 'sha256:1');
  watch.seen('b', 'sha256:2');
  store.set('oci:a', 'sha256:9');
  store.set('b', 'sha256:9');
  await watch.recheck((name) => name.startsWith('oci:'));
  assert.deepEqual(changed, ['oci:a']);
  watch.close();
});

test('rechecks asked for while one runs are folded into one more round', async () => {
  const store = new Map([['a', 'sha256:1']]);
  const { watch, resolves } = watchOver(store);
  watch.seen('a', 'sha256:1');
  await Promise.all([watch.recheck(), watch.recheck(), watch.recheck()]);
  assert.equal(resolves(), 2);
  watch.close();
});

test('a sandbox started from the old image while the name is being checked is reported, not taken as the latest', async () => {
  const store = new Map([['a', 'sha256:old']]);
  let release: () => void = () => {};
  const gate = new Promise<void>((r) => {
    release = r;
  });
  const changed: string[] = [];
  const watch = new ImageWatch({
    resolve: async (name) => {
      await gate;
      return store.get(name);
    },
    inUse: () => true,
    onChanged: (name) => changed.push(name),
    log: silentLogger,
  });
  watch.seen('a', 'sha256:old');
  store.set('a', 'sha256:new');
  const pass = watch.recheck();
  // A start whose lookup was made before the change reports the old id while the check runs.
  watch.seen('a', 'sha256:old');
  release();
  await pass;
  assert.deepEqual(changed, ['a']);
  watch.close();
});

test('a name removed and then back (a re-tag, a load) is reported both times', async () => {
  const store = new Map([['a', 'sha256:1']]);
  const { watch, changed } = watchOver(store);
  watch.seen('a', 'sha256:1');
  store.delete('a');
  await watch.recheck();
  assert.deepEqual(changed, ['a']);
  store.set('a', 'sha256:1');
  await watch.recheck();
  assert.deepEqual(changed, ['a', 'a'], 'its return is news too: spares may be started again');
  watch.close();
});
