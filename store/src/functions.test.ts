import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isFaasError } from '@faas/common';
import Database from 'better-sqlite3';
import { functionInput, withStore } from './test-fixtures.js';
import type { FunctionRecord } from './types.js';

const hasCode = (code: string) => (e: unknown) => isFaasError(e) && e.code === code;

describe('functions', () => {
  it('creates and reads a function, with secret names but no values', async () => {
    await withStore(async ({ store }) => {
      const input = functionInput('resize', {
        secrets: { TOKEN: 't0ken', API: 'a' },
        executor: 'gvisor',
        poolMode: 'reuse',
        limits: { memory_mb: 256, cpus: 0.5, pids: 64 },
        timeoutMs: 9000,
        maxConcurrency: 3,
        allowedEnvVars: ['LANG', 'APP_*'],
      });
      const created = await store.functions.create(input, 1000);
      const expected: FunctionRecord = {
        id: 'resize',
        image: 'alpine:3.20',
        command: ['sh', '-c', 'cat'],
        env: ['MODE=test'],
        allowedEnvVars: ['LANG', 'APP_*'],
        secretNames: ['API', 'TOKEN'],
        executor: 'gvisor',
        poolMode: 'reuse',
        limits: { memory_mb: 256, cpus: 0.5, pids: 64 },
        timeoutMs: 9000,
        maxConcurrency: 3,
        maxAttempts: null,
        retryOnFailure: false,
        callbackUrl: null,
        description: 'function resize',
        version: 1,
        createdAt: 1000,
        updatedAt: 1000,
      };
      assert.deepEqual(created, expected);
      assert.deepEqual(await store.functions.get('resize'), expected);
      assert.equal(await store.functions.get('missing'), undefined);
      assert.ok(!JSON.stringify(created).includes('t0ken'));
    });
  });

  it('refuses a second function under a taken id with FAAS_ERR_FUNCTION_EXISTS, leaving the first as it was', async () => {
    await withStore(async ({ store }) => {
      await store.functions.create(functionInput('dup', { secrets: { A: '1' } }));
      await assert.rejects(
        store.functions.create(functionInput('dup', { image: 'busybox', secrets: { B: '2' } })),
        hasCode('FAAS_ERR_FUNCTION_EXISTS'),
      );
      const kept = await store.functions.get('dup');
      assert.equal(kept?.image, 'alpine:3.20');
      assert.deepEqual(kept?.secretNames, ['A']);
    });
  });

  it('update replaces the fields present, keeps the others and increments the version', async () => {
    await withStore(async ({ store }) => {
      await store.functions.create(functionInput('f', { timeoutMs: 5000, executor: 'docker' }), 1000);
      const v2 = await store.functions.update('f', { image: 'busybox:1', limits: { cpus: 2 } }, undefined, 2000);
      assert.equal(v2.version, 2);
      assert.equal(v2.image, 'busybox:1');
      assert.deepEqual(v2.limits, { cpus: 2 }, 'limits replaced as a whole');
      assert.deepEqual(v2.command, ['sh', '-c', 'cat']);
      assert.equal(v2.timeoutMs, 5000);
      assert.equal(v2.createdAt, 1000);
      assert.equal(v2.updatedAt, 2000);
      const v3 = await store.functions.update('f', { timeoutMs: null, executor: null, description: '' }, 2, 3000);
      assert.equal(v3.version, 3);
      assert.equal(v3.timeoutMs, null, 'null resets');
      assert.equal(v3.executor, null);
      assert.equal(v3.description, '');
      assert.deepEqual(v3.allowedEnvVars, [], 'none unless set');
      const v4 = await store.functions.update('f', { allowedEnvVars: ['LANG'] }, 3, 4000);
      assert.deepEqual(v4.allowedEnvVars, ['LANG']);
      assert.deepEqual((await store.functions.update('f', { description: 'kept' }, 4, 5000)).allowedEnvVars, ['LANG'], 'kept when absent');
      assert.deepEqual(await store.functions.get('f'), { ...v4, description: 'kept', version: 5, updatedAt: 5000 });
    });
  });

  it('merges secrets: a string sets, null deletes, others are kept', async () => {
    await withStore(async ({ store }) => {
      await store.functions.create(functionInput('s', { secrets: { KEEP: 'k', CHANGE: 'old', DROP: 'd' } }));
      const updated = await store.functions.update('s', { secrets: { CHANGE: 'new', DROP: null, ADD: 'a', ABSENT: null } });
      assert.deepEqual(updated.secretNames, ['ADD', 'CHANGE', 'KEEP']);
      const resolved = await store.functions.resolveSecrets('s');
      assert.deepEqual(resolved?.secrets, ['ADD=a', 'CHANGE=new', 'KEEP=k']);
      assert.equal(resolved?.record.version, 2);
    });
  });

  it('refuses a stale expectedVersion with FAAS_ERR_VERSION_CONFLICT and changes nothing', async () => {
    await withStore(async ({ store }) => {
      await store.functions.create(functionInput('v', { secrets: { A: '1' } }));
      await store.functions.update('v', { image: 'busybox' }, 1);
      await assert.rejects(store.functions.update('v', { image: 'nginx', secrets: { A: null } }, 1), (e: unknown) => {
        return hasCode('FAAS_ERR_VERSION_CONFLICT')(e) && /version 2, not 1/.test((e as Error).message);
      });
      const now = await store.functions.get('v');
      assert.equal(now?.image, 'busybox');
      assert.equal(now?.version, 2);
      assert.deepEqual(now?.secretNames, ['A']);
      await assert.rejects(store.functions.update('missing', { image: 'x' }), hasCode('FAAS_ERR_FUNCTION_NOT_FOUND'));
    });
  });

  it('deletes a function with its secrets; a stale version is a conflict, a missing one is false', async () => {
    await withStore(async ({ store, file }) => {
      await store.functions.create(functionInput('gone', { secrets: { A: '1', B: '2' } }));
      await store.functions.create(functionInput('stays', { secrets: { A: '1' } }));
      await assert.rejects(store.functions.delete('gone', 7), hasCode('FAAS_ERR_VERSION_CONFLICT'));
      assert.ok(await store.functions.get('gone'));
      assert.equal(await store.functions.delete('gone', 1), true);
      assert.equal(await store.functions.get('gone'), undefined);
      assert.equal(await store.functions.delete('gone'), false);
      const db = new Database(file, { readonly: true });
      try {
        const owners = db.prepare<[], string>('SELECT function_id FROM function_secrets').pluck().all();
        assert.deepEqual(owners, ['stays'], 'the secrets went with their function');
      } finally {
        db.close();
      }
    });
  });

  it('lists by id over several pages with a cursor', async () => {
    await withStore(async ({ store }) => {
      const ids = Array.from({ length: 23 }, (_, i) => `fn-${String(i).padStart(2, '0')}`);
      for (const id of [...ids].reverse()) await store.functions.create(functionInput(id, { secrets: { [`S_${id.slice(3)}`]: 'x' } }));
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await store.functions.list({ limit: 10, cursor });
        pages++;
        assert.ok(page.items.length <= 10);
        for (const item of page.items) {
          assert.deepEqual(item.secretNames, [`S_${item.id.slice(3)}`], 'each item carries its own secret names');
          seen.push(item.id);
        }
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      assert.equal(pages, 3);
      assert.deepEqual(seen, ids);
      const exact = await store.functions.list({ limit: 23 });
      assert.equal(exact.items.length, 23);
      assert.equal(exact.nextCursor, null, 'no cursor when the page holds the rest');
      assert.deepEqual(await store.functions.list({ limit: 5, cursor: (await store.functions.list({ limit: 23 - 1 })).nextCursor! }), {
        items: [await store.functions.get('fn-22')],
        nextCursor: null,
      });
    });
  });

  it('refuses cursors it did not issue and limits out of range with FAAS_ERR_INVALID_QUERY', async () => {
    await withStore(async ({ store }) => {
      await store.functions.create(functionInput('a'));
      await store.functions.create(functionInput('b'));
      const issued = (await store.functions.list({ limit: 1 })).nextCursor!;
      const forged = [
        'not a cursor',
        '',
        `${issued}x`,
        issued.slice(0, -2),
        Buffer.from('{"f":"a"}').toString('base64url'),
        Buffer.from(JSON.stringify(['h', 1, 'a'])).toString('base64url'),
        Buffer.from(JSON.stringify(['f', 1])).toString('base64url'),
        Buffer.from('["f","a"').toString('base64url'),
      ];
      for (const cursor of forged) {
        await assert.rejects(
          store.functions.list({ limit: 1, cursor }),
          // The answer names the query parameter at fault, like every FAAS_ERR_INVALID_QUERY.
          (err: unknown) => isFaasError(err) && err.code === 'FAAS_ERR_INVALID_QUERY' && err.details?.field === 'cursor',
          `cursor ${JSON.stringify(cursor)}`,
        );
      }
      for (const limit of [0, 1001, 1.5, Number.NaN]) {
        await assert.rejects(store.functions.list({ limit }), hasCode('FAAS_ERR_INVALID_QUERY'), `limit ${limit}`);
      }
      assert.deepEqual(
        (await store.functions.list({ limit: 1000, cursor: issued })).items.map((f) => f.id),
        ['b'],
      );
    });
  });
});
