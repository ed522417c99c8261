/** `faas keys create|list|get|revoke`: API keys (the admin scope). */
import type { KeyCreate, KeyInfo, Scope } from '@faas/sdk';
import { type Command, InvalidArgumentError } from 'commander';
import { type ClientFlags, clientCommand, createClient, nounCommand } from '../client/connection.js';
import { collect, parseInteger } from '../client/input.js';
import { action, printFields, printJson, printTable } from '../client/output.js';
import { everyOrOnePage, type PageFlags, printMore, withPageOptions } from '../client/paging.js';

/** `10/20`: 10 requests a second, bursts of 20. */
function parseRate(value: string): { per_second: number; burst: number } {
  const match = /^([0-9.]+)\/([0-9]+)$/.exec(value);
  if (!match) throw new InvalidArgumentError('PER_SECOND/BURST is expected, such as 10/20.');
  return { per_second: Number(match[1]), burst: Number(match[2]) };
}

/** Scopes as repeated flags or comma lists: `--scope invoke --scope history`, `--scope invoke,history`. */
function collectList(value: string, previous: string[] = []): string[] {
  return [
    ...previous,
    ...value
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  ];
}

function describe(key: KeyInfo): void {
  printFields({
    id: key.id,
    name: key.name,
    scopes: key.scopes,
    functions: key.functions ?? 'every function',
    'rate limit': key.rate_limit ? `${key.rate_limit.per_second}/s, bursts of ${key.rate_limit.burst}` : 'none',
    'max concurrency': key.max_concurrency ?? "the platform's (FAAS_KEY_MAX_CONCURRENCY)",
    created: key.created_at,
    expires: key.expires_at,
    revoked: key.revoked_at,
    'last used': key.last_used_at,
  });
}

interface CreateFlags extends ClientFlags {
  name: string;
  scope: string[];
  function?: string[];
  rate?: { per_second: number; burst: number };
  maxConcurrency?: number;
  expires?: string;
}

function create(): Command {
  return clientCommand('create', 'make an API key; the key is printed once, on stdout')
    .requiredOption('--name <name>', 'what the key is for')
    .requiredOption('--scope <scope>', 'invoke, functions, history, metrics or admin (repeatable, or comma-separated)', collectList)
    .option('--function <pattern>', 'limit the key to this function id, or prefix ending in * (repeatable)', collect)
    .option('--rate <per_second/burst>', 'a rate limit of its own, such as 10/20', parseRate)
    .option(
      '--max-concurrency <n>',
      "invocations it may have under way at once (default: the platform's FAAS_KEY_MAX_CONCURRENCY)",
      parseInteger,
    )
    .option('--expires <time>', 'refused from this time on (RFC 3339)')
    .addHelpText(
      'after',
      '\nExample:\n  KEY=$(faas keys create --name ci --scope invoke,history --function "billing-*" --rate 10/20 --max-concurrency 4)',
    )
    .action(
      action(async (flags: CreateFlags) => {
        const request: KeyCreate = {
          name: flags.name,
          scopes: flags.scope as Scope[],
          ...(flags.function === undefined ? {} : { functions: flags.function }),
          ...(flags.rate === undefined ? {} : { rate_limit: flags.rate }),
          ...(flags.maxConcurrency === undefined ? {} : { max_concurrency: flags.maxConcurrency }),
          ...(flags.expires === undefined ? {} : { expires_at: flags.expires }),
        };
        const created = await createClient(flags).keys.create(request);
        if (flags.json) return printJson(created);
        process.stdout.write(`${created.key}\n`);
        process.stderr.write(`faas: key ${created.id} ("${created.name}", ${created.scopes.join(', ')}) created; it is shown this once\n`);
      }),
    );
}

function list(): Command {
  return withPageOptions(
    clientCommand('list', 'the keys, revoked and expired ones included, oldest first'),
    'one page of at most this many (default: every key)',
  ).action(
    action(async (flags: ClientFlags & PageFlags) => {
      const client = createClient(flags);
      const { items: keys, page } = await everyOrOnePage(
        flags,
        () => client.keys.all(),
        (query) => client.keys.list(query),
        (p) => p.keys,
      );
      if (flags.json) return printJson(page ?? keys);
      printTable(
        ['ID', 'NAME', 'SCOPES', 'FUNCTIONS', 'MAX RUNNING', 'CREATED', 'EXPIRES', 'REVOKED'],
        keys.map((k) => [
          k.id,
          k.name,
          k.scopes.join(','),
          k.functions?.join(','),
          k.max_concurrency ?? 'default',
          k.created_at,
          k.expires_at,
          k.revoked_at,
        ]),
      );
      printMore(page?.next_cursor);
    }),
  );
}

function get(): Command {
  return clientCommand('get', 'one key (never its secret)')
    .argument('<id>', 'the key id')
    .action(
      action(async (id: string, flags: ClientFlags) => {
        const key = await createClient(flags).keys.get(id);
        if (flags.json) return printJson(key);
        describe(key);
      }),
    );
}

function revoke(): Command {
  return clientCommand('revoke', 'revoke a key: refused from the next request on')
    .argument('<id>', 'the key id')
    .action(
      action(async (id: string, flags: ClientFlags) => {
        await createClient(flags).keys.revoke(id);
        if (flags.json) return printJson({ revoked: id });
        process.stdout.write(`revoked ${id}\n`);
      }),
    );
}

export function keysCommand(): Command {
  return nounCommand('keys', 'API keys: create, list, get, revoke', [create(), list(), get(), revoke()]);
}
