/** `faas dead-letters list|redrive|delete`: asynchronous invocations that used up their attempts. */
import type { Command } from 'commander';
import { type ClientFlags, clientCommand, createClient, nounCommand } from '../client/connection.js';
import { action, printJson, printTable } from '../client/output.js';
import { type PageFlags, pageQuery, printMore, withPageOptions } from '../client/paging.js';

function list(): Command {
  return withPageOptions(
    clientCommand('list', 'dead letters, most recently dead first').option('--function <id>', "only this function's"),
    'at most this many (default 100)',
  ).action(
    action(async (flags: ClientFlags & PageFlags & { function?: string }) => {
      const page = await createClient(flags).deadLetters.list({
        ...(flags.function === undefined ? {} : { function_id: flags.function }),
        ...pageQuery(flags),
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
      printMore(page.next_cursor);
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
