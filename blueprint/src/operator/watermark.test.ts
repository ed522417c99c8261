import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Limiter } from './limiter.js';
import { SavedWatermark, Watermark } from './watermark.js';

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

  it('goes back when a reorg rewinds the scan, below calls still in flight after that block too', () => {
    const w = new Watermark(9n);
    w.scanned(40n);
    w.add(35n);
    assert.equal(w.value, 34n);
    w.rewind(29n);
    assert.equal(w.value, 29n, 'blocks 30.. are read again: none of them counts as finished');
    w.done(35n);
    assert.equal(w.value, 29n);
    w.scanned(40n);
    assert.equal(w.value, 40n);
    w.rewind(50n);
    assert.equal(w.value, 40n, 'a rewind never moves it forward');
  });
});

describe('SavedWatermark', () => {
  it('saves the position forward as calls finish and back when a reorg rewinds it, so a restart re-reads those blocks', async () => {
    const writes: bigint[] = [];
    const w = new Watermark(99n);
    const saved = new SavedWatermark(
      w,
      async (block) => {
        writes.push(block);
      },
      99n,
    );
    await saved.save();
    assert.deepEqual(writes, [], 'nothing moved');
    w.scanned(120n);
    await saved.save();
    assert.equal(saved.value, 120n);
    // A reorg replaced blocks after 110: the re-scan starts at 111, and a restart must start there too.
    w.rewind(110n);
    await saved.save();
    assert.deepEqual(writes, [120n, 110n]);
    assert.equal(saved.value, 110n);
  });

  it('tries a failed write again at the next save, in order', async () => {
    const writes: bigint[] = [];
    let fail = true;
    const errors: unknown[] = [];
    const w = new Watermark(0n);
    const saved = new SavedWatermark(
      w,
      async (block) => {
        if (fail) throw new Error('store down');
        writes.push(block);
      },
      0n,
      (err) => errors.push(err),
    );
    w.scanned(5n);
    await saved.save();
    assert.equal(saved.value, 0n);
    assert.equal(errors.length, 1);
    fail = false;
    w.scanned(6n);
    void saved.save();
    w.rewind(3n);
    await saved.save();
    assert.deepEqual(writes, [3n], 'writes are serial and each writes the value at its turn');
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
