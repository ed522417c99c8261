/**
 * Puts results on chain with `submitResult`, managing the operator account's nonces and gas itself.
 *
 * Each answer is simulated first (eth_estimateGas): a call the contract would refuse (completed by
 * another operator, a service this account does not serve) costs nothing. Signing and broadcasting
 * are serial, one nonce after the other; the signed transaction is recorded (state.ts) before it is
 * broadcast, so after a crash the same transaction is broadcast again rather than a second answer
 * signed. The receipt is then awaited, rebroadcasting now and then in case a node dropped it; a
 * transaction whose nonce was taken by another is answered again with a fresh nonce.
 */
import type { Logger } from '@faas/common';
import { encodeFunctionData, type Hex, keccak256, type LocalAccount, type TransactionReceipt } from 'viem';
import { TANGLE_ABI } from '../abi/tangle.js';
import { sleep } from './backoff.js';
import { type ChainClient, isRevert, isTransient, StoppedError, shortMessage } from './chain.js';
import type { CallRecord, CallRef, OperatorState } from './state.js';

export type AnswerOutcome =
  | { kind: 'answered'; hash: Hex; block: bigint }
  | { kind: 'completed-elsewhere' }
  | { kind: 'refused'; reason: string };

type SentRecord = Extract<CallRecord, { state: 'sent' }>;

/** Gas estimates get this margin (percent), since state can change between estimate and inclusion. */
const GAS_MARGIN = 25n;
/** Rebroadcast a transaction that is not mined after this many polls. */
const REBROADCAST_POLLS = 10;

export class ResultSender {
  private nonce: number | undefined;
  private lock: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly chain: ChainClient,
    private readonly account: LocalAccount,
    private readonly state: OperatorState,
    private readonly log: Logger,
    private readonly pollMs: number,
    private readonly signal: AbortSignal,
  ) {}

  get address(): Hex {
    return this.account.address;
  }

  /** Answers the call with `result`, or finishes an answer recorded by an earlier run (`sent`). */
  async answer(call: CallRef, result: Hex, sent?: SentRecord): Promise<AnswerOutcome> {
    const { serviceId, callId } = call;
    let record = sent;
    for (;;) {
      if (record) {
        // An answer recorded by an earlier run: broadcast it again (harmless if the node has it).
        if ((await this.broadcast(record.raw)) === 'nonce-taken' && !(await this.lookup(record.hash))) {
          record = undefined;
          continue;
        }
      } else {
        const data = encodeFunctionData({ abi: TANGLE_ABI, functionName: 'submitResult', args: [serviceId, callId, result] });
        let gas: bigint;
        try {
          gas = await this.chain.retry('eth_estimateGas', () =>
            this.chain.client.estimateGas({ account: this.account.address, to: this.chain.contract, data }),
          );
        } catch (err) {
          // A revert is the contract refusing the answer; anything else (no funds, a node that
          // refuses the request) is retried by the caller, never taken as a refusal.
          if (isRevert(err)) return this.refusal(call, err);
          throw err;
        }
        record = await this.serially(() => this.signAndBroadcast(call, data, (gas * (100n + GAS_MARGIN)) / 100n, result));
      }
      const receipt = await this.receipt(record);
      if (receipt === 'replaced') {
        this.log.warn(
          { serviceId: String(serviceId), callId: String(callId), nonce: record.nonce },
          'the answer was not mined and its nonce is taken; answering again',
        );
        record = undefined;
        continue;
      }
      if (receipt.status === 'success') {
        await this.state.setCall(call, {
          state: 'answered',
          hash: record.hash,
          block: receipt.blockNumber.toString(),
          at: Date.now(),
        });
        return { kind: 'answered', hash: record.hash, block: receipt.blockNumber };
      }
      return this.refusal(call, new Error(`submitResult reverted in transaction ${record.hash}`));
    }
  }

  /** The contract refused the answer: completed by someone else, or not ours to answer. */
  private async refusal(call: CallRef, err: unknown): Promise<AnswerOutcome> {
    const onChain = await this.chain.jobCall(call.serviceId, call.callId);
    if (onChain.completed) {
      await this.state.setCall(call, { state: 'answered', at: Date.now() });
      return { kind: 'completed-elsewhere' };
    }
    const reason = shortMessage(err);
    await this.state.setCall(call, { state: 'failed', reason, at: Date.now() });
    return { kind: 'refused', reason };
  }

  /** Runs `task` after every earlier one: nonces are taken and broadcast in order. */
  private serially<T>(task: () => Promise<T>): Promise<T> {
    const run = this.lock.then(task, task);
    this.lock = run.catch(() => undefined);
    return run;
  }

  private async signAndBroadcast(call: CallRef, data: Hex, gas: bigint, result: Hex): Promise<SentRecord> {
    for (;;) {
      if (this.nonce === undefined) {
        this.nonce = await this.chain.retry('eth_getTransactionCount', () =>
          this.chain.client.getTransactionCount({ address: this.account.address, blockTag: 'pending' }),
        );
      }
      const fees = await this.fees();
      const raw = await this.account.signTransaction!({
        chainId: this.chain.chain.id,
        to: this.chain.contract,
        data,
        gas,
        nonce: this.nonce,
        ...fees,
      });
      const record: SentRecord = { state: 'sent', hash: keccak256(raw), raw, nonce: this.nonce, result, at: Date.now() };
      await this.state.setCall(call, record);
      const sent = await this.broadcast(raw);
      if (sent === 'nonce-taken') {
        // Another transaction of this account took the nonce (sent by an earlier run): read it again.
        this.nonce = undefined;
        continue;
      }
      this.nonce++;
      return record;
    }
  }

  private async fees(): Promise<
    { type: 'eip1559'; maxFeePerGas: bigint; maxPriorityFeePerGas: bigint } | { type: 'legacy'; gasPrice: bigint }
  > {
    try {
      const fees = await this.chain.retry('eth_feeHistory', () => this.chain.client.estimateFeesPerGas({ chain: this.chain.chain }));
      return { type: 'eip1559', maxFeePerGas: fees.maxFeePerGas, maxPriorityFeePerGas: fees.maxPriorityFeePerGas };
    } catch (err) {
      if (isTransient(err)) throw err;
      const gasPrice = await this.chain.retry('eth_gasPrice', () => this.chain.client.getGasPrice());
      return { type: 'legacy', gasPrice };
    }
  }

  /** Broadcasts; retries while the node cannot be reached. */
  private async broadcast(raw: Hex): Promise<'sent' | 'nonce-taken'> {
    try {
      await this.chain.retry('eth_sendRawTransaction', () => this.chain.client.sendRawTransaction({ serializedTransaction: raw }));
      return 'sent';
    } catch (err) {
      const message = shortMessage(err) + String((err as { details?: string }).details ?? '');
      if (/already known|known transaction|already imported/i.test(message)) return 'sent';
      if (/nonce too low|nonce is too low|replacement transaction underpriced|nonce has already been used/i.test(message)) {
        return 'nonce-taken';
      }
      throw err;
    }
  }

  /** Waits for the transaction's receipt; 'replaced' when it can never be mined (its nonce is used). */
  private async receipt(record: SentRecord): Promise<TransactionReceipt | 'replaced'> {
    for (let poll = 1; ; poll++) {
      const receipt = await this.lookup(record.hash);
      if (receipt) return receipt;
      if (poll % REBROADCAST_POLLS === 0 && (await this.broadcast(record.raw)) === 'nonce-taken') {
        return (await this.lookup(record.hash)) ?? 'replaced';
      }
      await sleep(this.pollMs, this.signal);
      if (this.signal.aborted) throw new StoppedError('stopped while waiting for a receipt');
    }
  }

  private lookup(hash: Hex): Promise<TransactionReceipt | undefined> {
    return this.chain.retry('eth_getTransactionReceipt', () =>
      this.chain.client.getTransactionReceipt({ hash }).catch((err: unknown) => {
        if ((err as { name?: string }).name === 'TransactionReceiptNotFoundError') return undefined;
        throw err;
      }),
    );
  }
}
