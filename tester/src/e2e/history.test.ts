/**
 * The invocation history end to end against the real Docker engine: what each invocation leaves
 * (outcomes, timeouts, platform faults, ad-hoc and registered, the caller's key), the list with
 * its filters and pages, one invocation and its output cut at FAAS_HISTORY_OUTPUT_BYTES, keys
 * limited to other functions, and retention through the store's prune.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertError, type HttpResponse } from '../support/http.js';
import { BUSYBOX } from '../support/images.js';
import { usePlatform } from '../support/platform.js';

const OUTPUT_BYTES = 16;
const p = usePlatform({ FAAS_HISTORY_OUTPUT_BYTES: String(OUTPUT_BYTES), FAAS_POOL_MIN_IDLE: '0' });

interface Invocation {
  id: string;
  function_id: string;
  function_version: number | null;
  status: string;
  exit_code: number | null;
  error: string | null;
  error_code: string | null;
  key_id: string | null;
  phases: { queue_ms: number; acquire_ms: number; run_ms: number };
  duration_ms: number;
  stdin_bytes: number;
  stdout_bytes: number;
  stderr_bytes: number;
  output_truncated: boolean;
  started_at: string;
  finished_at: string;
}

interface Page {
  invocations: Invocation[];
  next_cursor: string | null;
}

function ok<T = Record<string, unknown>>(res: HttpResponse, status = 200): T {
  assert.equal(res.status, status, `expected ${status}, got ${res.status}: ${res.text.slice(0, 500)}`);
  return res.json<T>();
}

async function list(functionId: string, query = '', key?: string): Promise<Page> {
  return ok<Page>(await p.client.request(`/functions/${functionId}/invocations${query}`, key ? { key } : {}));
}

async function newKey(scopes: string[], functions: string[] | null = null): Promise<{ id: string; key: string }> {
  return ok(await p.client.request('/keys', { method: 'POST', body: { name: 'history-test', scopes, functions } }), 201);
}

describe('invocation history', { concurrency: 1 }, () => {
  it('records a registered invocation: version, key, status, sizes, phases, times, and the first bytes of each stream', async () => {
    ok(
      await p.client.request('/functions', {
        method: 'POST',
        body: {
          id: 'hist',
          image: BUSYBOX,
          command: ['sh', '-c', 'cat; echo 0123456789abcdefghij; echo oops >&2; exit 3'],
          allowed_env_vars: ['HIDDEN_VALUE'],
        },
      }),
      201,
    );
    const invoker = await newKey(['invoke']);
    const before = Date.now();
    const res = await p.client.request('/functions/hist/invoke', {
      method: 'POST',
      body: { payload_base64: Buffer.from('in:').toString('base64'), env_vars: ['HIDDEN_VALUE=do-not-record'] },
      key: invoker.key,
    });
    const result = ok<{ invocation_id: string; duration_ms: number }>(res);
    const record = ok<Invocation>(await p.client.request(`/invocations/${result.invocation_id}`));
    assert.equal(record.id, result.invocation_id);
    assert.equal(record.function_id, 'hist');
    assert.equal(record.function_version, 1);
    assert.equal(record.status, 'completed');
    assert.equal(record.exit_code, 3);
    assert.match(record.error ?? '', /3/);
    assert.equal(record.error_code, null);
    assert.equal(record.key_id, invoker.id);
    assert.equal(record.stdin_bytes, 3);
    assert.equal(record.stdout_bytes, 'in:0123456789abcdefghij\n'.length);
    assert.equal(record.stderr_bytes, 'oops\n'.length);
    assert.equal(record.output_truncated, true);
    assert.equal(record.duration_ms, result.duration_ms);
    assert.ok(record.phases.run_ms > 0);
    assert.ok(Date.parse(record.started_at) >= before - 1000 && Date.parse(record.finished_at) >= Date.parse(record.started_at));

    const output = ok<{ stdout_base64: string; stderr_base64: string; output_truncated: boolean }>(
      await p.client.request(`/invocations/${result.invocation_id}/output`),
    );
    assert.equal(Buffer.from(output.stdout_base64, 'base64').toString(), 'in:0123456789abc'.slice(0, OUTPUT_BYTES));
    assert.equal(Buffer.from(output.stderr_base64, 'base64').toString(), 'oops\n');
    assert.equal(output.output_truncated, true);
    // Neither the environment nor stdin is recorded.
    assert.doesNotMatch(JSON.stringify([record, output]), /do-not-record|HIDDEN_VALUE/);
  });

  it('records timeouts, platform faults and ad-hoc invocations; refusals before the core are not invocations', async () => {
    const timedOut = await p.client.invoke('hist-adhoc', { image: BUSYBOX, command: ['sleep', '5'], timeout_ms: 300 });
    assertError(timedOut, 504, 'FAAS_ERR_TIMEOUT');
    const missing = await p.client.invoke('hist-adhoc', { image: 'faas/no-such-image:never', command: ['true'] });
    assertError(missing, 422, 'FAAS_ERR_IMAGE_NOT_FOUND');
    await p.client.run('hist-adhoc', { image: BUSYBOX, command: ['true'] });
    assertError(await p.client.invoke('hist-adhoc', { image: BUSYBOX, command: [] }), 400, 'FAAS_ERR_INVALID_COMMAND');

    const { invocations } = await list('hist-adhoc');
    assert.deepEqual(
      invocations.map((i) => [i.status, i.error_code, i.function_version]),
      [
        ['completed', null, null],
        ['error', 'FAAS_ERR_IMAGE_NOT_FOUND', null],
        ['timed_out', 'FAAS_ERR_TIMEOUT', null],
      ],
    );
    assert.equal(invocations[2]?.id, timedOut.headers['x-faas-invocation-id']);
    assert.deepEqual(
      (await list('hist-adhoc', '?status=error')).invocations.map((i) => i.error_code),
      ['FAAS_ERR_IMAGE_NOT_FOUND'],
    );
  });

  it('lists newest first, filters by status, key_id, since and until, and pages with the cursor', async () => {
    ok(await p.client.request('/functions', { method: 'POST', body: { id: 'paged', image: BUSYBOX, command: ['true'] } }), 201);
    const other = await newKey(['invoke']);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await p.client.request('/functions/paged/invoke', { method: 'POST', ...(i % 2 ? { key: other.key } : {}) });
      ids.push(ok<{ invocation_id: string }>(res).invocation_id);
    }
    const newestFirst = [...ids].reverse();
    const pages: string[][] = [];
    let cursor: string | null = null;
    do {
      const page = await list('paged', `?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      pages.push(page.invocations.map((i) => i.id));
      cursor = page.next_cursor;
    } while (cursor);
    assert.deepEqual(pages.flat(), newestFirst);
    assert.ok(pages.every((page) => page.length <= 2) && pages.length === 3);

    assert.deepEqual(
      (await list('paged', `?key_id=${other.id}`)).invocations.map((i) => i.id),
      [ids[3], ids[1]],
    );
    assert.deepEqual(
      (await list('paged', '?key_id=admin&status=completed')).invocations.map((i) => i.id),
      [ids[4], ids[2], ids[0]],
    );
    const all = (await list('paged')).invocations;
    const middle = all[2] as Invocation;
    assert.deepEqual(
      (await list('paged', `?since=${encodeURIComponent(middle.started_at)}`)).invocations.map((i) => i.id),
      newestFirst.slice(0, 3),
    );
    assert.deepEqual(
      (await list('paged', `?until=${Date.parse(middle.started_at)}`)).invocations.map((i) => i.id),
      newestFirst.slice(2),
    );
    assert.deepEqual((await list('paged', '?status=timed_out')).invocations, []);
  });

  it('refuses bad queries (400 FAAS_ERR_INVALID_QUERY), unknown invocations (404), and other functions of a limited key (403)', async () => {
    for (const query of ['?status=finished', '?since=last-week', '?until=-5', '?limit=0', '?limit=5000', '?cursor=forged', '?colour=red']) {
      assertError(await p.client.request(`/functions/paged/invocations${query}`), 400, 'FAAS_ERR_INVALID_QUERY');
    }
    assertError(await p.client.request('/invocations/11111111-2222-3333-4444-555555555555'), 404, 'FAAS_ERR_INVOCATION_NOT_FOUND');
    assertError(await p.client.request('/invocations/11111111-2222-3333-4444-555555555555/output'), 404, 'FAAS_ERR_INVOCATION_NOT_FOUND');

    const [record] = (await list('paged')).invocations;
    const limited = await newKey(['history'], ['hist*']);
    assertError(await p.client.request(`/invocations/${record?.id}`, { key: limited.key }), 403, 'FAAS_ERR_FORBIDDEN');
    assertError(await p.client.request(`/invocations/${record?.id}/output`, { key: limited.key }), 403, 'FAAS_ERR_FORBIDDEN');
    assertError(await p.client.request('/functions/paged/invocations', { key: limited.key }), 403, 'FAAS_ERR_FORBIDDEN');
    assert.ok((await list('hist', '', limited.key)).invocations.length > 0);
    const invoker = await newKey(['invoke']);
    assertError(await p.client.request('/functions/paged/invocations', { key: invoker.key }), 403, 'FAAS_ERR_FORBIDDEN');
  });

  it('retention: the store keeps the newest per function and removes the old; removed invocations are 404', async () => {
    const before = (await list('paged')).invocations;
    assert.equal(before.length, 5);
    const store = p.platform.state.store;
    // What the platform's minutely retention runs, with a cap of 2 per function and the configured age.
    const removed = await store.history.prune({ olderThan: Date.now() - p.platform.config.history.maxAgeMs, maxPerFunction: 2 });
    assert.ok(removed >= 3, `removed ${removed}`);
    const kept = (await list('paged')).invocations;
    assert.deepEqual(
      kept.map((i) => i.id),
      before.slice(0, 2).map((i) => i.id),
    );
    assertError(await p.client.request(`/invocations/${before[4]?.id}`), 404, 'FAAS_ERR_INVOCATION_NOT_FOUND');
    assertError(await p.client.request(`/invocations/${before[4]?.id}/output`), 404, 'FAAS_ERR_INVOCATION_NOT_FOUND');
    // Everything older than now goes with a zero age.
    await store.history.prune({ olderThan: Date.now() + 1, maxPerFunction: 1000 });
    assert.deepEqual((await list('paged')).invocations, []);
    // A deleted function's history stays until retention removes it.
    await p.client.request('/functions/hist/invoke', { method: 'POST' });
    assert.equal((await p.client.request('/functions/hist', { method: 'DELETE' })).status, 204);
    assert.equal((await list('hist')).invocations.length, 1);
  });
});
