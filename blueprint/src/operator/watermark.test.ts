import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Limiter } from './limiter.js';
import { Watermark } from './watermark.js';

describe('Watermark', () => {
  it('is the last scanned block while nothing is in flight', () => {
    const w = new Watermark(9n);
    assert.equal(w.value, 9n);
    w.scanned(20n);
    assert.equal(w.value, 20n);
  });

  it('stays below the oldest block with a call in flight, whatever order calls finish in', () => {
    const w = new Watermark(9n);
    w.add(12n);
    w.add(12n);
    w.add(15n);
    w.scanned(20n);
    assert.equal(w.value, 11n);
    w.done(15n);
    assert.equal(w.value, 11n, 'a later block finishing first moves nothing');
    w.done(12n);
    assert.equal(w.value, 11n, 'one of two calls of block 12 is still in flight');
    w.done(12n);
    assert.equal(w.value, 20n);
    assert.equal(w.inFlight, 0);
  });
});

describe('Limiter', () => {
  it('runs at most `size` tasks at once, in order, and hands slots straight to waiters', async () => {
    const limiter = new Limiter(2);
    let running = 0;
    let most = 0;
    const order: number[] = [];
    const task = (i: number) =>
      limiter.run(async () => {
        running++;
        most = Math.max(most, running);
        order.push(i);
        await new Promise((r) => setTimeout(r, 5));
        running--;
      });
    await Promise.all([0, 1, 2, 3, 4, 5].map(task));
    assert.equal(most, 2);
    assert.deepEqual(order, [0, 1, 2, 3, 4, 5]);
  });

  it('frees the slot of a task that throws', async () => {
    const limiter = new Limiter(1);
    await assert.rejects(limiter.run(() => Promise.reject(new Error('boom'))));
    assert.equal(await limiter.run(async () => 7), 7);
  });
});
