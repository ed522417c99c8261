/**
 * The customer's side of the blueprint: submit a job call to Tangle's contract and wait for its
 * result, and read a service's and a call's state; and the developer's: create the blueprint on
 * chain from its definition (definition.ts). `faas tangle submit|status|blueprint create` are built
 * on it, and so are the end-to-end tests and the bench.
 */
import {
  type Chain,
  createPublicClient,
  createWalletClient,
  defineChain,
  type Hex,
  hexToBytes,
  http,
  type PublicClient,
  parseEventLogs,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { decodeJobResultSubmitted, JOB_RESULT_SUBMITTED_TOPIC, type JobResultEvent } from './abi/events.js';
import { decodeResult, type JobResult } from './abi/results.js';
import { TANGLE_ABI } from './abi/tangle.js';
import type { BlueprintDefinitionArg } from './definition.js';

export interface Submitted {
  serviceId: bigint;
  callId: bigint;
  hash: Hex;
  blockNumber: bigint;
}

export interface Answered {
  result: JobResult;
  /** The result's bytes as posted (undecodable ones are reported by `error` below instead of `result`). */
  raw: Hex;
  operator: Hex;
  hash: Hex;
  blockNumber: bigint;
}

export interface CreatedBlueprint {
  blueprintId: bigint;
  owner: Hex;
  hash: Hex;
  blockNumber: bigint;
}

/** What `waitForResult` reports on each poll, for a progress line. */
export interface WaitPoll {
  /** The chain's head when polled. */
  head: bigint;
  elapsedMs: number;
}

export interface ServiceInfo {
  id: bigint;
  active: boolean;
  blueprintId: bigint;
  owner: Hex;
  operators: readonly Hex[];
  status: number;
}

export class TangleClient {
  readonly client: PublicClient;
  private chain: Chain | undefined;

  constructor(
    readonly rpcUrl: string,
    readonly contract: Hex,
  ) {
    this.client = createPublicClient({ transport: http(rpcUrl, { timeout: 15_000 }) });
  }

  private async chainOf(): Promise<Chain> {
    if (!this.chain) {
      const id = await this.client.getChainId();
      this.chain = defineChain({
        id,
        name: `chain ${id}`,
        nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
        rpcUrls: { default: { http: [this.rpcUrl] } },
      });
    }
    return this.chain;
  }

  private async wallet(key: Hex) {
    const account = privateKeyToAccount(key);
    const chain = await this.chainOf();
    return createWalletClient({ account, chain, transport: http(this.rpcUrl, { timeout: 15_000 }) });
  }

  /** Sends `submitJob(serviceId, job, inputs)` signed by `key`, and waits until it is mined. */
  async submit(key: Hex, serviceId: bigint, job: number, inputs: Hex): Promise<Submitted> {
    const wallet = await this.wallet(key);
    const hash = await wallet.writeContract({
      address: this.contract,
      abi: TANGLE_ABI,
      functionName: 'submitJob',
      args: [serviceId, job, inputs],
    });
    const receipt = await this.client.waitForTransactionReceipt({ hash, pollingInterval: 100, timeout: 120_000 });
    if (receipt.status !== 'success') throw new Error(`submitJob reverted (transaction ${hash})`);
    const [event] = parseEventLogs({ abi: TANGLE_ABI, eventName: 'JobSubmitted', logs: receipt.logs, strict: false });
    if (!event?.args.callId && event?.args.callId !== 0n) throw new Error(`submitJob emitted no JobSubmitted (transaction ${hash})`);
    return { serviceId, callId: event.args.callId as bigint, hash, blockNumber: receipt.blockNumber };
  }

  /**
   * Sends `createBlueprint(definition)` signed by `key` (the blueprint's owner from then on), waits
   * until it is mined and returns the new blueprint's id from its `BlueprintCreated` event.
   */
  async createBlueprint(key: Hex, definition: BlueprintDefinitionArg): Promise<CreatedBlueprint> {
    const wallet = await this.wallet(key);
    const hash = await wallet.writeContract({
      address: this.contract,
      abi: TANGLE_ABI,
      functionName: 'createBlueprint',
      args: [definition as never],
    });
    const receipt = await this.client.waitForTransactionReceipt({ hash, pollingInterval: 100, timeout: 120_000 });
    if (receipt.status !== 'success') throw new Error(`createBlueprint reverted (transaction ${hash})`);
    const [event] = parseEventLogs({ abi: TANGLE_ABI, eventName: 'BlueprintCreated', logs: receipt.logs });
    if (!event) throw new Error(`createBlueprint emitted no BlueprintCreated (transaction ${hash})`);
    return { blueprintId: event.args.blueprintId, owner: event.args.owner, hash, blockNumber: receipt.blockNumber };
  }

  /** The blueprint's definition as the contract keeps it (display strings are not kept on chain). */
  async blueprintDefinition(blueprintId: bigint) {
    return this.client.readContract({
      address: this.contract,
      abi: TANGLE_ABI,
      functionName: 'getBlueprintDefinition',
      args: [blueprintId],
    });
  }

  /** keccak256(abi.encode(definition)) of the definition it was created with. */
  async blueprintDefinitionHash(blueprintId: bigint): Promise<Hex> {
    return this.client.readContract({
      address: this.contract,
      abi: TANGLE_ABI,
      functionName: 'blueprintDefinitionHash',
      args: [blueprintId],
    });
  }

  async blueprint(blueprintId: bigint) {
    return this.client.readContract({ address: this.contract, abi: TANGLE_ABI, functionName: 'getBlueprint', args: [blueprintId] });
  }

  /** Every result posted for the call, oldest first, reading blocks from `fromBlock`. */
  async results(serviceId: bigint, callId: bigint, fromBlock: bigint): Promise<JobResultEvent[]> {
    const logs = await this.client.getLogs({
      address: this.contract,
      event: TANGLE_ABI.find((e) => e.type === 'event' && e.name === 'JobResultSubmitted') as Extract<
        (typeof TANGLE_ABI)[number],
        { name: 'JobResultSubmitted' }
      >,
      args: { serviceId, callId },
      fromBlock,
      toBlock: 'latest',
    });
    return logs.filter((log) => log.topics[0] === JOB_RESULT_SUBMITTED_TOPIC).map((log) => decodeJobResultSubmitted(log));
  }

  /** Waits for the call's first result; throws after `timeoutMs`. */
  async waitForResult(
    submitted: Pick<Submitted, 'serviceId' | 'callId' | 'blockNumber'>,
    options: { timeoutMs?: number; pollMs?: number; signal?: AbortSignal; onPoll?: (poll: WaitPoll) => void } = {},
  ): Promise<Answered> {
    const started = Date.now();
    const deadline = started + (options.timeoutMs ?? 300_000);
    const pollMs = options.pollMs ?? 250;
    for (;;) {
      if (options.onPoll) {
        const head = await this.client.getBlockNumber({ cacheTime: 0 });
        options.onPoll({ head, elapsedMs: Date.now() - started });
      }
      const [first] = await this.results(submitted.serviceId, submitted.callId, submitted.blockNumber);
      if (first) {
        return {
          result: decodeResult(hexToBytes(first.result)),
          raw: first.result,
          operator: first.operator,
          hash: first.transactionHash,
          blockNumber: first.blockNumber,
        };
      }
      if (Date.now() > deadline) {
        throw new Error(
          `no result for call ${submitted.callId} of service ${submitted.serviceId} within ${options.timeoutMs ?? 300_000} ms`,
        );
      }
      if (options.signal?.aborted) throw new Error('aborted');
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  }

  async jobCall(serviceId: bigint, callId: bigint) {
    return this.client.readContract({ address: this.contract, abi: TANGLE_ABI, functionName: 'getJobCall', args: [serviceId, callId] });
  }

  async service(serviceId: bigint): Promise<ServiceInfo> {
    const [service, operators, active] = await Promise.all([
      this.client.readContract({ address: this.contract, abi: TANGLE_ABI, functionName: 'getService', args: [serviceId] }),
      this.client.readContract({ address: this.contract, abi: TANGLE_ABI, functionName: 'getServiceOperators', args: [serviceId] }),
      this.client.readContract({ address: this.contract, abi: TANGLE_ABI, functionName: 'isServiceActive', args: [serviceId] }),
    ]);
    return { id: serviceId, active, blueprintId: service.blueprintId, owner: service.owner, operators, status: service.status };
  }

  async serviceCount(): Promise<bigint> {
    return this.client.readContract({ address: this.contract, abi: TANGLE_ABI, functionName: 'serviceCount' });
  }
}
