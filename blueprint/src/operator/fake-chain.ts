/**
 * A chain in memory for the sender's and the call handler's tests (SenderChain): one account's
 * transactions, a node's pool with the replacement rule nodes apply (+10 % on both fees), a miner
 * that takes transactions in nonce order only at or above its minimum fees (so an underpriced one
 * holds back every later nonce), blocks, and reorgs that drop transactions. Not a model of Tangle's
 * contract: a call is completed by the first successful `submitResult` for it.
 */
import type { KvStore } from '@faas/store';
import { decodeFunctionData, type Hex, keccak256, parseTransaction } from 'viem';
import { TANGLE_ABI } from '../abi/tangle.js';
import type { Fees, MinedReceipt, SenderChain } from './sender.js';

export interface FakeTx {
  hash: Hex;
  nonce: number;
  maxFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
  callId: bigint;
}

interface Block {
  number: bigint;
  txs: FakeTx[];
}

const revert = () =>
  Object.assign(new Error('execution reverted: JobAlreadyCompleted'), {
    name: 'EstimateGasExecutionError',
    cause: Object.assign(new Error('execution reverted'), { name: 'ExecutionRevertedError' }),
  });
const refusal = (message: string) => Object.assign(new Error(message), { name: 'RpcRequestError', details: message });

export class FakeChain implements SenderChain {
  readonly contract: Hex = '0x0165878A594ca255338adfa4d48449f69242Eb8F';
  readonly chainId = 31337;
  /** What the miner requires of a transaction: below either, it stays in the pool. */
  minFees = { maxFeePerGas: 0n, maxPriorityFeePerGas: 0n };
  /** What `fees()` answers (the network's estimate). */
  estimate: Fees = { type: 'eip1559', maxFeePerGas: 10n, maxPriorityFeePerGas: 1n };
  readonly pool = new Map<number, FakeTx>();
  readonly blocks: Block[] = [];
  /** Every transaction the node accepted into its pool, in order. */
  readonly accepted: FakeTx[] = [];
  private mined = 0;

  async estimateGas(_from: Hex, data: Hex): Promise<bigint> {
    const { args } = decodeFunctionData({ abi: TANGLE_ABI, data });
    if (this.completedCalls().has(args[1] as bigint)) throw revert();
    return 100_000n;
  }

  async pendingNonce(): Promise<number> {
    let nonce = this.mined;
    while (this.pool.has(nonce)) nonce++;
    return nonce;
  }

  async fees(): Promise<Fees> {
    return this.estimate;
  }

  async sendRawTransaction(raw: Hex): Promise<void> {
    const parsed = parseTransaction(raw);
    const { args } = decodeFunctionData({ abi: TANGLE_ABI, data: parsed.data as Hex });
    const tx: FakeTx = {
      hash: keccak256(raw),
      nonce: parsed.nonce as number,
      maxFeePerGas: parsed.maxFeePerGas ?? 0n,
      maxPriorityFeePerGas: parsed.maxPriorityFeePerGas ?? 0n,
      callId: args[1] as bigint,
    };
    if (tx.nonce < this.mined) throw refusal('nonce too low');
    const held = this.pool.get(tx.nonce);
    if (held?.hash === tx.hash) throw refusal('already known');
    if (held && (tx.maxFeePerGas * 10n < held.maxFeePerGas * 11n || tx.maxPriorityFeePerGas * 10n < held.maxPriorityFeePerGas * 11n)) {
      throw refusal('replacement transaction underpriced');
    }
    this.pool.set(tx.nonce, tx);
    this.accepted.push(tx);
  }

  async receipt(hash: Hex): Promise<MinedReceipt | undefined> {
    for (const block of this.blocks) {
      if (block.txs.some((tx) => tx.hash === hash)) return { status: 'success', blockNumber: block.number };
    }
    return undefined;
  }

  async head(): Promise<bigint> {
    return BigInt(this.blocks.length);
  }

  async jobCall(_serviceId: bigint, callId: bigint): Promise<{ completed: boolean }> {
    return { completed: this.completedCalls().has(callId) };
  }

  /** Mines one block: the pool's transactions from the next nonce on, in order, while each pays the miner's minimum. */
  mine(): Block {
    const txs: FakeTx[] = [];
    for (;;) {
      const tx = this.pool.get(this.mined);
      if (!tx || tx.maxFeePerGas < this.minFees.maxFeePerGas || tx.maxPriorityFeePerGas < this.minFees.maxPriorityFeePerGas) break;
      this.pool.delete(this.mined);
      this.mined++;
      txs.push(tx);
    }
    const block = { number: BigInt(this.blocks.length + 1), txs };
    this.blocks.push(block);
    return block;
  }

  /** Removes the last `depth` blocks; their transactions are dropped (not put back in the pool). */
  reorg(depth: number): FakeTx[] {
    const dropped: FakeTx[] = [];
    for (let i = 0; i < depth; i++) {
      const block = this.blocks.pop();
      if (block) dropped.push(...block.txs);
    }
    this.mined -= dropped.length;
    return dropped;
  }

  /** Every transaction in a block, in order. */
  minedTxs(): FakeTx[] {
    return this.blocks.flatMap((b) => b.txs);
  }

  private completedCalls(): Set<bigint> {
    return new Set(this.minedTxs().map((tx) => tx.callId));
  }
}

/** The platform's key-value store, in memory. */
export function memoryKv(): KvStore & { map: Map<string, string> } {
  const map = new Map<string, string>();
  return {
    map,
    async get(key) {
      return map.get(key);
    },
    async set(key, value) {
      map.set(key, value);
    },
  };
}
