/** The token buckets, on a clock the test moves. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_RETRY_AFTER_S, RateLimiter } from './rate-limit.js';

function limiter(options: { maxBuckets?: number; sweepEveryMs?: number } = {}) {
  const clock = { now: 0 };
  return { clock, limiter: new RateLimiter({ ...options, now: () => clock.now }) };
}

describe('rate limiter', () => {
  it('allows a burst, then one request per token refilled', () => {
    const { clock, limiter: l } = limiter();
    const limit = { perSecond: 2, burst: 3 };
    for (let i = 0; i < 3; i++) assert.equal(l.take('k', limit), 0);
    assert.equal(l.take('k', limit), 1, 'Retry-After is whole seconds, at least 1');
    clock.now += 499;
    assert.equal(l.take('k', limit), 1);
    clock.now += 2;
    assert.equal(l.take('k', limit), 0, 'half a second later there is one token');
    assert.equal(l.take('k', limit), 1);
    clock.now += 10_000;
    for (let i = 0; i < 3; i++) assert.equal(l.take('k', limit), 0, 'refills up to the burst, not beyond');
    assert.ok(l.take('k', limit) > 0);
  });

  it('Retry-After is the whole seconds until the next token', () => {
    const { limiter: l } = limiter();
    const slow = { perSecond: 0.1, burst: 1 };
    assert.equal(l.take('slow', slow), 0);
    assert.equal(l.take('slow', slow), 10);
    const fast = { perSecond: 1000, burst: 1 };
    assert.equal(l.take('fast', fast), 0);
    assert.equal(l.take('fast', fast), 1);
  });

  it('Retry-After stays a whole number of seconds for the slowest rates the API accepts', () => {
    const { limiter: l } = limiter();
    // per_second only has to be above 0: 5e-324 (the smallest double) would need Infinity seconds.
    for (const perSecond of [Number.MIN_VALUE, 1e-300, 1e-9]) {
      const limit = { perSecond, burst: 1 };
      assert.equal(l.take(`k${perSecond}`, limit), 0);
      const retryAfter = l.take(`k${perSecond}`, limit);
      assert.ok(Number.isSafeInteger(retryAfter), `${perSecond}/s: ${retryAfter}`);
      assert.match(String(retryAfter), /^[0-9]+$/, 'delta-seconds are digits (RFC 9110)');
      assert.ok(retryAfter >= 1 && retryAfter <= MAX_RETRY_AFTER_S);
    }
    assert.equal(l.take('k1e-300', { perSecond: 1e-300, burst: 1 }), MAX_RETRY_AFTER_S);
  });

  it('keeps one bucket per key', () => {
    const { limiter: l } = limiter();
    const limit = { perSecond: 1, burst: 1 };
    assert.equal(l.take('a', limit), 0);
    assert.equal(l.take('b', limit), 0);
    assert.ok(l.take('a', limit) > 0);
    assert.ok(l.take('b', limit) > 0);
  });

  it('drops buckets that are full again, and never holds more than its cap', () => {
    const { clock, limiter: l } = limiter({ maxBuckets: 100, sweepEveryMs: 1000 });
    const limit = { perSecond: 10, burst: 5 };
    for (let i = 0; i < 50; i++) l.take(`k${i}`, limit);
    assert.equal(l.size, 50);
    clock.now += 1001;
    l.take('fresh', limit);
    assert.equal(l.size, 1, 'idle buckets, full again, were swept');
    for (let i = 0; i < 1000; i++) l.take(`m${i}`, limit);
    assert.equal(l.size, 100);
    // The most recently used are kept.
    for (let i = 0; i < 5; i++) l.take('m999', limit);
    assert.ok(l.take('m999', limit) > 0, 'a busy bucket was not evicted');
  });

  it('a bucket still refilling survives the sweep', () => {
    const { clock, limiter: l } = limiter({ sweepEveryMs: 100 });
    const limit = { perSecond: 1, burst: 2 };
    l.take('k', limit);
    l.take('k', limit);
    clock.now += 150;
    l.take('other', limit);
    assert.equal(l.size, 2);
    assert.ok(l.take('k', limit) > 0, 'still empty');
  });
});
