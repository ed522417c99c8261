/**
 * `faas tangle submit`: the customer's side of a job call. Encodes the job's inputs
 * (docs/tangle-jobs.md), sends `submitJob`, waits for an operator's `submitResult` (a progress line
 * on a terminal meanwhile) and prints the result decoded: lines for people, JSON with --json. Exit
 * code 0 when a result came (whatever the function's exit code), 1 when none came in time or the
 * chain failed, 2 for a usage or configuration error.
 */
import { readFileSync } from 'node:fs';
import { encodeExecuteInputs, encodeInvokeInputs, resultToJson } from '@faas/blueprint';
import { Command, Option } from 'commander';
import type { Hex } from 'viem';
import { startProgress } from '../../client/progress.js';
import { StartupError } from '../../startup.js';
import { EXECUTOR_HELP } from '../common.js';
import { type ConnectionOptions, connect, customerKey, printJson, requireContract, runTangle } from './connection.js';
import { printResult } from './print.js';

interface SubmitOptions extends ConnectionOptions {
  keyFile?: string;
  image?: string;
  function?: string;
  env: string[];
  stdin?: string;
  stdinFile?: string;
  timeoutMs?: string;
  executor?: string;
  memoryMb?: string;
  cpus?: string;
  pids?: string;
  inputs?: string;
  wait: boolean;
  waitMs: string;
}

const collect = (value: string, previous: string[]) => [...previous, value];

export function submitCommand(): Command {
  return new Command('submit')
    .summary('submit a job call on chain and print its result')
    .description(
      'Submit a job call to a Tangle service and wait for its result. JOB is "execute" (0: run COMMAND in IMAGE) or "invoke" (1: a function registered on the operator); --inputs sends raw hex inputs to any job index instead. The result is printed decoded, as lines (--json: as JSON, stdout and stderr as text and base64); while it waits, a progress line on stderr when that is a terminal.',
    )
    .argument('<job>', 'execute, invoke, or a job index with --inputs')
    .argument('[command...]', 'execute: the command and its arguments (after --)')
    .helpOption('-h, --help', 'show this help and exit')
    .option('--rpc-url <url>', 'RPC node of the chain (default FAAS_TANGLE_RPC_URL)')
    .option('--contract <address>', "Tangle's contract (default FAAS_TANGLE_CONTRACT)")
    .option('--service <id>', 'service id (default the first of FAAS_TANGLE_SERVICE_IDS, else 0)')
    .option('--key-file <path>', "file with the submitting account's private key (mode 0600)")
    .option('--image <ref>', 'execute: the image')
    .option('--function <id>', 'invoke: the registered function')
    .option('--env <KEY=VALUE>', 'a variable for the command (repeatable)', collect, [])
    .option('--stdin <text>', "the command's stdin, as text")
    .option('--stdin-file <path>', "the command's stdin, from a file")
    .option('--timeout-ms <n>', 'the timeout (0 or absent: the default)')
    .option('--executor <kind>', `execute: ${EXECUTOR_HELP}`)
    .option('--memory-mb <n>', 'execute: memory limit')
    .option('--cpus <n>', 'execute: CPU quota in cores (0.5 = half a core)')
    .option('--pids <n>', 'execute: process limit')
    .option('--inputs <hex>', 'raw inputs (0x...) instead of the fields above')
    .option('--no-wait', 'print the call id once submitted, without waiting for the result')
    .addOption(new Option('--wait-ms <n>', 'how long to wait for the result').default('300000'))
    .option('--json', 'print JSON (bigints as decimal strings) instead of lines')
    .option('--dotenv <path>', 'read FAAS_TANGLE_* defaults from this file instead of .env')
    .addHelpText(
      'after',
      '\nExamples:\n  faas tangle submit execute --key-file ./customer.key --image faas/busybox:latest --stdin hi -- sh -c "cat; echo"\n  faas tangle submit invoke --key-file ./customer.key --function hello --stdin world --json\n\nExit codes: 0 a result came (whatever its exit code), 1 none came in time or the chain failed, 2 a usage or configuration error.\nThe job ABI: docs/tangle-jobs.md.',
    )
    .action(async (job: string, command: string[], options: SubmitOptions) => {
      let rpcUrl: string | undefined = options.rpcUrl;
      await runTangle(
        async () =>
          submit(job, command, options, (url) => {
            rpcUrl = url;
          }),
        () => rpcUrl,
      );
    });
}

function int(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new StartupError(`--${name} ${value}: use an integer from 0 to 4294967295`);
  return n;
}

function inputsOf(job: string, command: string[], options: SubmitOptions): { index: number; inputs: Hex } {
  const stdin = options.stdinFile !== undefined ? readFileSync(options.stdinFile) : Buffer.from(options.stdin ?? '', 'utf8');
  if (options.inputs !== undefined) {
    if (!/^0x([0-9a-fA-F]{2})*$/.test(options.inputs)) throw new StartupError('--inputs: use 0x and an even number of hex digits');
    const index = job === 'execute' ? 0 : job === 'invoke' ? 1 : Number(job);
    if (!Number.isInteger(index) || index < 0 || index > 255) throw new StartupError(`job ${job}: use execute, invoke or an index 0-255`);
    return { index, inputs: options.inputs as Hex };
  }
  if (job === 'execute' || job === '0') {
    if (!options.image) throw new StartupError('execute needs --image');
    if (command.length === 0)
      throw new StartupError('execute needs a command: faas tangle submit execute --image IMAGE -- COMMAND ARGS...');
    const cpus = options.cpus === undefined ? 0 : Math.round(Number(options.cpus) * 1000);
    if (!Number.isFinite(cpus) || cpus < 0) throw new StartupError(`--cpus ${options.cpus}: use a number of cores such as 0.5`);
    return {
      index: 0,
      inputs: encodeExecuteInputs({
        image: options.image,
        command,
        env: options.env,
        stdin,
        timeoutMs: int(options.timeoutMs, 'timeout-ms') ?? 0,
        executor: options.executor ?? '',
        memoryMb: int(options.memoryMb, 'memory-mb') ?? 0,
        cpuMillis: cpus,
        pids: int(options.pids, 'pids') ?? 0,
      }),
    };
  }
  if (job === 'invoke' || job === '1') {
    if (!options.function) throw new StartupError('invoke needs --function ID');
    return {
      index: 1,
      inputs: encodeInvokeInputs({
        functionId: options.function,
        stdin,
        env: options.env,
        timeoutMs: int(options.timeoutMs, 'timeout-ms') ?? 0,
      }),
    };
  }
  throw new StartupError(`job ${job}: use execute or invoke (or a job index with --inputs)`);
}

async function submit(job: string, command: string[], options: SubmitOptions, onUrl: (url: string) => void): Promise<void> {
  const { index, inputs } = inputsOf(job, command, options);
  const waitMs = int(options.waitMs, 'wait-ms') ?? 300_000;
  const { client, serviceId } = connect(options);
  onUrl(client.rpcUrl);
  const key = customerKey(options.keyFile);
  await requireContract(client);
  const progress = startProgress(`submitting job ${index} to service ${serviceId}`);
  let submitted: Awaited<ReturnType<typeof client.submit>>;
  try {
    submitted = await client.submit(key, serviceId, index, inputs);
  } finally {
    progress.stop();
  }
  const call = {
    service_id: submitted.serviceId,
    call_id: submitted.callId,
    submit_tx: submitted.hash,
    submit_block: submitted.blockNumber,
  };
  const callLine = `call ${submitted.callId} of service ${submitted.serviceId}: job ${index} submitted in block ${submitted.blockNumber} (transaction ${submitted.hash})`;
  if (!options.wait) {
    if (options.json) printJson(call);
    else process.stdout.write(`${callLine}\n`);
    return;
  }
  if (!options.json) process.stdout.write(`${callLine}\n`);
  const waiting = startProgress(`call ${submitted.callId}: waiting for an operator's result`);
  try {
    const answered = await client.waitForResult(submitted, {
      timeoutMs: waitMs,
      onPoll: ({ head }) =>
        waiting.update(
          `call ${submitted.callId}: waiting for an operator's result, ${head - submitted.blockNumber} blocks since it was submitted`,
        ),
    });
    waiting.stop();
    const result = resultToJson(answered.result);
    if (options.json) {
      printJson({ ...call, result_tx: answered.hash, result_block: answered.blockNumber, operator: answered.operator, result });
      return;
    }
    process.stdout.write(`result from ${answered.operator} in block ${answered.blockNumber} (transaction ${answered.hash}):\n`);
    printResult(result);
  } catch (err) {
    waiting.stop();
    if (!(err instanceof Error) || !/^no result for call/.test(err.message)) throw err;
    process.stderr.write(
      `faas: ${err.message} (\`faas tangle status --service ${submitted.serviceId} --call ${submitted.callId}\` shows it later)\n`,
    );
    if (options.json) printJson(call);
    process.exitCode = 1;
  }
}
