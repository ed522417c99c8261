/**
 * Puts results on chain with `submitResult`, managing the operator account's nonces and gas itself.
 *
 * Each answer is simulated first (eth_estimateGas): a call the contract would refuse (completed by
 * another operator, a service this account does not serve) costs nothing. Signing and broadcasting
 * are serial, one nonce after the other; the signed transaction is recorded (state.ts) before it is
 * broadcast, so after a crash the same transaction is broadcast again rather than a second answer
 * signed. The answer is then followed until it is settled:
 *
 * - Not mined within `repriceAfterMs`: it is replaced, with the same nonce and data, at fees raised
 *   by an eighth on both maxFeePerGas and maxPriorityFeePerGas (nodes take a replacement only at
 *   +10 % on both), or at the network's estimate where that is higher; at most MAX_REPLACEMENTS
 *   times. An answer stuck underpriced would otherwise hold back every later nonce of the account.
 *   Each version is recorded before it is broadcast, and whichever of them is mined is the answer.
 * - Mined: the call is answered only once the block is `confirmations` deep, the depth the operator
 *   reads events at. An answer a reorg drops before then is broadcast again (the same signed
 *   transaction: its nonce is free again).
 * - Its nonce taken by a transaction that is none of its versions: answered again with a fresh nonce.
 */
import type { Logger } from '@faas/common';
import { encodeFunctionData, type Hex, keccak256, type LocalAccount, parseTransaction } from 'viem';
import { TANGLE_ABI } from '../abi/tangle.js';
import { sleep } from './backoff.js';
import { isRevert, StoppedError, shortMessage } from './chain.js';
import type { CallRecord, CallRef, OperatorState } from './state.js';

export type AnswerOutcome =
  | { kind: 'answered'; hash: Hex; block: bigint }
  | { kind: 'completed-elsewhere' }
  | { kind: 'refused'; reason: string };

export type Fees = { type: 'eip1559'; maxFeePerGas: bigint; maxPriorityFeePerGas: bigint } | { type: 'legacy'; gasPrice: bigint };

export interface MinedReceipt {
  status: 'success' | 'reverted';
  blockNumber: bigint;
}

/** What the sender needs of the chain (chain.ts's ChainClient; a fake in the tests). Requests retry until they succeed. */
export interface SenderChain {
  readonly contract: Hex;
  readonly chainId: number;
  /** Throws a revert (isRevert) when the contract would refuse the transaction. */
  estimateGas(from: Hex, data: Hex): Promise<bigint>;
  /** The account's next nonce, counting its transactions waiting in the node's pool. */
  pendingNonce(address: Hex): Promise<number>;
  fees(): Promise<Fees>;
  /** Throws the node's refusal ("nonce too low", "replacement transaction underpriced", ...). */
  sendRawTransaction(raw: Hex): Promise<void>;
  /** The receipt on the chain the node follows now; undefined when the transaction is in no block of it. */
  receipt(hash: Hex): Promise<MinedReceipt | undefined>;
  head(): Promise<bigint>;
  jobCall(serviceId: bigint, callId: bigint): Promise<{ completed: boolean }>;
}

export interface SenderOptions {
  pollMs: number;
  /** Blocks on top of the answer's before the call counts as answered (FAAS_TANGLE_CONFIRMATIONS). */
  confirmations: number;
  /** An answer not mined this long after its broadcast is replaced at higher fees; default max(30 s, 10 polls). */
  repriceAfterMs?: number;
}

type SentRecord = Extract<CallRecord, { state: 'sent' }>;

/** Gas estimates get this margin (percent), since state can change between estimate and inclusion. */
const GAS_MARGIN = 25n;
/** Rebroadcast a transaction that is not mined after this many polls. */
const REBROADCAST_POLLS = 10;
/** An answer is replaced at higher fees at most this many times (fees then at most about 3.2 times the first, unless the network's estimate is higher). */
export const MAX_REPLACEMENTS = 10;

/** A fee raised by an eighth (rounded up, at least 1 wei): above the +10 % nodes require of a replacement. */
export function bumped(fee: bigint): bigint {
  const raise = (fee + 7n) / 8n;
  return fee + (raise > 0n ? raise : 1n);
}

/** The fees of the replacement of a transaction that paid `old`: bumped, or the network's `fresh` estimate where higher. */
export function replacementFees(old: Fees, fresh: Fees): Fees {
  const most = (a: bigint, b: bigint) => (a > b ? a : b);
  if (old.type === 'eip1559') {
    const freshMax = fresh.type === 'eip1559' ? fresh.maxFeePerGas : fresh.gasPrice;
    const freshTip = fresh.type === 'eip1559' ? fresh.maxPriorityFeePerGas : fresh.gasPrice;
    const maxPriorityFeePerGas = most(bumped(old.maxPriorityFeePerGas), freshTip);
    return { type: 'eip1559', maxFeePerGas: most(most(bumped(old.maxFeePerGas), freshMax), maxPriorityFeePerGas), maxPriorityFeePerGas };
  }
  return { type: 'legacy', gasPrice: most(bumped(old.gasPrice), fresh.type === 'legacy' ? fresh.gasPrice : fresh.maxFeePerGas) };
}

export class ResultSender {
  private nonce: number | undefined;
  private lock: Promise<unknown> = Promise.resolve();
  private readonly repriceAfterMs: number;

  constructor(
    private readonly chain: SenderChain,
    private readonly account: LocalAccount,
    private readonly state: OperatorState,
    private readonly log: Logger,
    private readonly options: SenderOptions,
    private readonly signal: AbortSignal,
  ) {
    this.repriceAfterMs = options.repriceAfterMs ?? Math.max(30_000, 10 * options.pollMs);
  }

  get address(): Hex {
    return this.account.address;
  }

  /** Answers the call with `result`, or finishes an answer recorded by an earlier run (`sent`). */
  async answer(call: CallRef, result: Hex, sent?: SentRecord): Promise<AnswerOutcome> {
    const { serviceId, callId } = call;
    let record = sent;
    if (record && (await this.rebroadcast(record)) === 'replaced') record = undefined;
    for (;;) {
      if (!record) {
        const data = encodeFunctionData({ abi: TANGLE_ABI, functionName: 'submitResult', args: [serviceId, callId, result] });
        let gas: bigint;
        try {
          gas = await this.chain.estimateGas(this.account.address, data);
        } catch (err) {
          // A revert is the contract refusing the answer; anything else (no funds, a node that
          // refuses the request) is retried by the caller, never taken as a refusal.
          if (isRevert(err)) return this.refusal(call, err);
          throw err;
        }
        record = await this.serially(() => this.signAndBroadcast(call, data, (gas * (100n + GAS_MARGIN)) / 100n, result));
      }
      const settled = await this.settle(call, record);
      if (settled === 'replaced') {
        this.log.warn(
          { serviceId: String(serviceId), callId: String(callId), nonce: record.nonce },
          'the answer was not mined and its nonce is taken; answering again',
        );
        record = undefined;
        continue;
      }
      if (settled.receipt.status === 'success') {
        await this.state.setCall(call, {
          state: 'answered',
          hash: settled.hash,
          block: settled.receipt.blockNumber.toString(),
          at: Date.now(),
        });
        return { kind: 'answered', hash: settled.hash, block: settled.receipt.blockNumber };
      }
      return this.refusal(call, new Error(`submitResult reverted in transaction ${settled.hash}`));
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
      this.nonce ??= await this.chain.pendingNonce(this.account.address);
      const nonce = this.nonce;
      const raw = await this.sign({ data, gas, nonce, fees: await this.chain.fees() });
      const record: SentRecord = { state: 'sent', hash: keccak256(raw), raw, nonce, result, at: Date.now() };
      await this.state.setCall(call, record);
      const sent = await this.broadcast(raw);
      if (sent === 'nonce-used' || sent === 'nonce-held') {
        // Another transaction of this account holds the nonce (sent by an earlier run): read it again.
        this.nonce = undefined;
        continue;
      }
      if (sent === 'too-cheap') {
        this.log.warn(
          { serviceId: String(call.serviceId), callId: String(call.callId), nonce },
          'the node refuses the answer at the fees estimated; it is replaced at higher ones',
        );
      }
      this.nonce = nonce + 1;
      return record;
    }
  }

  private sign(tx: { data: Hex; gas: bigint; nonce: number; fees: Fees }): Promise<Hex> {
    const common = { chainId: this.chain.chainId, to: this.chain.contract, data: tx.data, gas: tx.gas, nonce: tx.nonce };
    const fees = tx.fees;
    return (this.account.signTransaction as NonNullable<LocalAccount['signTransaction']>)(
      fees.type === 'eip1559'
        ? { ...common, type: 'eip1559', maxFeePerGas: fees.maxFeePerGas, maxPriorityFeePerGas: fees.maxPriorityFeePerGas }
        : { ...common, type: 'legacy', gasPrice: fees.gasPrice },
    );
  }

  /**
   * Broadcasts; the node's transport failures are retried (chain.ts). 'nonce-used': a mined
   * transaction has the nonce; 'nonce-held': one in the node's pool has it, at fees this one does not
   * beat by enough to replace it; 'too-cheap': the node takes no transaction at these fees (below
   * its minimum or the block's base fee), so it waits to be replaced at higher ones.
   */
  private async broadcast(raw: Hex): Promise<'sent' | 'nonce-used' | 'nonce-held' | 'too-cheap'> {
    try {
      await this.chain.sendRawTransaction(raw);
      return 'sent';
    } catch (err) {
      const message = shortMessage(err) + String((err as { details?: string }).details ?? '');
      if (/already known|known transaction|already imported|already in (the )?(tx)?pool/i.test(message)) return 'sent';
      if (/nonce too low|nonce is too low|nonce has already been used/i.test(message)) return 'nonce-used';
      if (/replacement transaction underpriced|replacement fee too low/i.test(message)) return 'nonce-held';
      if (/underpriced|fee too low|less than (the )?block base fee|fee cap less than/i.test(message)) return 'too-cheap';
      throw err;
    }
  }

  /** Broadcasts the answer again; 'replaced' when its nonce went to a transaction that is none of its versions. */
  private async rebroadcast(record: SentRecord): Promise<'ok' | 'replaced'> {
    if ((await this.broadcast(record.raw)) !== 'nonce-used') return 'ok';
    return (await this.mined(record)) ? 'ok' : 'replaced';
  }

  /** The version of the answer that is mined, with its receipt, if one is. */
  private async mined(record: SentRecord): Promise<{ hash: Hex; receipt: MinedReceipt } | undefined> {
    for (const hash of [record.hash, ...(record.earlier ?? []).slice().reverse()]) {
      const receipt = await this.chain.receipt(hash);
      if (receipt) return { hash, receipt };
    }
    return undefined;
  }

  /**
   * Follows the answer until one of its versions is mined `confirmations` deep: re-broadcast now and
   * then, replaced at higher fees while it is not mined, broadcast again when a reorg drops it.
   */
  private async settle(call: CallRef, first: SentRecord): Promise<{ hash: Hex; receipt: MinedReceipt } | 'replaced'> {
    const ids = { serviceId: String(call.serviceId), callId: String(call.callId), nonce: first.nonce };
    let record = first;
    let broadcastAt = Date.now();
    let polls = 0;
    let minedIn: bigint | undefined;
    let capped = false;
    for (;;) {
      const found = await this.mined(record);
      if (found) {
        const head = await this.chain.head();
        if (head - found.receipt.blockNumber >= BigInt(this.options.confirmations)) return found;
        minedIn = found.receipt.blockNumber;
      } else if (minedIn !== undefined) {
        this.log.warn({ ...ids, block: minedIn.toString() }, 'a reorg dropped our answer before it was confirmed; broadcasting it again');
        minedIn = undefined;
        polls = 0;
        broadcastAt = Date.now();
        if ((await this.rebroadcast(record)) === 'replaced') return 'replaced';
      } else {
        polls++;
        if (Date.now() - broadcastAt >= this.repriceAfterMs && !capped) {
          if ((record.earlier?.length ?? 0) >= MAX_REPLACEMENTS) {
            capped = true;
            this.log.warn(
              { ...ids, replacements: MAX_REPLACEMENTS },
              'the answer is not mined at the highest fees this operator offers; it waits (check the account has funds for gas)',
            );
          } else {
            const next = await this.replace(call, record);
            if (next === 'replaced') return 'replaced';
            record = next;
            broadcastAt = Date.now();
            polls = 0;
          }
        } else if (polls % REBROADCAST_POLLS === 0 && (await this.rebroadcast(record)) === 'replaced') {
          return 'replaced';
        }
      }
      await sleep(this.options.pollMs, this.signal);
      if (this.signal.aborted) throw new StoppedError('stopped while waiting for a receipt');
    }
  }

  /** Signs the answer again with the same nonce at higher fees, records it (with the versions before it), broadcasts it. */
  private async replace(call: CallRef, record: SentRecord): Promise<SentRecord | 'replaced'> {
    const tx = parseTransaction(record.raw);
    const old: Fees =
      tx.type === 'eip1559'
        ? { type: 'eip1559', maxFeePerGas: tx.maxFeePerGas ?? 0n, maxPriorityFeePerGas: tx.maxPriorityFeePerGas ?? 0n }
        : { type: 'legacy', gasPrice: tx.gasPrice ?? 0n };
    const fees = replacementFees(old, await this.chain.fees());
    const raw = await this.sign({ data: tx.data ?? '0x', gas: tx.gas ?? 0n, nonce: record.nonce, fees });
    const next: SentRecord = { ...record, hash: keccak256(raw), raw, at: Date.now(), earlier: [...(record.earlier ?? []), record.hash] };
    await this.state.setCall(call, next);
    this.log.info(
      {
        serviceId: String(call.serviceId),
        callId: String(call.callId),
        nonce: record.nonce,
        replaces: record.hash,
        tx: next.hash,
        ...(fees.type === 'eip1559'
          ? { maxFeePerGas: fees.maxFeePerGas.toString(), maxPriorityFeePerGas: fees.maxPriorityFeePerGas.toString() }
          : { gasPrice: fees.gasPrice.toString() }),
      },
      'the answer is not mined; replacing it at higher fees',
    );
    // 'nonce-held' or 'too-cheap': the node wants more than this; the next replacement offers it.
    if ((await this.broadcast(raw)) === 'nonce-used' && !(await this.mined(next))) return 'replaced';
    return next;
  }
}
