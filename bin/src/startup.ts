/**
 * What every `faas` command shares at start-up: the effective configuration (`.env` under the
 * environment), and one way to fail: a single line on stderr that says what to do, exit code 2,
 * never a stack trace.
 */
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { type Config, isFaasError, loadConfig, mergeDotenv, readDotenv } from '@faas/common';

/** Exit code of every start-up failure: bad configuration, a missing file, a busy port, no engine. */
export const EXIT_STARTUP = 2;

/** A start-up failure whose message already says what went wrong and how to fix it. */
export class StartupError extends Error {
  override readonly name = 'StartupError';
}

/** Prints one line and exits with EXIT_STARTUP. */
export function exitWith(message: string): never {
  process.stderr.write(`faas: ${message.replace(/\s*\n\s*/g, ' ').trim()}\n`);
  process.exit(EXIT_STARTUP);
}

/** The one-line report of any error thrown while starting. */
export function describeStartupError(err: unknown, prefix = 'cannot start'): string {
  if (err instanceof StartupError) return `${prefix}: ${err.message}`;
  if (isFaasError(err, 'FAAS_ERR_CONFIG')) return `configuration error: ${err.message}`;
  if (err instanceof Error) return `${prefix}: ${err.message}`;
  return `${prefix}: ${String(err)}`;
}

export interface EffectiveConfig {
  config: Readonly<Config>;
  /** Where each variable came from when not from the environment ("FILE:LINE"). */
  sources: Record<string, string>;
  /** The .env file that was read, if any. */
  envFile: string | undefined;
}

/**
 * Reads `.env` (or `envFile`), puts the environment over it and validates the result. `explicit`:
 * the file was named on the command line, so its absence is an error.
 */
export function readEffectiveConfig(envFile: string, explicit: boolean): EffectiveConfig {
  const path = resolve(envFile);
  const file = readDotenv(path);
  if (!file && explicit) throw new StartupError(`--dotenv ${envFile}: no such file (${path})`);
  const { env, sources } = mergeDotenv(process.env, file);
  const config = loadConfig(env, availableParallelism(), { sources });
  // Variables from .env reach the process environment too (DOCKER_HOST, TMPDIR for VM state dirs).
  for (const name of Object.keys(sources)) process.env[name] ??= env[name];
  return { config, sources, envFile: file ? path : undefined };
}

/** Where a variable's value came from, for messages: "from the environment", "from FILE:LINE" or "the default". */
export function sourceOf(name: string, sources: Record<string, string>): string {
  if (sources[name]) return `from ${sources[name]}`;
  return process.env[name]?.trim() ? 'from the environment' : 'the default';
}
