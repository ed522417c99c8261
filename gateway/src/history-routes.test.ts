/**
 * The invocation history through the gateway's HTTP surface, recorded by the orchestrator's history
 * layer into a real SQLite store, with the fake executor: list, filters, pages, one invocation, its
 * output (cut at FAAS_HISTORY_OUTPUT_BYTES), query faults, and keys limited to other functions.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { facts } from '@faas/executor';
import type { LightMyRequestResponse } from 'fastify';
import { parseHistoryQuery } from './history-routes.js';
import { startTestGateway, type TestGateway } from './test-fixtures.js';

const IMAGE = 'faas/busybox:latest';
let g: TestGateway;

interface Invocation {
  id: string;
  function_id: string;
  function_version: number | null;
  status: string;
  error_code: string | null;
  key_id: string | null;
  stdout_bytes: number;
  stdin_bytes: number;
  output_truncated: boolean;
  started_at: string;
  finished_at: string;
}

before(async () => {
  g = await startTestGateway(
    { FAAS_HISTORY_OUTPUT_BYTES: '4' },
    {
      run: (request) => {
        if (request.command[0] === 'timeout') return facts({ exitCode: null, signal: 'SIGKILL', timedOut: true });
        const out = Buffer.from(`out:${request.stdin?.toString() ?? ''}`);
        return facts({ stdout: out, stderr: Buffer.from('e'), combined: out });
      },
    },
  );
});

after(async () => {
  await g?.close();
});

function ok(res: LightMyRequestResponse): Record<string, unknown> {
  assert.equal(res.statusCode, 200, res.body.slice(0, 500));
  return res.json() as Record<string, unknown>;
}

function refused(res: LightMyRequestResponse, status: number, code: string, field?: string): void {
  assert.equal(res.statusCode, status, res.body.slice(0, 500));
  assert.equal(res.json().code, code);
  if (field) assert.equal(res.json().field, field);
}

async function list(functionId: string, query = '', key?: string): Promise<{ invocations: Invocation[]; next_cursor: string | null }> {
  const res = await g.call('GET', `/functions/${functionId}/invocations${query}`, key ? { key } : {});
  return ok(res) as unknown as { invocations: Invocation[]; next_cursor: string | null };
}

describe('invocation history', () => {
  it('records each invocation: newest first, with version, key, sizes, times; output cut to FAAS_HISTORY_OUTPUT_BYTES', async () => {
    assert.equal((await g.call('POST', '/functions', { body: { id: 'hist', image: IMAGE, command: ['echo'] } })).statusCode, 201);
    const invoker = await g.newKey(['invoke']);
    const first = ok(await g.call('POST', '/functions/hist/invoke', { body: { payload_base64: Buffer.from('abc').toString('base64') } }));
    const second = ok(await g.call('POST', '/functions/hist/invoke', { key: invoker.key }));
    const { invocations } = await list('hist');
    assert.deepEqual(
      invocations.map((i) => i.id),
      [second.invocation_id, first.invocation_id],
    );
    const [newest, oldest] = invocations as [Invocation, Invocation];
    assert.equal(newest.key_id, invoker.id);
    assert.equal(oldest.key_id, 'admin');
    assert.equal(oldest.function_version, 1);
    assert.equal(oldest.status, 'completed');
    assert.equal(oldest.stdin_bytes, 3);
    assert.equal(oldest.stdout_bytes, 'out:abc'.length);
    assert.equal(oldest.output_truncated, true);
    assert.ok(Date.parse(oldest.started_at) <= Date.parse(oldest.finished_at));

    const one = ok(await g.call('GET', `/invocations/${first.invocation_id}`));
    // The single answer is the list's record plus where the invocation stands (one synchronous attempt).
    const {
      mode,
      state,
      attempts,
      max_attempts,
      attempt_history,
      accepted_at,
      next_attempt_at,
      cancel_requested,
      result,
      callback,
      ...recorded
    } = one;
    assert.deepEqual(recorded, oldest);
    assert.deepEqual(
      { mode, state, attempts, max_attempts, accepted_at, next_attempt_at, cancel_requested, result, callback },
      {
        mode: 'sync',
        state: 'succeeded',
        attempts: 1,
        max_attempts: 1,
        accepted_at: oldest.started_at,
        next_attempt_at: null,
        cancel_requested: false,
        result: null,
        callback: null,
      },
    );
    assert.equal((attempt_history as unknown[]).length, 1);
    const output = ok(await g.call('GET', `/invocations/${first.invocation_id}/output`));
    assert.deepEqual(output, {
      stdout_base64: Buffer.from('out:').toString('base64'),
      stderr_base64: Buffer.from('e').toString('base64'),
      output_truncated: true,
    });
  });

  it('records faults and timeouts, and ad-hoc invocations under their id', async () => {
    assert.equal((await g.call('POST', '/functions', { body: { id: 'slow', image: IMAGE, command: ['timeout'] } })).statusCode, 201);
    assert.equal((await g.call('POST', '/functions/slow/invoke')).statusCode, 504);
    assert.equal((await g.call('POST', '/functions/adhoc-h/invoke', { body: { image: IMAGE, command: ['echo'] } })).statusCode, 200);
    const [timedOut] = (await list('slow')).invocations;
    assert.equal(timedOut?.status, 'timed_out');
    assert.equal(timedOut?.error_code, 'FAAS_ERR_TIMEOUT');
    const [adhoc] = (await list('adhoc-h')).invocations;
    assert.equal(adhoc?.function_version, null);
    // Refused before reaching the core (validation): not an invocation, not recorded.
    assert.equal((await g.call('POST', '/functions/slow/invoke', { body: { image: IMAGE } })).statusCode, 400);
    assert.equal((await list('slow')).invocations.length, 1);
  });

  it('filters by status, key_id, since and until (RFC 3339 or epoch ms), and pages with the cursor', async () => {
    assert.equal((await g.call('POST', '/functions', { body: { id: 'paged', image: IMAGE, command: ['echo'] } })).statusCode, 201);
    const key = await g.newKey(['invoke']);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push(String(ok(await g.call('POST', '/functions/paged/invoke', i % 2 ? { key: key.key } : {})).invocation_id));
      await new Promise((r) => setTimeout(r, 3));
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await list('paged', `?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      assert.ok(page.invocations.length <= 2);
      seen.push(...page.invocations.map((i) => i.id));
      cursor = page.next_cursor;
    } while (cursor);
    assert.deepEqual(seen, [...ids].reverse());

    assert.deepEqual(
      (await list('paged', `?key_id=${key.id}`)).invocations.map((i) => i.id),
      [ids[3], ids[1]],
    );
    assert.equal((await list('paged', '?status=completed')).invocations.length, 5);
    assert.equal((await list('paged', '?status=error')).invocations.length, 0);
    const all = (await list('paged')).invocations;
    const third = all[2] as Invocation;
    const since = (await list('paged', `?since=${encodeURIComponent(third.started_at)}`)).invocations;
    assert.deepEqual(
      since.map((i) => i.id),
      all.slice(0, 3).map((i) => i.id),
    );
    const until = (await list('paged', `?until=${Date.parse(third.started_at)}`)).invocations;
    assert.deepEqual(
      until.map((i) => i.id),
      all.slice(2).map((i) => i.id),
    );
  });

  it('refuses bad query values with FAAS_ERR_INVALID_QUERY naming the parameter', async () => {
    for (const [query, field] of [
      ['?status=done', 'status'],
      ['?since=yesterday', 'since'],
      ['?until=2026-13-01T00:00:00Z', 'until'],
      ['?limit=0', 'limit'],
      ['?limit=1001', 'limit'],
      ['?limit=ten', 'limit'],
      ['?order=asc', 'order'],
      ['?status=completed&status=error', 'status'],
      ['?since=2000&until=1000', 'since'],
    ] as const) {
      refused(await g.call('GET', `/functions/hist/invocations${query}`), 400, 'FAAS_ERR_INVALID_QUERY', field);
    }
    refused(await g.call('GET', '/functions/hist/invocations?cursor=not-a-cursor'), 400, 'FAAS_ERR_INVALID_QUERY');
  });

  it('an unknown invocation is 404; one of a function the key may not see is 403', async () => {
    refused(await g.call('GET', '/invocations/00000000-0000-0000-0000-000000000000'), 404, 'FAAS_ERR_INVOCATION_NOT_FOUND');
    refused(await g.call('GET', '/invocations/nope/output'), 404, 'FAAS_ERR_INVOCATION_NOT_FOUND');
    const [record] = (await list('hist')).invocations;
    const reader = await g.newKey(['history'], ['other-*']);
    refused(await g.call('GET', `/invocations/${record?.id}`, { key: reader.key }), 403, 'FAAS_ERR_FORBIDDEN');
    refused(await g.call('GET', `/invocations/${record?.id}/output`, { key: reader.key }), 403, 'FAAS_ERR_FORBIDDEN');
    refused(await g.call('GET', '/functions/hist/invocations', { key: reader.key }), 403, 'FAAS_ERR_FORBIDDEN');
    const allowed = await g.newKey(['history'], ['hist']);
    ok(await g.call('GET', `/invocations/${record?.id}`, { key: allowed.key }));
  });

  it("retention (the store's prune) removes old invocations, which then answer 404", async () => {
    const [record] = (await list('hist')).invocations;
    const removed = await g.store.history.prune({ olderThan: Date.now() + 1000, maxPerFunction: 1000 });
    assert.ok(removed >= 2);
    assert.deepEqual((await list('hist')).invocations, []);
    refused(await g.call('GET', `/invocations/${record?.id}`), 404, 'FAAS_ERR_INVOCATION_NOT_FOUND');
  });
});

describe('history query', () => {
  it('reads RFC 3339 times with offsets and epoch milliseconds', () => {
    assert.equal(parseHistoryQuery('f', { since: '2026-01-31T12:00:00+01:00' }).since, Date.parse('2026-01-31T11:00:00Z'));
    assert.equal(parseHistoryQuery('f', { until: '1700000000000' }).until, 1_700_000_000_000);
    assert.deepEqual(parseHistoryQuery('f', {}), { functionId: 'f', limit: 100 });
  });
});
