/**
 * `faas tangle status`: what the chain says about the services this operator serves (or the one
 * named): active or not, owner, blueprint, operators (and whether the configured operator key is
 * one of them); with --call, that call's state and every result posted for it, decoded.
 */
import { decodeResult, readKeyFile, resultToJson } from '@faas/blueprint';
import { Command } from 'commander';
import { hexToBytes } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { StartupError } from '../../startup.js';
import { type ConnectionOptions, connect, printJson } from './connection.js';

interface StatusOptions extends ConnectionOptions {
  call?: string;
}

export function statusCommand(): Command {
  return new Command('status')
    .summary("print the chain's view of the served services, or of one call")
    .description(
      'Print, as JSON, the chain id and head, and for the service (--service, else every one of FAAS_TANGLE_SERVICE_IDS): whether it is active, its owner, blueprint and operators, and whether the key of FAAS_TANGLE_KEY_FILE is one of them. With --call ID: the call (job index, caller, results, completed) and its results, decoded.',
    )
    .helpOption('-h, --help', 'show this help and exit')
    .option('--rpc-url <url>', 'RPC node of the chain (default FAAS_TANGLE_RPC_URL)')
    .option('--contract <address>', "Tangle's contract (default FAAS_TANGLE_CONTRACT)")
    .option('--service <id>', 'service id (default: every one of FAAS_TANGLE_SERVICE_IDS, else 0)')
    .option('--call <id>', 'a call of the service: its state and results')
    .option('--dotenv <path>', 'read FAAS_TANGLE_* defaults from this file instead of .env')
    .action(async (options: StatusOptions) => status(options));
}

async function status(options: StatusOptions): Promise<void> {
  const { client, serviceId, tangle } = connect(options);
  const ids = options.service !== undefined || !tangle ? [serviceId] : tangle.serviceIds.map((id) => BigInt(id));
  let operator: string | undefined;
  if (tangle) {
    try {
      operator = privateKeyToAccount(readKeyFile(tangle.keyFile)).address;
    } catch {}
  }
  const [chainId, head] = await Promise.all([client.client.getChainId(), client.client.getBlockNumber()]);
  const services = [];
  for (const id of ids) {
    const service = await client.service(id);
    services.push({
      id,
      active: service.active,
      owner: service.owner,
      blueprint_id: service.blueprintId,
      operators: service.operators,
      ...(operator ? { operator, is_operator: service.operators.some((o) => o.toLowerCase() === operator?.toLowerCase()) } : {}),
    });
  }
  const out: Record<string, unknown> = { chain_id: chainId, head, contract: client.contract, services };
  if (options.call !== undefined) {
    if (!/^[0-9]{1,20}$/.test(options.call)) throw new StartupError(`--call ${options.call}: use a call id, an integer`);
    const callId = BigInt(options.call);
    const call = await client.jobCall(serviceId, callId);
    const results = await client.results(serviceId, callId, 0n);
    out.call = {
      service_id: serviceId,
      call_id: callId,
      job_index: call.jobIndex,
      caller: call.caller,
      created_at: call.createdAt,
      result_count: call.resultCount,
      completed: call.completed,
      results: results.map((r) => {
        let decoded: unknown;
        try {
          decoded = resultToJson(decodeResult(hexToBytes(r.result)));
        } catch (err) {
          decoded = { undecodable: (err as Error).message, raw: r.result };
        }
        return { operator: r.operator, tx: r.transactionHash, block: r.blockNumber, result: decoded };
      }),
    };
  }
  printJson(out);
}
