/** Options and behaviour every `faas` subcommand shares. */
import { EXECUTOR_KINDS } from '@faas/common';
import { Command } from 'commander';
import { VERSION } from '../version.js';

/** "docker, gvisor, ... or oci": the executor kinds, from the one list of them in @faas/common. */
export const EXECUTOR_HELP = `${EXECUTOR_KINDS.slice(0, -1).join(', ')} or ${EXECUTOR_KINDS[EXECUTOR_KINDS.length - 1]}`;

export const ENV_FILE_DEFAULT = '.env';

export interface DotenvOptions {
  dotenv?: string;
}

/** A subcommand with --help, --version and --dotenv. */
export function subcommand(name: string, summary: string): Command {
  return new Command(name)
    .summary(summary)
    .version(VERSION, '-V, --version', 'print the version and exit')
    .helpOption('-h, --help', 'show this help and exit')
    .option('--dotenv <path>', `read variables from this file instead of ${ENV_FILE_DEFAULT} in the current folder`);
}

/** The .env file to read and whether the user named it. */
export function dotenvOf(options: DotenvOptions): { path: string; explicit: boolean } {
  return options.dotenv !== undefined ? { path: options.dotenv, explicit: true } : { path: ENV_FILE_DEFAULT, explicit: false };
}

export const CONFIG_HELP = `
Configuration: FAAS_* variables (plus DOCKER_HOST and RUST_LOG) from the environment and from
.env in the current folder; the environment wins. Every variable, its default and the .env
syntax: docs/CONFIGURATION.md. \`faas config\` prints the effective configuration.`;
