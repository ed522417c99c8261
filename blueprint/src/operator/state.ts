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
 * A call's record follows it through its states, each written before the step it protects:
 *
 *   running    before the invocation is handed to the invocation core (with its id): a restart that
 *              finds a call `running` knows it may have run, wholly or in part, and never runs it
 *              again: it answers FAAS_ERR_WORKER_LOST (at most once: docs/tangle-jobs.md)
 *   unstarted  a shutdown refused or cancelled the invocation before its command started: it runs
 *              after the restart, as a call never seen
 *   ran        the result is known, not yet signed: a restart posts it without running the call
 *   sent       the answer is signed (the transaction, and every earlier version of it replaced at a
 *              higher fee): a restart broadcasts the same transaction again, never a second answer
 *   answered   our answer is `FAAS_TANGLE_CONFIRMATIONS` blocks deep (or another operator's is mined)
 *   failed     the contract refuses our answer
 */
import type { ExecutorKind } from '@faas/common';
import type { KvStore } from '@faas/store';
import type { Hex } from 'viem';

/** One job call: its service, its id, and the transaction that submitted it. */
export interface CallRef {
  serviceId: bigint;
  callId: bigint;
  submitTx: Hex;
}

export type CallRecord =
  /** The call's invocation is being handed to the invocation core, or runs: what its history record needs. */
  | {
      state: 'running';
      invocationId: string;
      functionId: string;
      functionVersion: number | null;
      executor: ExecutorKind;
      stdinBytes: number;
      startedAt: number;
      at: number;
    }
  /** A shutdown refused or cancelled the invocation before its command started. */
  | { state: 'unstarted'; invocationId: string; at: number }
  /** The result, to be signed and sent. */
  | { state: 'ran'; result: Hex; at: number }
  /**
   * The answer is signed and recorded; it may or may not have reached the chain. `earlier`: the
   * hashes of the versions it replaced (same nonce, lower fees), any of which may be the one mined.
   */
  | { state: 'sent'; hash: Hex; raw: Hex; nonce: number; result: Hex; at: number; earlier?: Hex[] }
  /** Our answer is mined and deep enough (hash), or the call was completed on chain by another operator (hash absent). */
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
