/**
 * What `faas tangle` commands share: the chain to talk to (--rpc-url and --contract, or
 * FAAS_TANGLE_RPC_URL and FAAS_TANGLE_CONTRACT from the environment and .env), the service
 * (--service, else the first of FAAS_TANGLE_SERVICE_IDS), the submitting account's key, read from
 * the file --key-file names (never from an argument's value), and how they print and fail.
 *
 * These are client commands: they read .env strictly (a malformed line is an error naming the file
 * and line, as `faas serve` reports it), but check only the variables they use, never the
 * operator's other settings (FAAS_TANGLE_KEY_FILE and the rest belong to `faas serve`).
 */
import { resolve } from 'node:path';
import { BlueprintDefinitionError, readKeyFile, TangleClient } from '@faas/blueprint';
import { FaasError, isFaasError, mergeDotenv, readDotenv } from '@faas/common';
import { BaseError, type Hex, HttpRequestError, TimeoutError } from 'viem';
import { EXIT_FAILED } from '../../client/output.js';
import { EXIT_STARTUP, StartupError } from '../../startup.js';

export interface ConnectionOptions {
  rpcUrl?: string;
  contract?: string;
  service?: string;
  dotenv?: string;
  json?: boolean;
}

/** The FAAS_TANGLE_* variables a client command reads, with where each came from. */
export interface ClientSettings {
  rpcUrl: string | undefined;
  contract: string | undefined;
  /** FAAS_TANGLE_SERVICE_IDS, checked; empty when unset. */
  serviceIds: string[];
  /** FAAS_TANGLE_KEY_FILE, unchecked: `status` only uses it to say whether that key is an operator. */
  operatorKeyFile: string | undefined;
}

/** The environment over the .env file (--dotenv, else .env here), read strictly. */
function environment(options: ConnectionOptions): { env: Record<string, string | undefined>; sources: Record<string, string> } {
  const path = resolve(options.dotenv ?? '.env');
  const file = readDotenv(path);
  if (!file && options.dotenv !== undefined) throw new StartupError(`--dotenv ${options.dotenv}: no such file (${path})`);
  return mergeDotenv(process.env, file);
}

function variableError(name: string, value: string, sources: Record<string, string>, fix: string): never {
  const source = sources[name] ?? 'the environment';
  throw new FaasError('FAAS_ERR_CONFIG', `${name}="${value}" (from ${source}) is invalid: ${fix}`, {
    details: { variable: name, source },
  });
}

const SERVICE_ID = /^[0-9]{1,20}$/;
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;

/** FAAS_TANGLE_RPC_URL, FAAS_TANGLE_CONTRACT, FAAS_TANGLE_SERVICE_IDS, each checked when set. */
export function clientSettings(options: ConnectionOptions): ClientSettings {
  const { env, sources } = environment(options);
  const get = (name: string) => {
    const value = env[name]?.trim();
    return value === undefined || value === '' ? undefined : value;
  };
  const rpcUrl = get('FAAS_TANGLE_RPC_URL');
  if (rpcUrl !== undefined && options.rpcUrl === undefined && !isHttpUrl(rpcUrl)) {
    variableError('FAAS_TANGLE_RPC_URL', rpcUrl, sources, 'use the http:// or https:// URL of an RPC node, e.g. http://127.0.0.1:8545');
  }
  const contract = get('FAAS_TANGLE_CONTRACT');
  if (contract !== undefined && options.contract === undefined && !ADDRESS.test(contract)) {
    variableError('FAAS_TANGLE_CONTRACT', contract, sources, "use the Tangle contract's address, 0x and 40 hex digits");
  }
  const ids = get('FAAS_TANGLE_SERVICE_IDS');
  const serviceIds = (ids ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (options.service === undefined) {
    for (const id of serviceIds) {
      if (!SERVICE_ID.test(id) || BigInt(id) > 0xffffffffffffffffn) {
        variableError(
          'FAAS_TANGLE_SERVICE_IDS',
          ids ?? '',
          sources,
          `"${id}" is not a service id: use comma-separated integers, e.g. 0 or 0,3`,
        );
      }
    }
  }
  return { rpcUrl, contract, serviceIds, operatorKeyFile: get('FAAS_TANGLE_KEY_FILE') };
}

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

export function connect(options: ConnectionOptions): { client: TangleClient; serviceId: bigint; settings: ClientSettings } {
  const settings = clientSettings(options);
  const rpcUrl = options.rpcUrl ?? settings.rpcUrl;
  const contract = options.contract ?? settings.contract;
  if (!rpcUrl) throw new StartupError('no chain to talk to: give --rpc-url URL (or set FAAS_TANGLE_RPC_URL)');
  if (options.rpcUrl !== undefined && !isHttpUrl(options.rpcUrl)) {
    throw new StartupError(`--rpc-url ${options.rpcUrl}: use the http:// or https:// URL of an RPC node, e.g. http://127.0.0.1:8545`);
  }
  if (!contract) throw new StartupError("give --contract with the Tangle contract's address (or set FAAS_TANGLE_CONTRACT)");
  if (!ADDRESS.test(contract)) throw new StartupError(`--contract ${contract}: use the Tangle contract's address, 0x and 40 hex digits`);
  const service = options.service ?? settings.serviceIds[0] ?? '0';
  if (!SERVICE_ID.test(service) || BigInt(service) > 0xffffffffffffffffn) {
    throw new StartupError(`--service ${service}: use a service id, an integer`);
  }
  return { client: new TangleClient(rpcUrl, contract as Hex), serviceId: BigInt(service), settings };
}

/**
 * Refuses a contract address with no code on the chain (a typo, another chain) before anything is
 * sent: a transaction to it would be mined and do nothing. StartupError (exit 2) naming the address.
 */
export async function requireContract(client: TangleClient): Promise<void> {
  const code = await client.client.getCode({ address: client.contract });
  if (!code || code === '0x') {
    throw new StartupError(
      `no contract at ${client.contract} on the chain at ${client.rpcUrl}: give the Tangle contract's address (--contract or FAAS_TANGLE_CONTRACT) on that chain`,
    );
  }
}

/** The key of the account that signs and pays. */
export function customerKey(path: string | undefined): Hex {
  if (!path) throw new StartupError("give --key-file PATH: a file holding the submitting account's private key (mode 0600)");
  return readKeyFile(path, '--key-file');
}

/** JSON with bigints as decimal strings. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v), 2)}\n`);
}

/**
 * Runs a `faas tangle` action and turns what it throws into one line on stderr and an exit code:
 * 2 for a usage or configuration error (nothing was sent), 1 for what the chain answered or a node
 * that did not answer.
 */
export async function runTangle(action: () => Promise<void>, rpcUrl: () => string | undefined): Promise<void> {
  try {
    await action();
  } catch (err) {
    const { message, exitCode } = describeTangleError(err, rpcUrl());
    process.stderr.write(`faas: ${message.replace(/\s*\n\s*/g, ' ').trim()}\n`);
    process.exitCode = exitCode;
  }
}

export function describeTangleError(err: unknown, rpcUrl: string | undefined): { message: string; exitCode: number } {
  if (err instanceof StartupError || err instanceof BlueprintDefinitionError) return { message: err.message, exitCode: EXIT_STARTUP };
  if (isFaasError(err, 'FAAS_ERR_CONFIG')) return { message: `configuration error: ${err.message}`, exitCode: EXIT_STARTUP };
  if (err instanceof BaseError) {
    const unreachable = err.walk((e) => e instanceof HttpRequestError || e instanceof TimeoutError);
    if (unreachable) {
      const why = (unreachable as BaseError).details || (unreachable as BaseError).shortMessage;
      return {
        message: `the RPC node at ${rpcUrl ?? 'the URL given'} did not answer (${why}): is the chain up? (--rpc-url or FAAS_TANGLE_RPC_URL)`,
        exitCode: EXIT_FAILED,
      };
    }
    return { message: err.details ? `${err.shortMessage} (${err.details})` : err.shortMessage, exitCode: EXIT_FAILED };
  }
  return { message: err instanceof Error ? err.message : String(err), exitCode: EXIT_FAILED };
}
