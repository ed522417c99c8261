/** `faas invocations list|get|logs|cancel|wait`: the history, and asynchronous invocations. */
import type { CallbackDelivery, FaasClient, Invocation, InvocationRecord, ListInvocationsQuery } from '@faas/sdk';
import type { Command } from 'commander';
import { type ClientFlags, clientCommand, createClient, nounCommand } from '../client/connection.js';
import { action, formatMs, printFields, printJson, printTable } from '../client/output.js';
import { type PageFlags, pageQuery, printMore, withPageOptions } from '../client/paging.js';
import { startProgress } from '../client/progress.js';
import { EXIT_PLATFORM, emitFinal, emitInvokeError } from '../client/results.js';

/** Waits for an invocation's end, with a status line on a terminal. */
export async function waitWithProgress(client: FaasClient, id: string): Promise<InvocationRecord> {
  const progress = startProgress(`invocation ${id}: queued`);
  try {
    return await client.invocations.wait(id, {
      onPoll: (i) => progress.update(`invocation ${id}: ${i.state ?? i.status}${(i.attempts ?? 0) > 1 ? `, attempt ${i.attempts}` : ''}`),
    });
  } finally {
    progress.stop();
  }
}

function exitOf(i: Pick<Invocation, 'exit_code' | 'signal'>): string | number | undefined {
  return i.exit_code ?? i.signal ?? undefined;
}

interface ListFlags extends ClientFlags, PageFlags {
  status?: ListInvocationsQuery['status'];
  since?: string;
  until?: string;
  keyId?: string;
}

function list(): Command {
  return withPageOptions(
    clientCommand('list', "a function's invocations, newest first")
      .argument('<function>', 'the function id')
      .option('--status <status>', 'completed, out_of_memory, timed_out, cancelled or error')
      .option('--since <time>', 'started at or after (RFC 3339 or epoch milliseconds)')
      .option('--until <time>', 'started at or before')
      .option('--key-id <id>', 'made with this API key (admin for the admin key)'),
    'at most this many (default 100)',
  ).action(
    action(async (functionId: string, flags: ListFlags) => {
      const query: ListInvocationsQuery = {
        ...(flags.status === undefined ? {} : { status: flags.status }),
        ...(flags.since === undefined ? {} : { since: flags.since }),
        ...(flags.until === undefined ? {} : { until: flags.until }),
        ...(flags.keyId === undefined ? {} : { key_id: flags.keyId }),
        ...pageQuery(flags),
      };
      const page = await createClient(flags).invocations.list(functionId, query);
      if (flags.json) return printJson(page);
      printTable(
        ['ID', 'STATUS', 'EXIT', 'DURATION', 'STARTED', 'KEY'],
        page.invocations.map((i) => [i.id, i.status ?? i.state, exitOf(i), formatMs(i.duration_ms), i.started_at, i.key_id]),
      );
      printMore(page.next_cursor);
    }),
  );
}

/** `delivered to https://hooks.example (1 attempt, HTTP 204)`, `refused: ...`, `pending (2 attempts so far)`. */
export function callbackLine(c: CallbackDelivery): string {
  const tries = `${c.attempts} attempt${c.attempts === 1 ? '' : 's'}`;
  const status = c.last_status === null ? '' : `, HTTP ${c.last_status}`;
  if (c.state === 'pending') return `pending to ${c.url_origin} (${tries} so far${status})`;
  const detail = c.last_error ? `: ${c.last_error}` : '';
  return `${c.state} to ${c.url_origin} (${tries}${status})${c.state === 'delivered' ? '' : detail}`;
}

function get(): Command {
  return clientCommand('get', 'one invocation: where it stands, its attempts and outcome')
    .argument('<id>', 'the invocation id')
    .action(
      action(async (id: string, flags: ClientFlags) => {
        const i = await createClient(flags).invocations.get(id);
        if (flags.json) return printJson(i);
        printFields({
          id: i.id,
          function: i.function_version === null ? i.function_id : `${i.function_id} (version ${i.function_version})`,
          mode: i.mode,
          state: i.state,
          status: i.status,
          exit: exitOf(i),
          error: i.error_code ? `${i.error} (${i.error_code})` : i.error,
          attempts: i.max_attempts === undefined ? undefined : `${i.attempts} of ${i.max_attempts}`,
          executor: i.executor,
          key: i.key_id,
          duration: formatMs(i.duration_ms),
          output: `${i.stdout_bytes} bytes stdout, ${i.stderr_bytes} bytes stderr${i.truncated ? ' (truncated)' : ''}`,
          accepted: i.accepted_at,
          started: i.started_at,
          finished: i.finished_at,
          'next attempt': i.next_attempt_at,
          'cancel requested': i.cancel_requested || undefined,
          callback: i.callback ? callbackLine(i.callback) : undefined,
        });
      }),
    );
}

function logs(): Command {
  return clientCommand('logs', 'write the output the history kept: stdout to stdout, stderr to stderr')
    .argument('<id>', 'the invocation id')
    .action(
      action(async (id: string, flags: ClientFlags) => {
        const output = await createClient(flags).invocations.output(id);
        if (flags.json) return printJson(output);
        process.stdout.write(output.stdout);
        process.stderr.write(output.stderr);
        if (output.output_truncated)
          process.stderr.write('\nfaas: the history kept only the start of this output (FAAS_HISTORY_OUTPUT_BYTES)\n');
      }),
    );
}

function cancel(): Command {
  return clientCommand('cancel', 'cancel an asynchronous invocation: a queued one never runs, a running one is killed')
    .argument('<id>', 'the invocation id')
    .action(
      action(async (id: string, flags: ClientFlags) => {
        const i = await createClient(flags).invocations.cancel(id);
        if (flags.json) return printJson(i);
        process.stdout.write(
          i.state === 'cancelled' ? `cancelled ${i.id}\n` : `cancelling ${i.id}: still ${i.state}; see faas invocations get ${i.id}\n`,
        );
      }),
    );
}

function wait(): Command {
  return clientCommand('wait', 'wait for an asynchronous invocation to end and write its result as `faas invoke` does', EXIT_PLATFORM)
    .argument('<id>', 'the invocation id')
    .action(async (id: string, flags: ClientFlags) => {
      try {
        process.exitCode = await emitFinal(await waitWithProgress(createClient(flags), id), flags.json);
      } catch (err) {
        process.exitCode = await emitInvokeError(err, flags.json);
      }
    });
}

export function invocationsCommand(): Command {
  return nounCommand('invocations', 'the history: list, get, logs, cancel, wait', [list(), get(), logs(), cancel(), wait()]);
}
