/**
 * Prometheus metrics of the Tangle operator, registered in the orchestrator's registry so that
 * `GET /metrics` shows them beside the invocations' (names and labels: docs/metrics.md).
 */
import { Counter, Gauge, type Registry } from 'prom-client';

export class OperatorMetrics {
  /** JobSubmitted events read for the served services. */
  readonly seen: Counter<'service'>;
  /** Calls whose result this operator put on chain, by the result's status. */
  readonly answered: Counter<'service' | 'status'>;
  /** Calls this operator could not answer (the contract refused the answer), by reason. */
  readonly failed: Counter<'service' | 'reason'>;
  /** Calls left alone: already completed on chain, or answered by an earlier run. */
  readonly skipped: Counter<'service' | 'reason'>;
  /** RPC requests that failed (each retried with backoff). */
  readonly rpcErrors: Counter;
  readonly lag: Gauge;
  /** 1 while the operator serves job calls (through RPC outages too); 0 once it stopped. */
  readonly up: Gauge;
  readonly inFlight: Gauge;
  readonly lastBlock: Gauge;

  constructor(registry: Registry) {
    const registers = [registry];
    this.seen = new Counter({
      name: 'faas_tangle_calls_seen_total',
      help: 'Job calls (JobSubmitted events) seen for the served services.',
      labelNames: ['service'],
      registers,
    });
    this.answered = new Counter({
      name: 'faas_tangle_calls_answered_total',
      help: "Job calls whose result this operator put on chain, by the result's status.",
      labelNames: ['service', 'status'],
      registers,
    });
    this.failed = new Counter({
      name: 'faas_tangle_calls_failed_total',
      help: 'Job calls this operator could not answer, by reason (reverted, refused).',
      labelNames: ['service', 'reason'],
      registers,
    });
    this.skipped = new Counter({
      name: 'faas_tangle_calls_skipped_total',
      help: 'Job calls left alone: completed on chain already, or answered before a restart.',
      labelNames: ['service', 'reason'],
      registers,
    });
    this.rpcErrors = new Counter({
      name: 'faas_tangle_rpc_errors_total',
      help: 'RPC requests to the chain that failed and were retried.',
      registers,
    });
    this.lag = new Gauge({
      name: 'faas_tangle_lag_blocks',
      help: 'Blocks between the chain head and the last block whose calls are all finished.',
      registers,
    });
    this.up = new Gauge({
      name: 'faas_tangle_operator_up',
      help: 'Whether the Tangle operator serves job calls: 1 while it does (RPC outages included: it retries), 0 once it stopped; GET /ready says why.',
      registers,
    });
    this.inFlight = new Gauge({
      name: 'faas_tangle_calls_in_flight',
      help: 'Job calls being run or answered now.',
      registers,
    });
    this.lastBlock = new Gauge({
      name: 'faas_tangle_last_block',
      help: 'The last block whose calls are all finished (persisted; a restart resumes after it).',
      registers,
    });
  }
}
