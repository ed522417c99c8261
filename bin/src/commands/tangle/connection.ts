/**
 * What `faas tangle` commands share: the chain to talk to (--rpc-url and --contract, or
 * FAAS_TANGLE_RPC_URL and FAAS_TANGLE_CONTRACT from the effective configuration) and the
 * customer's key, read from the file --key-file names (never from an argument's value).
 */
import { readKeyFile, TangleClient } from '@faas/blueprint';
import type { Config } from '@faas/common';
import type { Hex } from 'viem';
import { readEffectiveConfig, StartupError } from '../../startup.js';

export interface ConnectionOptions {
  rpcUrl?: string;
  contract?: string;
  service?: string;
  dotenv?: string;
}

/** The operator's settings from .env and the environment, when they load (a customer may have none). */
function configured(options: ConnectionOptions): Config['tangle'] {
  try {
    return readEffectiveConfig(options.dotenv ?? '.env', options.dotenv !== undefined).config.tangle;
  } catch {
    return undefined;
  }
}

export function connect(options: ConnectionOptions): { client: TangleClient; serviceId: bigint; tangle: Config['tangle'] } {
  const tangle = configured(options);
  const rpcUrl = options.rpcUrl ?? tangle?.rpcUrl;
  const contract = options.contract ?? tangle?.contract;
  if (!rpcUrl) throw new StartupError('no chain to talk to: give --rpc-url URL (or set FAAS_TANGLE_RPC_URL)');
  if (!contract || !/^0x[0-9a-fA-F]{40}$/.test(contract)) {
    throw new StartupError("give --contract with the Tangle contract's address, 0x and 40 hex digits (or set FAAS_TANGLE_CONTRACT)");
  }
  const service = options.service ?? tangle?.serviceIds[0] ?? '0';
  if (!/^[0-9]{1,20}$/.test(service)) throw new StartupError(`--service ${service}: use a service id, an integer`);
  return { client: new TangleClient(rpcUrl, contract as Hex), serviceId: BigInt(service), tangle };
}

/** The key of the account that pays for and signs the job call. */
export function customerKey(path: string | undefined): Hex {
  if (!path) throw new StartupError("give --key-file PATH: a file holding the submitting account's private key (mode 0600)");
  return readKeyFile(path, '--key-file');
}

/** JSON with bigints as decimal strings. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v), 2)}\n`);
}
