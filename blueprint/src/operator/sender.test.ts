import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { silentLogger } from '@faas/common';
import type { Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { StoppedError } from './chain.js';
import { FakeChain, memoryKv } from './fake-chain.js';
import { bumped, MAX_REPLACEMENTS, ResultSender, replacementFees, type SenderOptions } from './sender.js';
import { type CallRef, OperatorState } from './state.js';

/** Anvil's account 1, a well-known test key. */
const KEY = '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d';

function setUp(options: Partial<SenderOptions> = {}) {
  const chain = new FakeChain();
  const state = new OperatorState(memoryKv(), chain.chainId, chain.contract);
  const stop = new AbortController();
  const sender = new ResultSender(
    chain,
    privateKeyToAccount(KEY),
    state,
    silentLogger,
    { pollMs: 2, confirmations: 0, repriceAfterMs: 20, ...options },
    stop.signal,
  );
  return { chain, state, sender, stop };
}

const call = (callId: bigint): CallRef => ({ serviceId: 0n, callId, submitTx: `0x${callId.toString(16).padStart(64, '0')}` as Hex });
const RESULT: Hex = '0x1234';

async function until(what: string, cond: () => boolean | Promise<boolean>, withinMs = 5000): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`not within ${withinMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** Mines a block every few milliseconds until stopped. */
function miner(chain: FakeChain): { stop(): void } {
  const timer = setInterval(() => chain.mine(), 5);
  return { stop: () => clearInterval(timer) };
}

describe('fees of a replacement', () => {
  it('raise both fees by more than the 10 % nodes require, or follow the network where it asks more', () => {
    for (const fee of [0n, 1n, 7n, 8n, 10n, 1_000_000_007n]) {
      assert.ok(bumped(fee) * 10n >= fee * 11n && bumped(fee) > fee, `${fee} -> ${bumped(fee)}`);
    }
    assert.deepEqual(
      replacementFees(
        { type: 'eip1559', maxFeePerGas: 100n, maxPriorityFeePerGas: 10n },
        { type: 'eip1559', maxFeePerGas: 50n, maxPriorityFeePerGas: 1n },
      ),
      { type: 'eip1559', maxFeePerGas: 113n, maxPriorityFeePerGas: 12n },
    );
    assert.deepEqual(
      replacementFees(
        { type: 'eip1559', maxFeePerGas: 100n, maxPriorityFeePerGas: 10n },
        { type: 'eip1559', maxFeePerGas: 500n, maxPriorityFeePerGas: 40n },
      ),
      { type: 'eip1559', maxFeePerGas: 500n, maxPriorityFeePerGas: 40n },
    );
    assert.deepEqual(replacementFees({ type: 'legacy', gasPrice: 80n }, { type: 'legacy', gasPrice: 1n }), {
      type: 'legacy',
      gasPrice: 90n,
    });
  });
});

describe('ResultSender', { timeout: 20_000 }, () => {
  it('replaces an answer stuck underpriced with the same nonce at higher fees, which unblocks the nonces after it', async () => {
    const { chain, state, sender } = setUp();
    // The estimate is below what the miner takes: as signed, the answers would wait forever.
    chain.minFees = { maxFeePerGas: 20n, maxPriorityFeePerGas: 2n };
    const mining = miner(chain);
    try {
      const [first, second] = await Promise.all([sender.answer(call(1n), RESULT), sender.answer(call(2n), RESULT)]);
      assert.equal(first.kind, 'answered');
      assert.equal(second.kind, 'answered');
      const versions = chain.accepted.filter((tx) => tx.nonce === 0);
      assert.ok(versions.length > 1, 'the first answer was replaced');
      assert.ok(versions.length <= 1 + MAX_REPLACEMENTS);
      for (let i = 1; i < versions.length; i++) {
        const before = versions[i - 1] as (typeof versions)[number];
        const after = versions[i] as (typeof versions)[number];
        assert.ok(after.maxFeePerGas * 10n >= before.maxFeePerGas * 11n, 'maxFeePerGas +10 % at least');
        assert.ok(after.maxPriorityFeePerGas * 10n >= before.maxPriorityFeePerGas * 11n, 'maxPriorityFeePerGas +10 % at least');
      }
      // One transaction per nonce is mined: the replacements never answered a call twice.
      const mined = chain.minedTxs();
      assert.deepEqual(
        mined.map((tx) => [tx.nonce, tx.callId]),
        [
          [0, 1n],
          [1, 2n],
        ],
      );
      const record = await state.call(call(1n));
      assert.equal(record?.state, 'answered');
      assert.equal(record?.state === 'answered' && record.hash, mined[0]?.hash);
      assert.equal(first.kind === 'answered' && first.hash, mined[0]?.hash);
    } finally {
      mining.stop();
    }
  });

  it('stops raising the fees after MAX_REPLACEMENTS, and waits', async () => {
    const { chain, sender, stop } = setUp({ repriceAfterMs: 5 });
    chain.minFees = { maxFeePerGas: 10n ** 30n, maxPriorityFeePerGas: 0n };
    const mining = miner(chain);
    const answering = sender.answer(call(1n), RESULT);
    try {
      await until('the last replacement', () => chain.accepted.length === 1 + MAX_REPLACEMENTS);
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(chain.accepted.length, 1 + MAX_REPLACEMENTS, 'no replacement after the cap');
      assert.ok((chain.accepted.at(-1)?.maxFeePerGas ?? 0n) < 10n * (chain.accepted[0]?.maxFeePerGas ?? 0n));
    } finally {
      stop.abort();
      mining.stop();
    }
    await assert.rejects(answering, StoppedError);
  });

  it('marks a call answered only once its answer is the confirmation depth deep', async () => {
    const { chain, state, sender } = setUp({ confirmations: 3 });
    let done = false;
    const answering = sender.answer(call(1n), RESULT).finally(() => {
      done = true;
    });
    await until('the answer is broadcast', () => chain.pool.size === 1);
    const block = chain.mine();
    assert.equal(block.txs.length, 1);
    chain.mine();
    chain.mine();
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(done, false, 'two blocks on top of it are not three');
    assert.equal((await state.call(call(1n)))?.state, 'sent');
    chain.mine();
    const answered = await answering;
    assert.deepEqual(answered, { kind: 'answered', hash: block.txs[0]?.hash, block: block.number });
    assert.equal((await state.call(call(1n)))?.state, 'answered');
  });

  it('broadcasts the answer again when a reorg drops it before it is confirmed', async () => {
    const { chain, state, sender } = setUp({ confirmations: 2 });
    const answering = sender.answer(call(1n), RESULT);
    await until('the answer is broadcast', () => chain.pool.size === 1);
    const hash = chain.pool.get(0)?.hash;
    chain.mine();
    await new Promise((r) => setTimeout(r, 30)); // the sender sees it mined, not yet deep enough
    assert.equal((await state.call(call(1n)))?.state, 'sent');
    const dropped = chain.reorg(1);
    assert.equal(dropped[0]?.hash, hash);
    assert.equal(chain.pool.size, 0, 'the node forgot it');
    await until('the same answer is broadcast again', () => chain.pool.get(0)?.hash === hash);
    const block = chain.mine();
    chain.mine();
    chain.mine();
    assert.deepEqual(await answering, { kind: 'answered', hash, block: block.number });
    assert.deepEqual(
      chain.minedTxs().map((tx) => tx.hash),
      [hash],
    );
  });

  it('takes an earlier version of a replaced answer being mined as the answer', async () => {
    const { chain, state, sender } = setUp();
    chain.minFees = { maxFeePerGas: 10n ** 30n, maxPriorityFeePerGas: 0n };
    const answering = sender.answer(call(1n), RESULT);
    await until('a replacement', () => chain.accepted.length === 2);
    // Another node kept the first version, and a miner took it.
    const first = chain.accepted[0];
    assert.ok(first);
    chain.pool.delete(0);
    chain.blocks.push({ number: BigInt(chain.blocks.length + 1), txs: [first] });
    assert.deepEqual(await answering, { kind: 'answered', hash: first.hash, block: 1n });
    const record = await state.call(call(1n));
    assert.equal(record?.state === 'answered' && record.hash, first.hash);
  });

  it('resumes an answer an earlier run signed: the same transaction, never a second answer', async () => {
    const { chain, state, sender, stop } = setUp();
    chain.minFees = { maxFeePerGas: 10n ** 30n, maxPriorityFeePerGas: 0n };
    const answering = sender.answer(call(1n), RESULT);
    await until('a replacement', () => chain.accepted.length === 2);
    stop.abort();
    await assert.rejects(answering, StoppedError);
    const record = await state.call(call(1n));
    assert.equal(record?.state, 'sent');
    assert.ok(record?.state === 'sent');
    assert.equal(record.earlier?.length, 1);
    // The next run, on a node that lost its pool.
    chain.pool.clear();
    chain.minFees = { maxFeePerGas: 0n, maxPriorityFeePerGas: 0n };
    const again = new ResultSender(
      chain,
      privateKeyToAccount(KEY),
      state,
      silentLogger,
      { pollMs: 2, confirmations: 0 },
      new AbortController().signal,
    );
    const resumed = again.answer(call(1n), RESULT, record);
    await until('broadcast again', () => chain.pool.size === 1);
    assert.equal(chain.pool.get(0)?.hash, record.hash);
    chain.mine();
    assert.deepEqual(await resumed, { kind: 'answered', hash: record.hash, block: 1n });
    assert.equal(chain.minedTxs().length, 1);
  });
});
