/**
 * The operator's view of the chain: viem's public client on FAAS_TANGLE_RPC_URL, and `retry`, which
 * every RPC request goes through. A failed request is retried with backoff until it succeeds or the
 * operator stops, so an RPC outage delays calls and loses none; the outage is logged once when it
 * starts and once when it ends, not per request.
 */
import type { Logger } from '@faas/common';
import {
  createPublicClient,
  defineChain,
  type Hex,
  http,
  type PublicClient,
  type TransactionReceipt,
  type Chain as ViemChain,
  zeroAddress,
} from 'viem';
import { TANGLE_ABI } from '../abi/tangle.js';
import { Backoff } from './backoff.js';
import type { OperatorMetrics } from './metrics.js';
import type { Fees, SenderChain } from './sender.js';

/** Thrown by `retry` when the operator stops while a request is being retried. */
export class StoppedError extends Error {
  override readonly name = 'StoppedError';
}

/**
 * The configuration names something the chain does not have (a contract address with no code, a
 * service that does not exist): retrying cannot help. At start-up it stops `faas serve` (exit code
 * 2); found later (the RPC did not answer at start-up) it stops the operator, which /ready and
 * faas_tangle_operator_up then show.
 */
export class OperatorConfigError extends Error {
  override readonly name = 'OperatorConfigError';
}

export interface JobCall {
  jobIndex: number;
  caller: Hex;
  createdAt: bigint;
  resultCount: number;
  completed: boolean;
}

export class ChainClient implements SenderChain {
  readonly client: PublicClient;
  private failing = 0;
  private chain_: ViemChain | undefined;

  constructor(
    rpcUrl: string,
    readonly contract: Hex,
    private readonly metrics: OperatorMetrics,
    private readonly log: Logger,
    private readonly signal: AbortSignal,
  ) {
    // Retries are ours (below), so viem's own are off; a request that hangs counts as a failure.
    this.client = createPublicClient({ transport: http(rpcUrl, { retryCount: 0, timeout: 10_000 }) });
  }

  /** The chain, as viem's transaction helpers want it; known after `connect`. */
  get chain(): ViemChain {
    if (!this.chain_) throw new Error('not connected');
    return this.chain_;
  }

  get chainId(): number {
    return this.chain.id;
  }

  /**
   * Reads the chain id (retrying until the RPC answers) and checks the configuration against the
   * chain: the contract has code, and each service exists. Throws OperatorConfigError when not.
   */
  async connect(serviceIds: readonly bigint[], signal = this.signal): Promise<number> {
    const id = await this.retry('eth_chainId', () => this.client.getChainId(), signal);
    this.chain_ = defineChain({
      id,
      name: `chain ${id}`,
      nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
      rpcUrls: { default: { http: [] } },
    });
    const code = await this.retry('eth_getCode', () => this.client.getCode({ address: this.contract }), signal);
    if (code === undefined || code === '0x') {
      throw new OperatorConfigError(
        `FAAS_TANGLE_CONTRACT=${this.contract} has no code on chain ${id} (the chain of FAAS_TANGLE_RPC_URL): set it to the address of Tangle's contract on this chain`,
      );
    }
    for (const serviceId of serviceIds) {
      let service: { owner: Hex; createdAt: bigint };
      try {
        service = await this.retry(
          'getService',
          () => this.client.readContract({ address: this.contract, abi: TANGLE_ABI, functionName: 'getService', args: [serviceId] }),
          signal,
        );
      } catch (err) {
        if (err instanceof StoppedError) throw err;
        throw new OperatorConfigError(
          `FAAS_TANGLE_CONTRACT=${this.contract} on chain ${id} does not answer getService(${serviceId}) as Tangle's contract does (${shortMessage(err)}): set it to the address of Tangle's contract on this chain`,
        );
      }
      // Tangle answers a service id it never created with an empty record, not a revert.
      if (service.createdAt === 0n && service.owner === zeroAddress) {
        throw new OperatorConfigError(
          `FAAS_TANGLE_SERVICE_IDS names service ${serviceId}, which does not exist on the contract ${this.contract} of chain ${id}: name the services this operator serves (faas tangle status lists a service's operators)`,
        );
      }
    }
    return id;
  }

  /** Runs `request` until it succeeds; throws StoppedError if the operator stops first. */
  async retry<T>(what: string, request: () => Promise<T>, signal = this.signal): Promise<T> {
    const backoff = new Backoff({ baseMs: 250, maxMs: 5_000 });
    for (;;) {
      if (signal.aborted) throw new StoppedError('stopped');
      try {
        const value = await request();
        if (this.failing > 0) {
          this.log.info({ failures: this.failing }, 'the Tangle RPC answers again; catching up');
          this.failing = 0;
        }
        return value;
      } catch (err) {
        if (!isTransient(err)) throw err;
        this.metrics.rpcErrors.inc();
        if (this.failing++ === 0) {
          this.log.warn({ request: what, err: shortMessage(err) }, 'the Tangle RPC does not answer; retrying with backoff');
        }
        await backoff.wait(signal);
      }
    }
  }

  head(signal = this.signal): Promise<bigint> {
    return this.retry('eth_blockNumber', () => this.client.getBlockNumber({ cacheTime: 0 }), signal);
  }

  estimateGas(from: Hex, data: Hex): Promise<bigint> {
    return this.retry('eth_estimateGas', () => this.client.estimateGas({ account: from, to: this.contract, data }));
  }

  pendingNonce(address: Hex): Promise<number> {
    return this.retry('eth_getTransactionCount', () => this.client.getTransactionCount({ address, blockTag: 'pending' }));
  }

  /** What a transaction should pay now: EIP-1559 fees, or a gas price on a chain without them. */
  async fees(): Promise<Fees> {
    try {
      const fees = await this.retry('eth_feeHistory', () => this.client.estimateFeesPerGas({ chain: this.chain }));
      return { type: 'eip1559', maxFeePerGas: fees.maxFeePerGas, maxPriorityFeePerGas: fees.maxPriorityFeePerGas };
    } catch (err) {
      if (isTransient(err) || err instanceof StoppedError) throw err;
      const gasPrice = await this.retry('eth_gasPrice', () => this.client.getGasPrice());
      return { type: 'legacy', gasPrice };
    }
  }

  async sendRawTransaction(raw: Hex): Promise<void> {
    await this.retry('eth_sendRawTransaction', () => this.client.sendRawTransaction({ serializedTransaction: raw }));
  }

  /** The receipt of a transaction mined on the chain the node follows now; undefined when none. */
  receipt(hash: Hex): Promise<Pick<TransactionReceipt, 'status' | 'blockNumber' | 'blockHash'> | undefined> {
    return this.retry('eth_getTransactionReceipt', () =>
      this.client.getTransactionReceipt({ hash }).catch((err: unknown) => {
        if ((err as { name?: string }).name === 'TransactionReceiptNotFoundError') return undefined;
        throw err;
      }),
    );
  }

  async jobCall(serviceId: bigint, callId: bigint): Promise<JobCall> {
    const call = await this.retry('getJobCall', () =>
      this.client.readContract({ address: this.contract, abi: TANGLE_ABI, functionName: 'getJobCall', args: [serviceId, callId] }),
    );
    return {
      jobIndex: call.jobIndex,
      caller: call.caller,
      createdAt: call.createdAt,
      resultCount: call.resultCount,
      completed: call.completed,
    };
  }
}

/**
 * True for failures worth retrying: the node could not be reached or answered with a transport or
 * server error. A revert or a malformed request is not retried (it would fail the same way).
 */
export function isTransient(err: unknown): boolean {
  const name = (err as { name?: string })?.name ?? '';
  if (name === 'ContractFunctionExecutionError' || name === 'ContractFunctionRevertedError' || name === 'ContractFunctionZeroDataError') {
    // A read whose transport failed is wrapped in a ContractFunctionExecutionError too.
    const cause = (err as { cause?: unknown }).cause;
    return cause !== undefined && cause !== err && isTransient(cause);
  }
  if (['HttpRequestError', 'TimeoutError', 'SocketClosedError', 'WebSocketRequestError'].includes(name)) return true;
  if (name === 'LimitExceededRpcError' || name === 'ResourceUnavailableRpcError') return true;
  if (name === 'CallExecutionError' || name === 'EstimateGasExecutionError' || name === 'TransactionExecutionError') {
    const cause = (err as { cause?: unknown }).cause;
    return cause !== undefined && cause !== err && isTransient(cause);
  }
  const code = (err as { code?: string })?.code;
  return code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'ETIMEDOUT' || code === 'UND_ERR_SOCKET';
}

/** True when the node says the call reverts: the contract refuses it (as opposed to a node or account problem). */
export function isRevert(err: unknown): boolean {
  for (let e = err as { name?: string; message?: string; cause?: unknown } | undefined, depth = 0; e && depth < 8; depth++) {
    if (['ExecutionRevertedError', 'ContractFunctionRevertedError', 'RawContractError'].includes(e.name ?? '')) return true;
    if (e.cause === e) break;
    e = e.cause as typeof e;
  }
  return false;
}

export function shortMessage(err: unknown): string {
  const e = err as { shortMessage?: string; message?: string };
  return (e?.shortMessage ?? e?.message ?? String(err)).split('\n')[0] as string;
}
