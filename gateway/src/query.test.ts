/**
 * The query parameters of the list routes: times, limits, cursors and unknown or repeated names;
 * and every other route refusing any parameter (a parameter is never ignored).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { FaasError } from '@faas/common';
import { DOCUMENTED_QUERY, PROBES, parseLimit, parseTime, readQuery, refuseUndeclaredQuery } from './query.js';
import { openApiDocument } from './routes.js';
import { startTestGateway } from './test-fixtures.js';

const invalidQuery = (field: string) => (err: unknown) =>
  err instanceof FaasError && err.code === 'FAAS_ERR_INVALID_QUERY' && err.details?.field === field;

describe('list query parameters', () => {
  it('reads RFC 3339 times and epoch milliseconds', () => {
    assert.equal(parseTime('since', '2026-01-31T12:00:00Z'), Date.UTC(2026, 0, 31, 12));
    assert.equal(parseTime('since', '2026-01-31 12:00:00.5+01:00'), Date.UTC(2026, 0, 31, 11, 0, 0, 500));
    assert.equal(parseTime('since', '2028-02-29T00:00:00z'), Date.UTC(2028, 1, 29));
    assert.equal(parseTime('until', '1700000000000'), 1_700_000_000_000);
    assert.equal(parseTime('until', undefined), undefined);
  });

  it('refuses a day or a time that does not exist instead of rolling it over', () => {
    for (const bad of [
      '2026-02-30T00:00:00Z',
      '2026-02-29T00:00:00Z',
      '2026-04-31T00:00:00Z',
      '2026-13-01T00:00:00Z',
      '2026-01-31T24:00:00Z',
      '2026-01-31T12:60:00Z',
      '2026-01-31T12:00:60Z',
      '1969-12-31T23:59:59Z',
      '-1',
    ]) {
      assert.throws(() => parseTime('since', bad), invalidQuery('since'), bad);
    }
  });

  it('limits are 1-1000; unknown and repeated parameters are refused by name', () => {
    assert.equal(parseLimit(undefined), 100);
    assert.equal(parseLimit('1000'), 1000);
    for (const bad of ['0', '1001', '1e3', '-1', '', ' 1']) assert.throws(() => parseLimit(bad), invalidQuery('limit'), bad);
    assert.throws(() => readQuery({ sort: 'id' }, ['limit']), invalidQuery('sort'));
    assert.throws(() => readQuery({ limit: ['1', '2'] }, ['limit']), invalidQuery('limit'));
  });
});

describe('routes that take no query string', () => {
  it('knows the query parameters of each operation from the document: the list routes have some, the rest none', () => {
    assert.deepEqual(DOCUMENTED_QUERY.get('GET /functions'), ['limit', 'cursor']);
    assert.deepEqual(DOCUMENTED_QUERY.get('HEAD /keys'), ['limit', 'cursor']);
    assert.deepEqual(DOCUMENTED_QUERY.get('GET /dead-letters'), ['function_id', 'limit', 'cursor']);
    assert.deepEqual(DOCUMENTED_QUERY.get('GET /functions/{function_id}/invocations'), [
      'status',
      'since',
      'until',
      'key_id',
      'limit',
      'cursor',
    ]);
    for (const op of ['GET /functions/{function_id}', 'POST /functions', 'GET /metrics', 'POST /functions/{function_id}/invoke']) {
      assert.deepEqual(DOCUMENTED_QUERY.get(op), [], op);
    }
    assert.throws(() => refuseUndeclaredQuery('GET', '/functions/:function_id', { foo: '1' }), invalidQuery('foo'));
    assert.throws(() => refuseUndeclaredQuery('HEAD', '/keys/:key_id', { x: '' }), invalidQuery('x'));
    assert.doesNotThrow(() => refuseUndeclaredQuery('GET', '/functions/:function_id', {}));
    // The list routes read their own (readQuery); routes the document does not describe are left alone.
    assert.doesNotThrow(() => refuseUndeclaredQuery('GET', '/functions', { foo: '1' }));
    assert.doesNotThrow(() => refuseUndeclaredQuery('GET', '/console/*', { v: '1' }));
    assert.doesNotThrow(() => refuseUndeclaredQuery('GET', undefined, { v: '1' }));
  });

  it('every documented operation documents the 400 FAAS_ERR_INVALID_QUERY it answers', () => {
    const paths = openApiDocument.paths as Record<string, Record<string, { responses?: Record<string, unknown> }>>;
    for (const op of DOCUMENTED_QUERY.keys()) {
      const [method, template] = op.split(' ') as [string, string];
      if (PROBES.has(template)) continue;
      const refusal = paths[template]?.[method.toLowerCase()]?.responses?.['400'];
      assert.ok(refusal, `${op} documents no 400`);
      assert.match(JSON.stringify(refusal), /FAAS_ERR_INVALID_QUERY/, `${op}: its 400 does not name FAAS_ERR_INVALID_QUERY`);
    }
  });

  it('every operation of the API refuses an unknown query parameter by name (400), and does nothing', async () => {
    const g = await startTestGateway();
    try {
      const created = await g.call('POST', '/functions', { body: { id: 'greet', image: 'faas/busybox:latest', command: ['echo', 'hi'] } });
      assert.equal(created.statusCode, 201, created.body);
      const key = await g.newKey(['history']);
      const values: Record<string, string> = { function_id: 'greet', invocation_id: randomUUID(), key_id: key.id };
      const ran = g.executor.requests.length;
      for (const op of DOCUMENTED_QUERY.keys()) {
        const [method, template] = op.split(' ') as [string, string];
        if (PROBES.has(template)) {
          // The probes ignore a query string (a load balancer's tag or cache-buster).
          assert.ok([200, 503].includes((await g.call(method, `${template}?foo=1`)).statusCode), op);
          continue;
        }
        const path = template.replace(/\{([a-z_]+)\}/g, (_all, name: string) => values[name] ?? 'x');
        const body = method === 'POST' || method === 'PATCH' ? {} : undefined;
        const res = await g.call(method, `${path}?foo=1`, body === undefined ? {} : { body });
        assert.equal(res.statusCode, 400, `${op}: ${res.body}`);
        if (method === 'HEAD') continue;
        const answer = res.json() as { code: string; field: string; error: string };
        assert.equal(answer.code, 'FAAS_ERR_INVALID_QUERY', op);
        assert.equal(answer.field, 'foo', op);
        assert.match(answer.error, /unknown query parameter "foo"/, op);
      }
      // Refused before the route ran: nothing was removed, revoked or run.
      assert.equal((await g.call('GET', '/functions/greet')).statusCode, 200);
      assert.equal((await g.call('GET', '/metrics', { key: key.key })).statusCode, 403, 'the key still works (not revoked)');
      assert.equal(g.executor.requests.length, ran);
      // An empty query string is no parameter.
      assert.equal((await g.call('GET', '/functions/greet?')).statusCode, 200);
    } finally {
      await g.close();
    }
  });
});
