/**
 * `faas invoke`: runs a registered function, or an image and command ad hoc, as a faithful pipe:
 * stdin from a pipe, --data or --file; the function's stdout and stderr written as it wrote them;
 * its exit status as ours. --async queues it (prints its id); --wait queues it and waits for the end.
 */
import type { FaasClient, InvokeInput, Stdin } from '@faas/sdk';
import { type Command, Option } from 'commander';
import { type ClientFlags, clientCommand, createClient } from '../client/connection.js';
import { collect, type LimitFlags, limitsOf, parseInteger, parseNumber, readStdinFlags, type StdinFlags } from '../client/input.js';
import { printJson, UsageError } from '../client/output.js';
import { startProgress } from '../client/progress.js';
import { EXIT_PLATFORM, emitFinal, emitInvokeError, emitResult } from '../client/results.js';
import { EXECUTOR_HELP } from './common.js';
import { waitWithProgress } from './invocations.js';

interface InvokeFlags extends ClientFlags, StdinFlags, LimitFlags {
  image?: string;
  env?: string[];
  timeout?: number;
  executor?: string;
  async?: boolean;
  wait?: boolean;
  idempotencyKey?: string;
}

function invokeInput(command: string[], flags: InvokeFlags, stdin: Stdin | undefined): InvokeInput {
  const limits = limitsOf(flags);
  const common = {
    ...(stdin === undefined ? {} : { stdin }),
    ...(flags.env === undefined ? {} : { env_vars: flags.env }),
    ...(flags.timeout === undefined ? {} : { timeout_ms: flags.timeout }),
    ...(limits === undefined ? {} : { limits }),
  };
  if (flags.image === undefined) {
    if (command.length > 0)
      throw new UsageError(
        `a command (${command[0]} ...) runs ad hoc only: add --image IMAGE, or leave it out to run the registered function`,
      );
    if (flags.executor !== undefined) throw new UsageError('--executor is for ad-hoc runs (--image); a registered function has its own');
    return common;
  }
  const [program, ...args] = command;
  if (program === undefined) throw new UsageError('--image needs a command to run: faas invoke ID --image IMAGE -- COMMAND [ARGS...]');
  return {
    image: flags.image,
    command: [program, ...args],
    ...(flags.executor === undefined ? {} : { executor: flags.executor as 'docker' }),
    ...common,
  };
}

async function runSync(client: FaasClient, id: string, input: InvokeInput, json: boolean | undefined): Promise<number> {
  const progress = startProgress(`running ${id}`);
  try {
    const result = await client.invoke(id, input);
    progress.stop();
    return await emitResult(result, json);
  } catch (err) {
    progress.stop();
    return emitInvokeError(err, json);
  }
}

async function runAsync(client: FaasClient, id: string, input: InvokeInput, flags: InvokeFlags): Promise<number> {
  let accepted: Awaited<ReturnType<FaasClient['invokeAsync']>>;
  try {
    accepted = await client.invokeAsync(id, input, flags.idempotencyKey === undefined ? {} : { idempotencyKey: flags.idempotencyKey });
  } catch (err) {
    return emitInvokeError(err, flags.json);
  }
  if (!flags.wait) {
    if (flags.json) printJson(accepted);
    else process.stdout.write(`${accepted.invocation_id}\n`);
    return 0;
  }
  try {
    return await emitFinal(await waitWithProgress(client, accepted.invocation_id), flags.json);
  } catch (err) {
    return emitInvokeError(err, flags.json);
  }
}

export function invokeCommand(): Command {
  return clientCommand('invoke', 'run a function and pipe its stdin, stdout, stderr and exit status', EXIT_PLATFORM)
    .description(
      "Run the registered function ID, or (with --image) IMAGE and the command after `--` ad hoc under the id ID. Standard input is sent as stdin when it is a pipe or a file (or --data, --file); the function's stdout and stderr are written to ours byte for byte, and faas exits with its exit status (128 + n for signal n). 124: it ran past its timeout; 125: faas could not run it (the message says why).",
    )
    .argument('<id>', 'the function id (a registered function, or any id for an ad-hoc run)')
    .argument('[command...]', 'with --image: the program and its arguments, after `--`')
    .option('--image <image>', 'run ad hoc: this image (faas/busybox:latest) and the command after --')
    .option('-d, --data <text>', 'send this text as stdin')
    .option('-f, --file <path>', 'send this file as stdin (- for standard input)')
    .option('--no-stdin', 'send no stdin, even when standard input is a pipe')
    .option('-e, --env <KEY=VALUE>', 'an environment variable (repeatable)', collect)
    .option('--timeout <ms>', "the function's timeout in milliseconds (at most its own)", parseInteger)
    .option('--memory <mb>', 'memory limit in MiB', parseInteger)
    .option('--cpus <n>', 'CPU limit', parseNumber)
    .option('--pids <n>', 'process limit', parseInteger)
    .option('--executor <name>', `ad hoc: ${EXECUTOR_HELP}`)
    .addOption(new Option('--async', 'queue it (Prefer: respond-async) and print its invocation id').conflicts('wait'))
    .option('--wait', 'queue it and wait for its end, then write its result as a synchronous call does')
    .option('--idempotency-key <key>', 'with --async or --wait: the same key never runs the invocation twice')
    .addHelpText(
      'after',
      `
Examples:
  printf 'a\\0b' | faas invoke f --image faas/busybox:latest -- cat | xxd
  faas invoke greet --data world
  faas invoke report --file input.json --wait
  id=$(faas invoke report --async) && faas invocations get "$id"`,
    )
    .action(async (id: string, command: string[], flags: InvokeFlags) => {
      let code: number;
      try {
        if (flags.idempotencyKey !== undefined && !flags.async && !flags.wait)
          throw new UsageError('--idempotency-key is for --async and --wait');
        const client = createClient(flags);
        const stdin = await readStdinFlags(flags);
        const input = invokeInput(command, flags, stdin);
        code = flags.async || flags.wait ? await runAsync(client, id, input, flags) : await runSync(client, id, input, flags.json);
      } catch (err) {
        code = await emitInvokeError(err, flags.json);
      }
      process.exitCode = code;
    });
}
