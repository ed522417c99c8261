/**
 * The Tangle operator of `faas serve` (blueprint/src/operator/), built when FAAS_TANGLE_RPC_URL is
 * set: job calls run through the same orchestrator, store and limits as HTTP invocations, and its
 * metrics are in the same registry (GET /metrics).
 */
import { INPUT_ROOM_BYTES, operatorOptions, TangleOperator } from '@faas/blueprint';
import type { Config, LoggerFactory } from '@faas/common';
import { validationPolicy } from '@faas/gateway';
import type { Orchestrator } from '@faas/orchestrator';
import type { Store } from '@faas/store';

/** The operator, or undefined when none is configured. Throws FAAS_ERR_CONFIG for a bad key file. */
export function createTangleOperator(
  config: Readonly<Config>,
  orchestrator: Orchestrator,
  store: Store,
  logs: LoggerFactory,
): TangleOperator | undefined {
  if (!config.tangle) return undefined;
  return new TangleOperator(operatorOptions(config.tangle), {
    orchestrator,
    functions: store.functions,
    kv: store.kv,
    history: store.history,
    policy: validationPolicy(config),
    allowAdhoc: config.allowAdhoc,
    maxInputBytes: config.maxPayloadBytes + INPUT_ROOM_BYTES,
    registry: orchestrator.metrics.registry,
    log: logs.for('tangle'),
  });
}
