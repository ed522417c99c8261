import assert from 'node:assert/strict';
import { test } from 'node:test';
import { stats } from './kvm-timings.js';

test('percentiles are nearest-rank over the sample', () => {
  const samples = Array.from({ length: 100 }, (_, i) => 100 - i);
  assert.deepEqual(stats(samples), { runs: 100, p50Ms: 50, p99Ms: 99, minMs: 1, maxMs: 100 });
  assert.deepEqual(stats([7.26]), { runs: 1, p50Ms: 7.3, p99Ms: 7.3, minMs: 7.3, maxMs: 7.3 });
  assert.equal(stats([]), undefined);
  // With few runs p99 is the slowest run.
  assert.equal(stats([1, 2, 3, 40])?.p99Ms, 40);
});
