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
}
