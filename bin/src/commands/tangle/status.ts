/**
 * `faas tangle status`: what the chain says about the services this operator serves (or the one
 * named): active or not, owner, blueprint, operators (and whether the key of FAAS_TANGLE_KEY_FILE
 * is one of them); with --call, that call's state and every result posted for it, decoded. Lines
 * for people by default, the same as JSON with --json.
 */
import { decodeResult, readKeyFile, resultToJson } from '@faas/blueprint';
import { Command } from 'commander';
import { hexToBytes } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { StartupError } from '../../startup.js';
import { type ConnectionOptions, connect, printJson, requireContract, runTangle } from './connection.js';
import { printResult } from './print.js';

interface StatusOptions extends ConnectionOptions {
  call?: string;
}

export function statusCommand(): Command {
  return new Command('status')
    .summary("print the chain's view of the served services, or of one call")
    .description(
      'Print the chain id and head, and for the service (--service, else every one of FAAS_TANGLE_SERVICE_IDS, else 0): whether it is active, its owner, blueprint and operators, and whether the key of FAAS_TANGLE_KEY_FILE (when set) is one of them. With --call ID: the call (job index, caller, results, completed) and its results, decoded. Lines for people; --json prints the same as JSON.',
    )
    .helpOption('-h, --help', 'show this help and exit')
    .option('--rpc-url <url>', 'RPC node of the chain (default FAAS_TANGLE_RPC_URL)')
    .option('--contract <address>', "Tangle's contract (default FAAS_TANGLE_CONTRACT)")
    .option('--service <id>', 'service id (default: every one of FAAS_TANGLE_SERVICE_IDS, else 0)')
    .option('--call <id>', 'a call of the service: its state and results')
    .option('--json', 'print JSON (bigints as decimal strings) instead of lines')
    .option('--dotenv <path>', 'read FAAS_TANGLE_* defaults from this file instead of .env')
    .addHelpText('after', '\nExit codes: 0 done, 1 the chain failed or did not answer, 2 a usage or configuration error.')
    .action(async (options: StatusOptions) => {
      let rpcUrl: string | undefined = options.rpcUrl;
      await runTangle(
        async () => {
          const connection = connect(options);
          rpcUrl = connection.client.rpcUrl;
          await requireContract(connection.client);
          await status(options, connection);
        },
        () => rpcUrl,
      );
    });
}

/** The operator account of FAAS_TANGLE_KEY_FILE, or why it cannot be read (status goes on without it). */
function operatorAccount(keyFile: string | undefined): { address?: string; problem?: string } {
  if (keyFile === undefined) return {};
  try {
    return { address: privateKeyToAccount(readKeyFile(keyFile)).address };
  } catch (err) {
    return { problem: (err as Error).message };
  }
}

async function status(options: StatusOptions, { client, serviceId, settings }: ReturnType<typeof connect>): Promise<void> {
  if (options.call !== undefined && !/^[0-9]{1,20}$/.test(options.call)) {
    throw new StartupError(`--call ${options.call}: use a call id, an integer`);
  }
  const ids = options.service !== undefined || settings.serviceIds.length === 0 ? [serviceId] : settings.serviceIds.map((id) => BigInt(id));
  const { address: operator, problem } = operatorAccount(settings.operatorKeyFile);
  if (problem) process.stderr.write(`faas: not checking the operator key: ${problem}\n`);
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
      ...(operator ? { operator, is_operator: service.operators.some((o) => o.toLowerCase() === operator.toLowerCase()) } : {}),
    });
  }
  const out: Record<string, unknown> = { chain_id: chainId, head, contract: client.contract, services };
  let call: Record<string, unknown> | undefined;
  if (options.call !== undefined) {
    const callId = BigInt(options.call);
    const state = await client.jobCall(serviceId, callId);
    const results = await client.results(serviceId, callId, 0n);
    call = {
      service_id: serviceId,
      call_id: callId,
      job_index: state.jobIndex,
      caller: state.caller,
      created_at: state.createdAt,
      result_count: state.resultCount,
      completed: state.completed,
      results: results.map((r) => {
        let decoded: Record<string, unknown>;
        try {
          decoded = resultToJson(decodeResult(hexToBytes(r.result)));
        } catch (err) {
          decoded = { undecodable: (err as Error).message, raw: r.result };
        }
        return { operator: r.operator, tx: r.transactionHash, block: r.blockNumber, result: decoded };
      }),
    };
    out.call = call;
  }
  if (options.json) {
    printJson(out);
    return;
  }
  const lines = [`chain ${chainId}, head block ${head}, Tangle contract ${client.contract}`];
  for (const s of services) {
    lines.push(
      `service ${s.id}: ${s.active ? 'active' : 'not active'}, blueprint ${s.blueprint_id}, owner ${s.owner}`,
      `  operators: ${s.operators.length === 0 ? 'none' : s.operators.join(', ')}`,
    );
    if (s.operator)
      lines.push(`  the key of FAAS_TANGLE_KEY_FILE (${s.operator}) ${s.is_operator ? 'is one of them' : 'is not one of them'}`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  if (call) {
    const results = call.results as { operator: string; tx: string; block: bigint; result: Record<string, unknown> }[];
    if (call.created_at === 0n && results.length === 0) {
      // The contract answers zeros for a call id it has not given out yet.
      process.stdout.write(`call ${call.call_id} of service ${call.service_id}: no such call (yet)\n`);
      return;
    }
    process.stdout.write(
      `call ${call.call_id} of service ${call.service_id}: job ${call.job_index}, caller ${call.caller}, ${call.completed ? 'completed' : 'not completed'}, ${results.length} result${results.length === 1 ? '' : 's'}\n`,
    );
    for (const r of results) {
      process.stdout.write(`result from ${r.operator} (block ${r.block}, transaction ${r.tx}):\n`);
      printResult(r.result, '  ');
    }
  }
}
