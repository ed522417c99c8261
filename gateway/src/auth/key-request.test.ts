/** The parts of a POST /keys body whose rules are subtle: RFC 3339 times and function patterns. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FaasError } from '@faas/common';
import { parseKeyRequest, parseRfc3339 } from './key-request.js';

describe('key request', () => {
  it('reads RFC 3339 times, and nothing else', () => {
    assert.equal(parseRfc3339('2030-01-31T12:00:00Z'), Date.UTC(2030, 0, 31, 12));
    assert.equal(parseRfc3339('2030-01-31t12:00:00.5z'), Date.UTC(2030, 0, 31, 12, 0, 0, 500));
    assert.equal(parseRfc3339('2030-01-31T12:00:00+02:00'), Date.UTC(2030, 0, 31, 10));
    for (const bad of [
      '2030-01-31',
      '2030-01-31 12:00:00Z',
      '2030-01-31T12:00:00',
      '2030-02-30T00:00:00Z',
      '2030-01-31T24:00:00Z',
      '1e12',
      'tomorrow',
    ]) {
      assert.equal(parseRfc3339(bad), undefined, bad);
    }
  });

  it('takes function ids and prefixes', () => {
    const now = Date.now();
    const fields = parseKeyRequest({ name: 'n', scopes: ['invoke'], functions: ['a', 'billing-*', '*', 'a'] }, now);
    assert.deepEqual(fields.functions, ['a', 'billing-*', '*']);
    for (const bad of ['', '-a', 'a*b', '**', 'a..b*', 'x'.repeat(129), `${'x'.repeat(128)}*`]) {
      assert.throws(
        () => parseKeyRequest({ name: 'n', scopes: ['invoke'], functions: [bad] }, now),
        (err: unknown) => err instanceof FaasError && err.code === 'FAAS_ERR_INVALID_REQUEST' && err.details?.field === 'functions',
        bad,
      );
    }
  });

  it('a metrics key cannot be limited to some functions: the metrics name every function', () => {
    const now = Date.now();
    for (const scopes of [['metrics'], ['invoke', 'metrics']]) {
      assert.throws(
        () => parseKeyRequest({ name: 'n', scopes, functions: ['a*'] }, now),
        (err: unknown) => err instanceof FaasError && err.details?.field === 'functions' && /metrics/.test(err.message),
        JSON.stringify(scopes),
      );
      assert.deepEqual(parseKeyRequest({ name: 'n', scopes, functions: ['*'] }, now).functions, ['*']);
    }
  });

  it('an admin key cannot be limited to some functions: it could make a key for any other', () => {
    const now = Date.now();
    for (const functions of [['a*'], ['report'], ['a*', 'b']]) {
      for (const scopes of [['admin'], ['invoke', 'admin']]) {
        assert.throws(
          () => parseKeyRequest({ name: 'n', scopes, functions }, now),
          (err: unknown) =>
            err instanceof FaasError &&
            err.code === 'FAAS_ERR_INVALID_REQUEST' &&
            err.details?.field === 'functions' &&
            /admin/.test(err.message),
          JSON.stringify({ scopes, functions }),
        );
      }
    }
    assert.equal(parseKeyRequest({ name: 'n', scopes: ['admin'] }, now).functions, null);
    assert.equal(parseKeyRequest({ name: 'n', scopes: ['admin'], functions: null }, now).functions, null);
    assert.deepEqual(parseKeyRequest({ name: 'n', scopes: ['admin'], functions: ['*'] }, now).functions, ['*']);
    assert.deepEqual(parseKeyRequest({ name: 'n', scopes: ['invoke', 'history'], functions: ['a*'] }, now).functions, ['a*']);
  });

  it('expires_at must be after now', () => {
    const now = Date.UTC(2030, 0, 1);
    assert.equal(parseKeyRequest({ name: 'n', scopes: ['admin'], expires_at: '2030-01-01T00:00:01Z' }, now).expiresAt, now + 1000);
    assert.throws(() => parseKeyRequest({ name: 'n', scopes: ['admin'], expires_at: '2030-01-01T00:00:00Z' }, now), /future/);
  });

  it('refuses names with control or bidirectional formatting characters, and keeps other text', () => {
    const now = Date.now();
    for (const bad of [
      'a\u0000b',
      'tab\there',
      'del\u007f',
      'c1\u0085',
      'rlo\u202eevil',
      'isolate\u2066x\u2069',
      'mark\u200f',
      'alm\u061c',
      '\ud800',
    ]) {
      assert.throws(
        () => parseKeyRequest({ name: bad, scopes: ['admin'] }, now),
        (err: unknown) => err instanceof FaasError && /control or bidirectional/.test(err.message),
        JSON.stringify(bad),
      );
    }
    for (const good of ['billing team', 'équipe', '請求', 'emoji 🚀', 'שם'])
      assert.equal(parseKeyRequest({ name: good, scopes: ['admin'] }, now).name, good);
  });
});
