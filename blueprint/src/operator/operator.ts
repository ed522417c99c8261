/**
 * The Tangle operator that `faas serve` runs when FAAS_TANGLE_RPC_URL is set: it follows
 * `JobSubmitted` for the configured services, `confirmations` blocks behind the head (a reorg
 * shallower than that never shows it a call that then vanishes), runs each call through the
 * invocation core (runner.ts, at most `maxInFlight` at once) and answers with `submitResult`
 * (sender.ts). Its progress is durable (state.ts): the last finished block, from which a restart
 * resumes, and a record per call, so a call is never answered twice; calls already completed on
 * chain are skipped. RPC failures are retried with backoff (chain.ts) and the scan catches up.
 *
 *   follow: head -> eth_getLogs(from..min(head - confirmations, from + range)) -> handle each call
 *   handle: record? -> getJobCall (completed?) -> run (limited) -> submitResult -> record
 */
import type { Logger } from '@faas/common';
import type { ValidationPolicy } from '@faas/gateway';
import type { Orchestrator } from '@faas/orchestrator';
import type { FunctionStore, KvStore } from '@faas/store';
import type { Registry } from 'prom-client';
import { formatLog, type Hex, hexToBytes, type Log, type RpcLog, toHex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { decodeJobSubmitted, type JobSubmittedEvent, jobSubmittedTopics } from '../abi/events.js';
import { decodeResult, encodeResult } from '../abi/results.js';
import { TANGLE_ABI } from '../abi/tangle.js';
import { Backoff, sleep } from './backoff.js';
import { ChainClient, isTransient, StoppedError, shortMessage } from './chain.js';
import { readKeyFile } from './key-file.js';
import { Limiter } from './limiter.js';
import { OperatorMetrics } from './metrics.js';
import { runCall } from './runner.js';
import { ResultSender } from './sender.js';
import { OperatorState } from './state.js';
import { Watermark } from './watermark.js';

export interface OperatorOptions {
  rpcUrl: string;
  contract: Hex;
  serviceIds: readonly bigint[];
  keyFile: string;
  confirmations: number;
  /** Where a first run (no saved block) starts: 'latest' (the head) or a block number. */
  startBlock: 'latest' | bigint;
  pollMs: number;
  maxInFlight: number;
}

export interface OperatorDeps {
  orchestrator: Pick<Orchestrator, 'invoke'>;
  functions: Pick<FunctionStore, 'resolveSecrets'>;
  kv: KvStore;
  policy: ValidationPolicy;
  allowAdhoc: boolean;
  maxInputBytes: number;
  registry: Registry;
  log: Logger;
}

/** Blocks per eth_getLogs at most; halved when a node refuses a range as too large. */
const MAX_RANGE = 1000n;

export class TangleOperator {
  private readonly following = new AbortController();
  private readonly calls = new AbortController();
  private readonly metrics: OperatorMetrics;
  private readonly limiter: Limiter;
  private readonly chain: ChainClient;
  private readonly account;
  private readonly handling = new Map<string, Promise<void>>();
  private state: OperatorState | undefined;
  private sender: ResultSender | undefined;
  private watermark: Watermark | undefined;
  private persisted: bigint | undefined;
  private persisting: Promise<void> = Promise.resolve();
  private loop: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;

  /** Reads the key file now, so that a bad one stops start-up with its fix. */
  constructor(
    private readonly options: OperatorOptions,
    private readonly deps: OperatorDeps,
  ) {
    this.account = privateKeyToAccount(readKeyFile(options.keyFile));
    this.metrics = new OperatorMetrics(deps.registry);
    this.limiter = new Limiter(options.maxInFlight);
    this.chain = new ChainClient(options.rpcUrl, options.contract, this.metrics, deps.log, this.calls.signal);
  }

  /** The operator's account (the address of the key). */
  get address(): Hex {
    return this.account.address;
  }

  /** Starts following in the background; an unreachable RPC is retried, never a start-up failure. */
  start(): void {
    this.loop ??= this.follow().catch((err: unknown) => {
      if (err instanceof StoppedError) return;
      this.deps.log.error({ err: shortMessage(err) }, 'the Tangle operator stopped: it serves no job calls until faas restarts');
    });
  }

  /**
   * Stops reading new calls, lets those in flight finish and post their results for up to
   * `graceMs`, then abandons the rest (the next run picks them up from the saved block).
   */
  stop(graceMs: number): Promise<void> {
    this.stopping ??= (async () => {
      this.following.abort();
      const all = () => Promise.allSettled([...this.handling.values(), this.loop ?? Promise.resolve()]);
      const timer = setTimeout(() => this.calls.abort(), graceMs);
      await all();
      clearTimeout(timer);
      this.calls.abort();
      await all();
      await this.persist();
    })();
    return this.stopping;
  }

  private async follow(): Promise<void> {
    const { options, deps } = this;
    const chainId = await this.chain.connect(this.following.signal);
    this.state = new OperatorState(deps.kv, chainId, options.contract);
    this.sender = new ResultSender(this.chain, this.account, this.state, deps.log, options.pollMs, this.calls.signal);
    await this.checkMembership();
    const saved = await this.state.lastBlock();
    let from: bigint;
    if (saved !== undefined) from = saved + 1n;
    else if (options.startBlock === 'latest')
      from = max(0n, (await this.chain.head(this.following.signal)) - BigInt(options.confirmations));
    else from = options.startBlock;
    this.persisted = saved;
    this.watermark = new Watermark(from - 1n);
    deps.log.info(
      {
        chainId,
        contract: options.contract,
        services: options.serviceIds.map(String),
        operator: this.account.address,
        from: from.toString(),
        confirmations: options.confirmations,
      },
      `tangle operator following JobSubmitted from block ${from}${saved !== undefined ? ' (resumed)' : ''}`,
    );
    const topics = jobSubmittedTopics(options.serviceIds);
    const backoff = new Backoff({ baseMs: 500, maxMs: 10_000 });
    let range = MAX_RANGE;
    let last: { number: bigint; hash: Hex } | undefined;
    const signal = this.following.signal;
    while (!signal.aborted) {
      const head = await this.chain.head(signal);
      this.metrics.lag.set(Number(head - this.watermark.value));
      const safe = head - BigInt(options.confirmations);
      if (last && last.number <= safe) {
        // A reorg deeper than the confirmation depth: read the affected blocks again (calls already
        // answered are skipped by their records and getJobCall).
        const block = await this.chain.retry(
          'eth_getBlockByNumber',
          () => this.chain.client.getBlock({ blockNumber: last!.number }),
          signal,
        );
        if (block.hash !== last.hash) {
          const back = max(0n, last.number - 2n * BigInt(Math.max(1, options.confirmations)));
          deps.log.warn(
            { block: last.number.toString(), from: back.toString() },
            'a reorg deeper than FAAS_TANGLE_CONFIRMATIONS; reading blocks again',
          );
          from = back;
          last = undefined;
        }
      }
      if (safe < from || this.watermark.inFlight >= options.maxInFlight * 4) {
        await sleep(options.pollMs, signal);
        continue;
      }
      const to = min(safe, from + range - 1n);
      let logs: Log[];
      try {
        // Raw eth_getLogs (a topic filter with several service ids), formatted as viem formats logs.
        const raw = await this.chain.retry(
          'eth_getLogs',
          () =>
            this.chain.client.request({
              method: 'eth_getLogs',
              params: [{ address: options.contract, topics, fromBlock: toHex(from), toBlock: toHex(to) }],
            }) as Promise<RpcLog[]>,
          signal,
        );
        logs = raw.map((log) => formatLog(log));
      } catch (err) {
        if (err instanceof StoppedError) throw err;
        if (range > 1n && !isTransient(err)) {
          range = max(1n, range / 2n);
          continue;
        }
        deps.log.warn({ err: shortMessage(err), from: from.toString(), to: to.toString() }, 'eth_getLogs failed; retrying');
        await backoff.wait(signal);
        continue;
      }
      backoff.reset();
      logs.sort(
        (a, b) => Number(BigInt(a.blockNumber ?? 0) - BigInt(b.blockNumber ?? 0)) || Number(a.logIndex ?? 0) - Number(b.logIndex ?? 0),
      );
      for (const log of logs) this.dispatch(log);
      this.watermark.scanned(to);
      const toBlock = await this.chain.retry('eth_getBlockByNumber', () => this.chain.client.getBlock({ blockNumber: to }), signal);
      last = { number: to, hash: toBlock.hash };
      from = to + 1n;
      void this.persist();
      if (to >= safe) await sleep(options.pollMs, signal);
    }
  }

  private async checkMembership(): Promise<void> {
    for (const serviceId of this.options.serviceIds) {
      const member = await this.chain.retry(
        'isServiceOperator',
        () =>
          this.chain.client.readContract({
            address: this.options.contract,
            abi: TANGLE_ABI,
            functionName: 'isServiceOperator',
            args: [serviceId, this.account.address],
          }),
        this.following.signal,
      );
      if (!member) {
        this.deps.log.warn(
          { serviceId: serviceId.toString(), operator: this.account.address },
          'this key is not an operator of the service: its answers will be refused until it joins (faas tangle status shows the operators)',
        );
      }
    }
  }

  /** Starts handling one JobSubmitted log, unless it is being handled already. */
  private dispatch(log: Log): void {
    let event: JobSubmittedEvent;
    try {
      event = decodeJobSubmitted(log);
    } catch (err) {
      this.metrics.failed.inc({ service: 'unknown', reason: 'undecodable_event' });
      this.deps.log.warn({ tx: log.transactionHash, err: shortMessage(err) }, 'a JobSubmitted log that is neither known shape; skipped');
      return;
    }
    if (!this.options.serviceIds.includes(event.serviceId)) return;
    const key = `${event.serviceId}:${event.callId}`;
    if (this.handling.has(key)) return;
    const watermark = this.watermark as Watermark;
    watermark.add(event.blockNumber);
    this.metrics.inFlight.inc();
    const task = this.handle(event)
      .then((finished) => {
        // A call left unfinished by a stop keeps its block pending: the saved block stays below it,
        // and the next run reads it again.
        if (finished) watermark.done(event.blockNumber);
      })
      .catch((err: unknown) => this.deps.log.error({ err, key }, 'a job call failed unexpectedly'))
      .finally(() => {
        this.metrics.inFlight.dec();
        this.handling.delete(key);
        void this.persist();
      });
    this.handling.set(key, task);
  }

  /**
   * One call, to its answer; a fault of our own (the store, say) is retried, never skipped. False
   * when the operator stopped first (the call is left for the next run).
   */
  private async handle(event: JobSubmittedEvent): Promise<boolean> {
    const backoff = new Backoff({ baseMs: 1000, maxMs: 30_000 });
    const service = event.serviceId.toString();
    this.metrics.seen.inc({ service });
    for (;;) {
      try {
        await this.answer(event, service);
        return true;
      } catch (err) {
        if (err instanceof StoppedError || this.calls.signal.aborted) return false;
        this.deps.log.error(
          { serviceId: service, callId: event.callId.toString(), err: shortMessage(err) },
          'a job call could not be handled; retrying',
        );
        await backoff.wait(this.calls.signal);
      }
    }
  }

  private async answer(event: JobSubmittedEvent, service: string): Promise<void> {
    const state = this.state as OperatorState;
    const sender = this.sender as ResultSender;
    const { serviceId, callId } = event;
    const ids = { serviceId: service, callId: callId.toString() };
    const ref = { serviceId, callId, submitTx: event.transactionHash };
    const record = await state.call(ref);
    if (record?.state === 'answered' || record?.state === 'failed') {
      this.metrics.skipped.inc({ service, reason: 'recorded' });
      return;
    }
    const onChain = await this.chain.jobCall(serviceId, callId);
    if (onChain.completed) {
      await state.setCall(ref, { state: 'answered', at: Date.now() });
      this.metrics.skipped.inc({ service, reason: 'completed' });
      return;
    }
    let result: Hex;
    let status: string;
    if (record?.state === 'sent') {
      result = record.result;
      status = statusOf(result);
      this.deps.log.info({ ...ids, tx: record.hash }, 'resuming the answer of a call recorded by an earlier run');
    } else {
      const outcome = await this.limiter.run(() => runCall(event, { ...this.deps, log: this.deps.log }, this.calls.signal));
      result = encodeResult(outcome);
      status = outcome.status;
    }
    const answered = await sender.answer(ref, result, record?.state === 'sent' ? record : undefined);
    switch (answered.kind) {
      case 'answered':
        this.metrics.answered.inc({ service, status });
        this.deps.log.info({ ...ids, status, tx: answered.hash, block: answered.block.toString() }, 'job call answered');
        return;
      case 'completed-elsewhere':
        this.metrics.skipped.inc({ service, reason: 'completed' });
        return;
      case 'refused':
        this.metrics.failed.inc({ service, reason: 'refused' });
        this.deps.log.warn({ ...ids, reason: answered.reason }, 'the contract refused our answer to a job call');
        return;
    }
  }

  /** Saves the watermark when it moved; writes are serial. */
  private persist(): Promise<void> {
    this.persisting = this.persisting.then(async () => {
      const watermark = this.watermark;
      if (!watermark || !this.state) return;
      const value = watermark.value;
      if (this.persisted !== undefined && value <= this.persisted) return;
      try {
        await this.state.setLastBlock(value);
        this.persisted = value;
        this.metrics.lastBlock.set(Number(value));
      } catch (err) {
        this.deps.log.warn({ err: shortMessage(err) }, 'could not save the last finished block; retrying at the next one');
      }
    });
    return this.persisting;
  }
}

function statusOf(result: Hex): string {
  try {
    return decodeResult(hexToBytes(result)).status;
  } catch {
    return 'unknown';
  }
}

function max(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}

function min(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}
