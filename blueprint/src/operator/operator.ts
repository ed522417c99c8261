/**
 * The Tangle operator that `faas serve` runs when FAAS_TANGLE_RPC_URL is set: it follows
 * `JobSubmitted` for the configured services, `confirmations` blocks behind the head (a reorg
 * shallower than that never shows it a call that then vanishes), runs each call through the
 * invocation core (runner.ts, at most `maxInFlight` at once) and answers with `submitResult`
 * (sender.ts). Its progress is durable (state.ts): the last finished block, from which a restart
 * resumes, and a record per call (calls.ts), so a call is never answered twice nor run twice; calls
 * already completed on chain are skipped. RPC failures are retried with backoff (chain.ts) and the
 * scan catches up; so is any other fault of a scan or a call. Only a configuration the chain
 * contradicts (no contract code at FAAS_TANGLE_CONTRACT, a service that does not exist) stops it:
 * at start-up (`preflight`, exit code 2) or, when the RPC did not answer then, once it does; a
 * stopped operator is reported by GET /ready (`readiness`) and faas_tangle_operator_up.
 *
 *   follow: head -> eth_getLogs(from..min(head - confirmations, from + range)) -> handle each call
 *   handle: record? -> getJobCall (completed?) -> run (limited) -> submitResult -> record
 */
import { FaasError, type Logger } from '@faas/common';
import type { ValidationPolicy } from '@faas/gateway';
import type { Orchestrator } from '@faas/orchestrator';
import type { FunctionStore, HistoryStore, KvStore } from '@faas/store';
import type { Registry } from 'prom-client';
import { formatLog, type Hex, type Log, type RpcLog, toHex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { decodeJobSubmitted, type JobSubmittedEvent, jobSubmittedTopics } from '../abi/events.js';
import { TANGLE_ABI } from '../abi/tangle.js';
import { Backoff, sleep } from './backoff.js';
import { CallHandler, type CallProgress } from './calls.js';
import { ChainClient, isTransient, OperatorConfigError, StoppedError, shortMessage } from './chain.js';
import { readKeyFile } from './key-file.js';
import { Limiter } from './limiter.js';
import { OperatorMetrics } from './metrics.js';
import { runCall } from './runner.js';
import { ResultSender } from './sender.js';
import { OperatorState } from './state.js';
import { SavedWatermark, Watermark } from './watermark.js';

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
  /** Where a run cut off by a kill is written when the next run finds it (the platform's invocation history). */
  history: Pick<HistoryStore, 'get' | 'record'>;
  policy: ValidationPolicy;
  allowAdhoc: boolean;
  maxInputBytes: number;
  registry: Registry;
  log: Logger;
}

/** Blocks per eth_getLogs at most; halved when a node refuses a range as too large. */
const MAX_RANGE = 1000n;
/** How long start-up waits for the RPC to check the configuration against the chain. */
const PREFLIGHT_MS = 10_000;

export class TangleOperator {
  private readonly following = new AbortController();
  private readonly calls = new AbortController();
  private readonly metrics: OperatorMetrics;
  private readonly limiter: Limiter;
  private readonly chain: ChainClient;
  private readonly account;
  private readonly handling = new Map<string, Promise<void>>();
  private state: OperatorState | undefined;
  private callHandler: CallHandler | undefined;
  private watermark: Watermark | undefined;
  private saved: SavedWatermark | undefined;
  private loop: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  private stoppedBecause: string | undefined;

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

  /**
   * Checks the configuration against the chain before `faas serve` listens: the contract has code
   * and every service exists (OperatorConfigError otherwise, which stops start-up with exit code 2).
   * An RPC that does not answer within `withinMs` is no start-up failure: the operator checks once
   * it answers, and stops (GET /ready, faas_tangle_operator_up) if the check fails then.
   */
  async preflight(withinMs = PREFLIGHT_MS): Promise<void> {
    // Not AbortSignal.any/timeout: Node 20 may collect such a signal before it fires.
    const bounded = new AbortController();
    const timer = setTimeout(() => bounded.abort(), withinMs);
    const stop = () => bounded.abort();
    this.following.signal.addEventListener('abort', stop, { once: true });
    try {
      await this.chain.connect(this.options.serviceIds, bounded.signal);
    } catch (err) {
      if (err instanceof OperatorConfigError) throw err;
      if (!(err instanceof StoppedError)) {
        throw new OperatorConfigError(
          // Not the URL itself: a provider's URL may hold its access key.
          `FAAS_TANGLE_RPC_URL does not answer as an Ethereum RPC node: ${shortMessage(err)}`,
        );
      }
      this.deps.log.warn(
        { withinMs },
        'the Tangle RPC did not answer at start-up; the operator checks FAAS_TANGLE_CONTRACT and FAAS_TANGLE_SERVICE_IDS when it does',
      );
    } finally {
      clearTimeout(timer);
      this.following.signal.removeEventListener('abort', stop);
    }
  }

  /** Starts following in the background; an unreachable RPC is retried, never a start-up failure. */
  start(): void {
    if (this.loop) return;
    this.metrics.up.set(1);
    this.loop = this.follow().catch((err: unknown) => {
      if (err instanceof StoppedError) return;
      this.stoppedBecause = shortMessage(err);
      this.metrics.up.set(0);
      this.deps.log.error({ err: this.stoppedBecause }, 'the Tangle operator stopped: it serves no job calls until faas restarts');
    });
  }

  /** Why the operator stopped serving job calls (a fault it cannot retry), or undefined while it serves them. */
  get stoppedReason(): string | undefined {
    return this.stoppedBecause;
  }

  /** For GET /ready: throws (503) once the operator stopped serving job calls. */
  readiness(): void {
    if (this.stoppedBecause === undefined) return;
    throw new FaasError(
      'FAAS_ERR_TANGLE_OPERATOR_STOPPED',
      `the Tangle operator stopped and serves no job calls until faas restarts: ${this.stoppedBecause}`.slice(0, 600),
    );
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
      this.metrics.up.set(0);
    })();
    return this.stopping;
  }

  /** Connects and reads the saved block; faults are retried, all but a configuration the chain contradicts. */
  private async setUp(signal: AbortSignal): Promise<{ chainId: number; saved: bigint | undefined }> {
    const { options, deps } = this;
    const backoff = new Backoff({ baseMs: 1000, maxMs: 30_000 });
    for (;;) {
      try {
        const chainId = await this.chain.connect(options.serviceIds, signal);
        const state = new OperatorState(deps.kv, chainId, options.contract);
        await this.checkMembership();
        const saved = await state.lastBlock();
        if (!this.callHandler) {
          const sender = new ResultSender(
            this.chain,
            this.account,
            state,
            deps.log,
            { pollMs: options.pollMs, confirmations: options.confirmations },
            this.calls.signal,
          );
          this.callHandler = new CallHandler({
            state,
            chain: this.chain,
            sender,
            run: (event, hooks) => this.limiter.run(() => runCall(event, deps, this.calls.signal, hooks)),
            history: deps.history,
            metrics: this.metrics,
            log: deps.log,
          });
        }
        this.state = state;
        return { chainId, saved };
      } catch (err) {
        if (err instanceof StoppedError || err instanceof OperatorConfigError || signal.aborted) throw err;
        deps.log.warn({ err: shortMessage(err) }, 'the Tangle operator could not start following; retrying');
        await backoff.wait(signal);
      }
    }
  }

  private async follow(): Promise<void> {
    const { options, deps } = this;
    const signal = this.following.signal;
    const { chainId, saved } = await this.setUp(signal);
    const state = this.state as OperatorState;
    let from: bigint;
    if (saved !== undefined) from = saved + 1n;
    else if (options.startBlock === 'latest') from = max(0n, (await this.chain.head(signal)) - BigInt(options.confirmations));
    else from = options.startBlock;
    this.watermark = new Watermark(from - 1n);
    this.saved = new SavedWatermark(
      this.watermark,
      (block) => state.setLastBlock(block),
      saved,
      (err) => deps.log.warn({ err: shortMessage(err) }, 'could not save the last finished block; retrying at the next one'),
    );
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
    const watermark = this.watermark;
    while (!signal.aborted) {
      try {
        const head = await this.chain.head(signal);
        this.metrics.lag.set(Number(head - watermark.value));
        const safe = head - BigInt(options.confirmations);
        if (last && last.number <= safe) {
          // A reorg deeper than the confirmation depth: read the affected blocks again (calls already
          // answered are skipped by their records and getJobCall), and save the position back there,
          // so that a restart during the re-scan reads them too.
          const block = await this.chain.retry(
            'eth_getBlockByNumber',
            () => this.chain.client.getBlock({ blockNumber: (last as { number: bigint }).number }),
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
            watermark.rewind(back - 1n);
            await this.persist();
          }
        }
        if (safe < from || watermark.inFlight >= options.maxInFlight * 4) {
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
        logs.sort(
          (a, b) => Number(BigInt(a.blockNumber ?? 0) - BigInt(b.blockNumber ?? 0)) || Number(a.logIndex ?? 0) - Number(b.logIndex ?? 0),
        );
        const toBlock = await this.chain.retry('eth_getBlockByNumber', () => this.chain.client.getBlock({ blockNumber: to }), signal);
        for (const log of logs) this.dispatch(log);
        watermark.scanned(to);
        last = { number: to, hash: toBlock.hash };
        from = to + 1n;
        backoff.reset();
        void this.persist();
        if (to >= safe) await sleep(options.pollMs, signal);
      } catch (err) {
        // A fault of a scan step (the store, a node's odd answer) is retried: only a stop ends the loop.
        if (err instanceof StoppedError || signal.aborted) throw err;
        deps.log.error({ err: shortMessage(err), from: from.toString() }, 'the Tangle operator could not read the next blocks; retrying');
        await backoff.wait(signal);
      }
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
    const progress: CallProgress = {};
    for (;;) {
      try {
        await (this.callHandler as CallHandler).handle(event, progress);
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

  /** Saves the watermark when it moved (forward, or back after a reorg); writes are serial. */
  private async persist(): Promise<void> {
    const saved = this.saved;
    if (!saved) return;
    await saved.save();
    if (saved.value !== undefined) this.metrics.lastBlock.set(Number(saved.value));
  }
}

function max(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}

function min(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}
