/** The operator's options from the platform's configuration (FAAS_TANGLE_*, docs/CONFIGURATION.md). */
import type { Config } from '@faas/common';
import type { Hex } from 'viem';
import type { OperatorOptions } from './operator.js';

export function operatorOptions(tangle: NonNullable<Config['tangle']>): OperatorOptions {
  return {
    rpcUrl: tangle.rpcUrl,
    contract: tangle.contract as Hex,
    serviceIds: tangle.serviceIds.map((id) => BigInt(id)),
    keyFile: tangle.keyFile,
    confirmations: tangle.confirmations,
    startBlock: tangle.startBlock === 'latest' ? 'latest' : BigInt(tangle.startBlock),
    pollMs: tangle.pollMs,
    maxInFlight: tangle.maxInFlight,
  };
}
