/** What every route module of the gateway is built from. */
import type { Config, Logger } from '@faas/common';
import type { Orchestrator } from '@faas/orchestrator';
import type { Store } from '@faas/store';

export interface GatewayDeps {
  config: Readonly<Config>;
  orchestrator: Orchestrator;
  /** Functions, keys and history. */
  store: Store;
  /**
   * The admin key in keys mode (FAAS_ADMIN_KEY, or the key file start-up read or created);
   * undefined in open mode.
   */
  adminKey: string | undefined;
  logger: Logger;
  /**
   * The asynchronous worker of this process, when it runs one (FAAS_ASYNC_WORKER): told when an
   * invocation is queued, so it starts without waiting for its next look at the queue, and when a
   * running one is cancelled, so it is killed at once. Without it the queue is read on its own time.
   */
  asyncControl?: AsyncControl;
  /**
   * More conditions of GET /ready beyond the orchestrator's (the Tangle operator's, when it runs):
   * each throws a FaasError of status 503, whose code and message the answer carries.
   */
  readiness?: readonly (() => void | Promise<void>)[];
}

/** What the routes may tell the worker of their process; nothing depends on it being there. */
export interface AsyncControl {
  wake(): void;
  cancel(invocationId: string): void;
}
