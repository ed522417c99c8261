import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isFaasError } from '@faas/common';
import Database from 'better-sqlite3';
import { invocation, NO_OUTPUT, withStore } from './test-fixtures.js';
import type { HistoryFilter, HistoryStore, InvocationRecord } from './types.js';

const T0 = 1_700_000_000_000;

/** Every page of a listing, in order. */
async function listAll(history: HistoryStore, filter: Omit<HistoryFilter, 'cursor'>): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await history.list({ ...filter, cursor });
    pages++;
    ids.push(...page.items.map((r) => r.id));
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return { ids, pages };
}

function countRows(file: string, table: 'invocations' | 'invocation_outputs'): number {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare<[], number>(`SELECT COUNT(*) FROM ${table}`).pluck().get()!;
  } finally {
    db.close();
  }
}

describe('history', () => {
  it('records an invocation and reads it back with its output', async () => {
    await withStore(async ({ store }) => {
      const entry = invocation('inv-1', {
        status: 'timed_out',
        exitCode: null,
        signal: 'SIGKILL',
        error: 'killed after 100 ms',
        errorCode: 'FAAS_ERR_TIMEOUT',
        truncated: true,
        outputTruncated: true,
        functionVersion: null,
        keyId: null,
      });
      store.history.record(entry, { stdout: Buffer.from('out\x00\xff'), stderr: Buffer.from('err') });
      assert.deepEqual(await store.history.get('inv-1'), entry);
      assert.deepEqual(await store.history.output('inv-1'), {
        stdout: Buffer.from('out\x00\xff'),
        stderr: Buffer.from('err'),
        outputTruncated: true,
      });
      store.history.record(invocation('inv-2'), NO_OUTPUT);
      assert.deepEqual(await store.history.output('inv-2'), { stdout: Buffer.alloc(0), stderr: Buffer.alloc(0), outputTruncated: false });
      assert.equal(await store.history.get('missing'), undefined);
      assert.equal(await store.history.output('missing'), undefined);
    });
  });

  it('a duplicate id overwrites: the last write wins, output included', async () => {
    await withStore(async ({ store }) => {
      store.history.record(invocation('dup', { status: 'error', errorCode: 'FAAS_ERR_SANDBOX_FAILURE' }), {
        stdout: Buffer.from('first'),
        stderr: Buffer.from('first'),
      });
      const second = invocation('dup', { status: 'completed', functionId: 'other', startedAt: T0 + 5 });
      assert.doesNotThrow(() => store.history.record(second, { stdout: Buffer.from('second'), stderr: Buffer.alloc(0) }));
      assert.deepEqual(await store.history.get('dup'), second);
      assert.deepEqual((await store.history.output('dup'))?.stdout, Buffer.from('second'));
      assert.equal((await store.history.output('dup'))?.stderr.length, 0);
      assert.deepEqual((await listAll(store.history, { functionId: 'echo', limit: 10 })).ids, []);
      assert.deepEqual((await listAll(store.history, { functionId: 'other', limit: 10 })).ids, ['dup']);
    });
  });

  it('lists newest first over several pages, ties broken by id', async () => {
    await withStore(async ({ store }) => {
      const expected: string[] = [];
      // 30 invocations on 10 instants, three at each: the cursor must not lose or repeat a tie.
      for (let i = 0; i < 30; i++)
        store.history.record(invocation(`inv-${String(i).padStart(2, '0')}`, { startedAt: T0 + Math.floor(i / 3) }), NO_OUTPUT);
      for (let t = 9; t >= 0; t--) for (let k = 2; k >= 0; k--) expected.push(`inv-${String(t * 3 + k).padStart(2, '0')}`);
      store.history.record(invocation('elsewhere', { functionId: 'another' }), NO_OUTPUT);
      const { ids, pages } = await listAll(store.history, { functionId: 'echo', limit: 7 });
      assert.deepEqual(ids, expected);
      assert.equal(pages, 5);
      const page = await store.history.list({ functionId: 'echo', limit: 30 });
      assert.equal(page.items.length, 30);
      assert.equal(page.nextCursor, null);
    });
  });

  it('filters by status, since, until and key, with pagination', async () => {
    await withStore(async ({ store }) => {
      const rows: InvocationRecord[] = [];
      for (let i = 0; i < 20; i++) {
        rows.push(
          invocation(`i${String(i).padStart(2, '0')}`, {
            startedAt: T0 + i * 1000,
            status: i % 4 === 0 ? 'out_of_memory' : 'completed',
            keyId: i % 2 === 0 ? 'even' : i % 5 === 0 ? null : 'odd',
          }),
        );
      }
      for (const r of rows) store.history.record(r, NO_OUTPUT);
      const expect = async (filter: Omit<HistoryFilter, 'functionId' | 'limit' | 'cursor'>, keep: (r: InvocationRecord) => boolean) => {
        const want = rows
          .filter(keep)
          .map((r) => r.id)
          .reverse();
        assert.ok(want.length > 0 && want.length < rows.length, 'the filter selects some but not all');
        assert.deepEqual((await listAll(store.history, { functionId: 'echo', limit: 2, ...filter })).ids, want, JSON.stringify(filter));
      };
      await expect({ status: 'out_of_memory' }, (r) => r.status === 'out_of_memory');
      await expect({ since: T0 + 5000 }, (r) => r.startedAt >= T0 + 5000);
      await expect({ until: T0 + 5000 }, (r) => r.startedAt <= T0 + 5000);
      await expect({ since: T0 + 3000, until: T0 + 12_000 }, (r) => r.startedAt >= T0 + 3000 && r.startedAt <= T0 + 12_000);
      await expect({ keyId: 'odd' }, (r) => r.keyId === 'odd');
      await expect(
        { status: 'completed', keyId: 'even', since: T0 + 4000 },
        (r) => r.status === 'completed' && r.keyId === 'even' && r.startedAt >= T0 + 4000,
      );
      assert.deepEqual((await store.history.list({ functionId: 'nobody', limit: 5 })).items, []);
    });
  });

  it('refuses a cursor it did not issue, an unknown status, a bad time and a bad limit', async () => {
    await withStore(async ({ store }) => {
      for (let i = 0; i < 3; i++) store.history.record(invocation(`i${i}`, { startedAt: T0 + i }), NO_OUTPUT);
      const bad = (e: unknown) => isFaasError(e, 'FAAS_ERR_INVALID_QUERY');
      const functionsCursor = Buffer.from(JSON.stringify(['f', 'i1'])).toString('base64url');
      for (const cursor of ['garbage!', functionsCursor, Buffer.from(JSON.stringify(['h', 'x', 'i1'])).toString('base64url')]) {
        await assert.rejects(store.history.list({ functionId: 'echo', limit: 1, cursor }), bad, cursor);
      }
      await assert.rejects(store.history.list({ functionId: 'echo', limit: 1, status: 'exploded' as 'error' }), bad);
      await assert.rejects(store.history.list({ functionId: 'echo', limit: 1, since: Number.NaN }), bad);
      await assert.rejects(store.history.list({ functionId: 'echo', limit: 0 }), bad);
      const issued = (await store.history.list({ functionId: 'echo', limit: 1 })).nextCursor!;
      assert.deepEqual(
        (await store.history.list({ functionId: 'echo', limit: 5, cursor: issued })).items.map((r) => r.id),
        ['i1', 'i0'],
      );
    });
  });

  it('prunes by age, output included', async () => {
    await withStore(async ({ store, file }) => {
      for (let i = 0; i < 10; i++) {
        store.history.record(invocation(`i${i}`, { startedAt: T0 + i, functionId: i % 2 ? 'a' : 'b' }), {
          stdout: Buffer.from(`out ${i}`),
          stderr: Buffer.alloc(0),
        });
      }
      assert.equal(await store.history.prune({ olderThan: T0 + 4, maxPerFunction: 100 }), 4);
      assert.equal(await store.history.get('i3'), undefined);
      assert.equal(await store.history.output('i3'), undefined);
      assert.ok(await store.history.get('i4'), 'started at the limit: kept');
      assert.equal(countRows(file, 'invocations'), 6);
      assert.equal(countRows(file, 'invocation_outputs'), 6, 'output rows went with their invocation');
      assert.equal(await store.history.prune({ olderThan: T0 + 4, maxPerFunction: 100 }), 0);
    });
  });

  it('prunes all but the newest per function, in batches that let the event loop run', async () => {
    await withStore(
      async ({ store, file }) => {
        for (let i = 0; i < 120; i++)
          store.history.record(invocation(`a${String(i).padStart(3, '0')}`, { functionId: 'a', startedAt: T0 + i }), NO_OUTPUT);
        // Three at the same instant: the cut falls between ties and keeps the larger ids.
        for (const id of ['b1', 'b2', 'b3']) store.history.record(invocation(id, { functionId: 'b', startedAt: T0 }), NO_OUTPUT);
        store.history.record(invocation('c1', { functionId: 'c', startedAt: T0 }), NO_OUTPUT);
        // Count the event loop's turns while prune runs: 119 rows in batches of 10 need a dozen.
        let turns = 0;
        let running = true;
        const spin = () => {
          if (!running) return;
          turns++;
          setImmediate(spin);
        };
        setImmediate(spin);
        const removed = await store.history.prune({ olderThan: 0, maxPerFunction: 2 });
        running = false;
        assert.ok(turns >= 11, `prune let the event loop turn ${turns} times`);
        assert.equal(removed, 118 + 1);
        assert.deepEqual((await listAll(store.history, { functionId: 'a', limit: 10 })).ids, ['a119', 'a118']);
        assert.deepEqual((await listAll(store.history, { functionId: 'b', limit: 10 })).ids, ['b3', 'b2']);
        assert.deepEqual((await listAll(store.history, { functionId: 'c', limit: 10 })).ids, ['c1']);
        assert.equal(countRows(file, 'invocation_outputs'), 5);
      },
      { pruneBatch: 10 },
    );
  });

  it('prunes a function with an empty id too, and with no limit hit removes nothing', async () => {
    await withStore(async ({ store }) => {
      for (let i = 0; i < 3; i++) store.history.record(invocation(`e${i}`, { functionId: '', startedAt: T0 + i }), NO_OUTPUT);
      assert.equal(await store.history.prune({ olderThan: 0, maxPerFunction: 3 }), 0);
      assert.equal(await store.history.prune({ olderThan: 0, maxPerFunction: 1 }), 2);
      assert.deepEqual(
        (await store.history.list({ functionId: '', limit: 5 })).items.map((r) => r.id),
        ['e2'],
      );
    });
  });
});

describe('history retention runs', () => {
  it('two prunes at once run one after the other and count each row once', async () => {
    await withStore(
      async ({ store }) => {
        for (let i = 0; i < 50; i++) store.history.record(invocation(`i${i}`, { startedAt: T0 + i }), NO_OUTPUT);
        const counts = await Promise.all([
          store.history.prune({ olderThan: T0 + 40, maxPerFunction: 100 }),
          store.history.prune({ olderThan: T0 + 45, maxPerFunction: 100 }),
        ]);
        assert.deepEqual(counts, [40, 5]);
      },
      { pruneBatch: 3 },
    );
  });
});
