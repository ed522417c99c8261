/**
 * The operator's durable state, in the platform's key-value store (`store.kv`), so that a restart
 * resumes where the last run finished:
 *
 *   tangle:<chainId>:<contract>:block                   the last block whose calls are all finished
 *   tangle:<chainId>:<contract>:call:<service>:<call>:<submitJob tx>   one record per call it dealt with
 *
 * A call is named with the transaction that submitted it too: after a reorg deeper than the
 * confirmation depth, a call id can come back as another customer's call, which must not inherit
 * the vanished call's record.
 * A call's record is written before its answer is broadcast (with the signed transaction), so a
 * crash between signing and mining is recovered by broadcasting the same transaction again, not by
 * answering twice.
 */
import type { KvStore } from '@faas/store';
import type { Hex } from 'viem';

/** One job call: its service, its id, and the transaction that submitted it. */
export interface CallRef {
  serviceId: bigint;
  callId: bigint;
  submitTx: Hex;
}

export type CallRecord =
  /** The answer is signed and recorded; it may or may not have reached the chain. */
  | { state: 'sent'; hash: Hex; raw: Hex; nonce: number; result: Hex; at: number }
  /** Our answer is mined (hash), or the call was completed on chain by another operator (hash absent). */
  | { state: 'answered'; hash?: Hex; block?: string; at: number }
  /** It cannot be answered (the contract refuses our answer); `reason` says why. */
  | { state: 'failed'; reason: string; at: number };

export class OperatorState {
  private readonly prefix: string;

  constructor(
    private readonly kv: KvStore,
    chainId: number,
    contract: string,
  ) {
    this.prefix = `tangle:${chainId}:${contract.toLowerCase()}`;
  }

  async lastBlock(): Promise<bigint | undefined> {
    const value = await this.kv.get(`${this.prefix}:block`);
    return value === undefined ? undefined : BigInt(value);
  }

  async setLastBlock(block: bigint): Promise<void> {
    await this.kv.set(`${this.prefix}:block`, block.toString());
  }

  async call(ref: CallRef): Promise<CallRecord | undefined> {
    const value = await this.kv.get(this.callKey(ref));
    return value === undefined ? undefined : (JSON.parse(value) as CallRecord);
  }

  async setCall(ref: CallRef, record: CallRecord): Promise<void> {
    await this.kv.set(this.callKey(ref), JSON.stringify(record));
  }

  private callKey(ref: CallRef): string {
    return `${this.prefix}:call:${ref.serviceId}:${ref.callId}:${ref.submitTx.toLowerCase()}`;
  }
}
