/** `faas dead-letters list|redrive|delete`: asynchronous invocations that used up their attempts. */
import type { Command } from 'commander';
import { type ClientFlags, clientCommand, createClient, nounCommand } from '../client/connection.js';
import { parseInteger } from '../client/input.js';
import { action, printJson, printTable } from '../client/output.js';

function list(): Command {
  return clientCommand('list', 'dead letters, most recently dead first')
    .option('--function <id>', "only this function's")
    .option('--limit <n>', 'at most this many (default 100)', parseInteger)
    .option('--cursor <cursor>', "the next page: a previous answer's next_cursor (shown with --json)")
    .action(
      action(async (flags: ClientFlags & { function?: string; limit?: number; cursor?: string }) => {
        const page = await createClient(flags).deadLetters.list({
          ...(flags.function === undefined ? {} : { function_id: flags.function }),
          ...(flags.limit === undefined ? {} : { limit: flags.limit }),
          ...(flags.cursor === undefined ? {} : { cursor: flags.cursor }),
        });
        if (flags.json) return printJson(page);
        printTable(
          ['INVOCATION', 'FUNCTION', 'ATTEMPTS', 'ERROR', 'DEAD'],
          page.dead_letters.map((d) => [
            d.invocation_id,
            d.function_id,
            `${d.attempts}/${d.max_attempts}`,
            d.error_code ?? d.error,
            d.dead_at,
          ]),
        );
        if (page.next_cursor !== null) process.stderr.write(`faas: more: --cursor ${page.next_cursor}\n`);
      }),
    );
}

function redrive(): Command {
  return clientCommand('redrive', 'queue a dead invocation again, with a new set of attempts')
    .argument('<id>', 'the invocation id')
    .action(
      action(async (id: string, flags: ClientFlags) => {
        const accepted = await createClient(flags).deadLetters.redrive(id);
        if (flags.json) return printJson(accepted);
        process.stdout.write(`queued ${accepted.invocation_id}\n`);
      }),
    );
}

function remove(): Command {
  return clientCommand('delete', 'drop a dead letter (the invocation stays readable as failed)')
    .argument('<id>', 'the invocation id')
    .action(
      action(async (id: string, flags: ClientFlags) => {
        await createClient(flags).deadLetters.delete(id);
        if (flags.json) return printJson({ deleted: id });
        process.stdout.write(`deleted ${id}\n`);
      }),
    );
}

export function deadLettersCommand(): Command {
  return nounCommand('dead-letters', 'asynchronous invocations that used up their attempts: list, redrive, delete', [
    list(),
    redrive(),
    remove(),
  ]);
}
