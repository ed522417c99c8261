/**
 * Which gateway the client commands talk to and with which key: flags, then the environment
 * (FAAS_URL, FAAS_API_KEY), then the config file (~/.config/faas/config.json), then the defaults
 * (http://127.0.0.1:8080, and the platform's own admin key file .data/admin.key when there is one in
 * the current folder, as `scripts/run.sh` leaves it).
 */
import { readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { FaasClient } from '@faas/sdk';
import { Command, Option } from 'commander';
import { VERSION } from '../version.js';
import { EXIT_FAILED, UsageError } from './output.js';
import { guardOutput } from './pipe.js';

export const DEFAULT_URL = 'http://127.0.0.1:8080';
const LOCAL_ADMIN_KEY = '.data/admin.key';

export interface ClientFlags {
  url?: string;
  apiKey?: string;
  config?: string;
  json?: boolean;
}

export interface Connection {
  url: string;
  apiKey: string | undefined;
}

interface ConfigFile {
  url?: string;
  api_key?: string;
}

/** `$XDG_CONFIG_HOME/faas/config.json`, or `~/.config/faas/config.json`. */
export function defaultConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME?.trim() ? env.XDG_CONFIG_HOME : join(homedir(), '.config');
  return join(base, 'faas', 'config.json');
}

function readConfigFile(path: string, explicit: boolean): ConfigFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (!explicit && (err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new UsageError(`cannot read the config file ${path}: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`the config file ${path} is not JSON: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new UsageError(`the config file ${path} must hold an object such as {"url": "${DEFAULT_URL}", "api_key": "faas_..."}`);
  }
  for (const [name, value] of Object.entries(parsed)) {
    if (name !== 'url' && name !== 'api_key')
      throw new UsageError(`the config file ${path} has an unknown field "${name}": only url and api_key`);
    if (typeof value !== 'string') throw new UsageError(`the config file ${path}: ${name} must be a string`);
  }
  const file = parsed as ConfigFile;
  if (file.api_key !== undefined && (statSync(path).mode & 0o077) !== 0) {
    process.stderr.write(`faas: warning: ${path} holds an API key and other users may read it: chmod 600 ${path}\n`);
  }
  return file;
}

function readLocalAdminKey(): string | undefined {
  try {
    return readFileSync(LOCAL_ADMIN_KEY, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/** The URL and key, from the first place that sets each. */
export function resolveConnection(flags: ClientFlags, env: NodeJS.ProcessEnv = process.env): Connection {
  const file = readConfigFile(flags.config ?? defaultConfigPath(env), flags.config !== undefined);
  const url = flags.url ?? (env.FAAS_URL?.trim() || undefined) ?? file.url ?? DEFAULT_URL;
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error('not http');
  } catch {
    throw new UsageError(`"${url}" is not an http(s) URL: use --url, FAAS_URL or "url" in the config file, such as ${DEFAULT_URL}`);
  }
  const apiKey = flags.apiKey ?? (env.FAAS_API_KEY?.trim() || undefined) ?? file.api_key ?? readLocalAdminKey();
  // A key is sent in a header: anything else would fail there, with a message about byte strings.
  if (apiKey !== undefined && !/^[\x21-\x7e]+$/.test(apiKey)) {
    throw new UsageError(
      'the API key holds spaces, control or non-ASCII characters; keys are visible ASCII (faas_...): check --api-key, FAAS_API_KEY or "api_key" in the config file',
    );
  }
  return { url, apiKey };
}

export function createClient(flags: ClientFlags): FaasClient {
  const { url, apiKey } = resolveConnection(flags);
  return new FaasClient({ url, ...(apiKey === undefined ? {} : { apiKey }), userAgent: `faas-cli/${VERSION}` });
}

/**
 * A client subcommand: --help, --url, --api-key, --config, --json. `failureExit`: its exit status
 * when its output cannot be written (pipe.ts).
 */
export function clientCommand(name: string, summary: string, failureExit: number = EXIT_FAILED): Command {
  return new Command(name)
    .hook('preAction', () => guardOutput(failureExit))
    .summary(summary)
    .version(VERSION, '-V, --version', 'print the version and exit')
    .helpOption('-h, --help', 'show this help and exit')
    .addOption(new Option('--url <url>', `the gateway (default: FAAS_URL, the config file, or ${DEFAULT_URL})`))
    .addOption(new Option('--api-key <key>', 'the API key to send (default: FAAS_API_KEY, the config file, or ./.data/admin.key)'))
    .addOption(new Option('--config <path>', `the config file (default ${defaultConfigPath()})`))
    .option('--json', 'print the answer as JSON');
}

/** A noun (`functions`, `keys`, ...) whose verbs are subcommands. */
export function nounCommand(name: string, summary: string, verbs: Command[]): Command {
  const noun = new Command(name)
    .summary(summary)
    .version(VERSION, '-V, --version', 'print the version and exit')
    .helpOption('-h, --help', 'show this help and exit');
  for (const verb of verbs) noun.addCommand(verb.exitOverride());
  return noun;
}
