/** The query parameters of the list routes: times, limits, cursors and unknown or repeated names. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FaasError } from '@faas/common';
import { parseLimit, parseTime, readQuery } from './query.js';

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
