/** `faas functions deploy|list|get|update|delete`: the function registry. */
import { ConflictError, type FaasClient, type FunctionInfo, type FunctionPatch } from '@faas/sdk';
import type { Command } from 'commander';
import { type ClientFlags, clientCommand, createClient, nounCommand } from '../client/connection.js';
import { type DefinitionFlags, definitionOf, fieldsFromFlags, patchToDefinition, readDefinitionFile } from '../client/definition.js';
import { collect, parseInteger, parseNumber } from '../client/input.js';
import { action, formatMs, printFields, printJson, printTable, UsageError } from '../client/output.js';
import { everyOrOnePage, type PageFlags, printMore, withPageOptions } from '../client/paging.js';

/** The flags that set a definition's fields, shared by deploy and update. */
function withDefinitionFlags(command: Command): Command {
  return command
    .argument('[command...]', 'the program and its arguments, after `--`')
    .option('-f, --file <path>', 'a YAML or JSON file with the fields of POST /functions (flags win over it)')
    .option('--image <image>', 'the image, such as faas/busybox:latest')
    .option('-e, --env <KEY=VALUE>', 'an environment variable (repeatable)', collect)
    .option('--allow-env <NAME>', 'a variable its callers may set, or a prefix ending in * (repeatable; default: none)', collect)
    .option('-s, --secret <NAME=value>', 'a secret, kept encrypted and never shown again (repeatable)', collect)
    .option('--executor <name>', 'docker, gvisor, qemu or firecracker')
    .option('--pool-mode <mode>', 'single-use, reuse or off')
    .option('--memory <mb>', 'memory limit in MiB', parseInteger)
    .option('--cpus <n>', 'CPU limit', parseNumber)
    .option('--pids <n>', 'process limit', parseInteger)
    .option('--timeout <ms>', 'timeout in milliseconds', parseInteger)
    .option('--max-concurrency <n>', 'invocations running at once', parseInteger)
    .option('--max-attempts <n>', 'attempts of an asynchronous invocation', parseInteger)
    .option('--retry-on-failure', 'retry asynchronous invocations when the function itself fails')
    .option('--callback-url <url>', 'POST asynchronous results here')
    .option('--description <text>', 'a description');
}

function describe(f: FunctionInfo): void {
  printFields({
    id: f.id,
    version: f.version,
    image: f.image,
    command: JSON.stringify(f.command),
    env: f.env_vars,
    'callers may set': f.allowed_env_vars.length > 0 ? f.allowed_env_vars : undefined,
    secrets: f.secret_names,
    executor: f.executor ?? 'default',
    'pool mode': f.pool_mode ?? 'default',
    limits: Object.keys(f.limits).length === 0 ? 'default' : f.limits,
    timeout: f.timeout_ms === null ? 'default' : formatMs(f.timeout_ms),
    'max concurrency': f.max_concurrency,
    'max attempts': f.max_attempts,
    'retry on failure': f.retry_on_failure || undefined,
    'callback url': (f as { callback_url?: string | null }).callback_url,
    description: f.description,
    created: f.created_at,
    updated: f.updated_at,
  });
}

type DeployFlags = ClientFlags & DefinitionFlags;

/** Creates the function, or changes the one registered under its id into what the definition says. */
async function deployOne(client: FaasClient, id: string | undefined, flags: DeployFlags, command: string[]) {
  const definition = definitionOf(id, flags, command);
  try {
    return { outcome: 'created', fn: await client.functions.create(definition) };
  } catch (err) {
    if (!(err instanceof ConflictError && err.code === 'FAAS_ERR_FUNCTION_EXISTS')) throw err;
  }
  const current = await client.functions.get(definition.id);
  const fn = await client.functions.update(definition.id, patchToDefinition(current, definition), { ifMatch: current.version });
  return { outcome: fn.version === current.version ? 'unchanged' : 'updated', fn };
}

function deploy(): Command {
  return withDefinitionFlags(
    clientCommand('deploy', 'register a function, or make the registered one what the definition says')
      .description(
        'Create the function, or update the one with its id so that it is exactly the definition (fields left out go back to their defaults; secrets are kept unless the definition names some, then exactly those). The definition comes from --file and the flags.',
      )
      .argument('[id]', 'the function id (or "id" in the file)'),
  )
    .addHelpText(
      'after',
      '\nExamples:\n  faas functions deploy echo --image faas/busybox:latest -- cat\n  faas functions deploy -f echo.yaml',
    )
    .action(
      action(async (id: string | undefined, command: string[], flags: DeployFlags) => {
        const { outcome, fn } = await deployOne(createClient(flags), id, flags, command);
        if (flags.json) return printJson(fn);
        process.stdout.write(`${outcome} ${fn.id} (version ${fn.version})\n`);
      }),
    );
}

function list(): Command {
  return withPageOptions(
    clientCommand('list', 'the functions the key may see, by id'),
    'one page of at most this many (default: every function)',
  ).action(
    action(async (flags: ClientFlags & PageFlags) => {
      const client = createClient(flags);
      const { items: functions, page } = await everyOrOnePage(
        flags,
        () => client.functions.all(),
        (query) => client.functions.list(query),
        (p) => p.functions,
      );
      if (flags.json) return printJson(page ?? functions);
      printTable(
        ['ID', 'VERSION', 'IMAGE', 'COMMAND', 'UPDATED'],
        functions.map((f) => [f.id, f.version, f.image, f.command.join(' '), f.updated_at]),
      );
      printMore(page?.next_cursor);
    }),
  );
}

function get(): Command {
  return clientCommand('get', 'one function (secret names only, never their values)')
    .argument('<id>', 'the function id')
    .action(
      action(async (id: string, flags: ClientFlags) => {
        const fn = await createClient(flags).functions.get(id);
        if (flags.json) return printJson(fn);
        describe(fn);
      }),
    );
}

interface UpdateFlags extends DeployFlags {
  unset?: string[];
  ifMatch?: number;
}

function update(): Command {
  return withDefinitionFlags(
    clientCommand('update', 'change some fields of a function (a JSON merge patch)')
      .description(
        'Change only the fields given (flags, --file), keep the rest; --unset FIELD resets one to its default (limits.cpus, secrets.NAME for one secret).',
      )
      .argument('<id>', 'the function id'),
  )
    .option('--unset <field>', 'reset a field to its default: timeout_ms, limits.cpus, secrets.NAME, ... (repeatable)', collect)
    .option('--if-match <version>', 'apply only at this version (else 412)', parseInteger)
    .action(
      action(async (id: string, command: string[], flags: UpdateFlags) => {
        const patch: Record<string, unknown> = {
          ...(flags.file === undefined ? {} : readDefinitionFile(flags.file)),
          ...fieldsFromFlags(flags, command),
        };
        delete patch.id;
        for (const field of flags.unset ?? []) {
          const [head, member, ...rest] = field.split('.');
          if (head === undefined || rest.length > 0 || (member !== undefined && head !== 'limits' && head !== 'secrets')) {
            throw new UsageError(`--unset ${field}: a field (timeout_ms), limits.NAME or secrets.NAME`);
          }
          if (member === undefined) patch[head] = null;
          else patch[head] = { ...(patch[head] as object | undefined), [member]: null };
        }
        if (Object.keys(patch).length === 0) throw new UsageError('nothing to change: give flags, --file or --unset');
        const fn = await createClient(flags).functions.update(
          id,
          patch as FunctionPatch,
          flags.ifMatch === undefined ? {} : { ifMatch: flags.ifMatch },
        );
        if (flags.json) return printJson(fn);
        process.stdout.write(`updated ${fn.id} (version ${fn.version})\n`);
      }),
    );
}

function remove(): Command {
  return clientCommand('delete', 'remove a function (its history stays until retention removes it)')
    .argument('<id>', 'the function id')
    .option('--if-match <version>', 'delete only at this version (else 412)', parseInteger)
    .action(
      action(async (id: string, flags: ClientFlags & { ifMatch?: number }) => {
        await createClient(flags).functions.delete(id, flags.ifMatch === undefined ? {} : { ifMatch: flags.ifMatch });
        if (flags.json) return printJson({ deleted: id });
        process.stdout.write(`deleted ${id}\n`);
      }),
    );
}

export function functionsCommand(): Command {
  return nounCommand('functions', 'the function registry: deploy, list, get, update, delete', [
    deploy(),
    list(),
    get(),
    update(),
    remove(),
  ]);
}
