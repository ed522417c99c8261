/**
 * Wires configuration, executors, orchestrator and gateway into one running platform. `faas serve`
 * and the end-to-end tests both start the platform through here, so tests exercise the real thing.
 */

import type { TangleOperator } from '@faas/blueprint';
import { type Config, createLoggerFactory, type LoggerFactory } from '@faas/common';
import { buildGateway } from '@faas/gateway';
import { Orchestrator } from '@faas/orchestrator';
import type { AsyncWorker } from '@faas/worker';
import type { FastifyInstance } from 'fastify';
import { createAsyncWorker } from './async.js';
import { createExecutors } from './executors.js';
import { openPlatformState, type PlatformState } from './state.js';
import { createTangleOperator } from './tangle.js';

export interface Platform {
  config: Readonly<Config>;
  orchestrator: Orchestrator;
  /** Functions, keys, history, and the admin key (undefined in open mode). */
  state: PlatformState;
  gateway: FastifyInstance;
  /** The Tangle operator (FAAS_TANGLE_RPC_URL), or undefined. */
  operator: TangleOperator | undefined;
  /** The worker of asynchronous invocations (FAAS_ASYNC_WORKER), or undefined. */
  worker: AsyncWorker | undefined;
  /** The base URL the gateway listens on, once started. */
  url: string;
  start(): Promise<string>;
  /** Stops accepting work, drains in-flight invocations, removes every sandbox. */
  stop(graceMs?: number): Promise<void>;
}

export function createPlatform(config: Readonly<Config>, logs: LoggerFactory = createLoggerFactory(config.logFilter)): Platform {
  const state = openPlatformState(config, logs.for('store'));
  const executors = createExecutors(config, logs);
  const orchestrator = new Orchestrator({ config, executors, logger: logs.for('orchestrator'), history: state.store.history });
  const asyncParts = createAsyncWorker(config, orchestrator, state.store, logs);
  const worker = asyncParts?.worker;
  const operator = createTangleOperator(config, orchestrator, state.store, logs);
  const gateway = buildGateway({
    config,
    orchestrator,
    store: state.store,
    adminKey: state.adminKey,
    logger: logs.for('gateway'),
    ...(worker ? { asyncControl: worker } : {}),
    // A stopped Tangle operator makes the process not ready (FAAS_ERR_TANGLE_OPERATOR_STOPPED).
    ...(operator ? { readiness: [() => operator.readiness()] } : {}),
  });
  let stopping: Promise<void> | undefined;
  const platform: Platform = {
    config,
    orchestrator,
    state,
    gateway,
    operator,
    worker,
    url: '',
    async start() {
      // A Tangle configuration the chain contradicts (no contract code, no such service) stops start-up here.
      await operator?.preflight();
      await orchestrator.start();
      // What a stopped process left running is taken back (its sandboxes were just removed).
      await worker?.start();
      // Deliveries a stopped process left, and the ended invocations it had not handed over yet.
      await asyncParts?.resumeCallbacks();
      const address = await gateway.listen({ host: config.gateway.host, port: config.gateway.port });
      platform.url = address.replace('0.0.0.0', '127.0.0.1');
      operator?.start();
      return platform.url;
    },
    stop(graceMs?: number) {
      // The store closes last: invocations finishing during the drain still record their history.
      // The operator stops reading calls; those in flight post their results within the grace.
      // The worker takes nothing new; what it runs drains with the rest, and is written before the store closes.
      const grace = graceMs ?? config.shutdownGraceMs;
      worker?.pause();
      stopping ??= Promise.all([operator?.stop(grace), orchestrator.drain(graceMs), gateway.close()])
        .then(() => worker?.stop())
        .then(() => asyncParts?.callbacks.close())
        .then(() => state.close());
      return stopping;
    },
  };
  return platform;
}
