/**
 * How the client commands print: JSON with --json (the gateway's answer as it is), otherwise lines
 * and tables for people; errors as one line on stderr, `faas: <message> (<code>)`. Exit codes: 0
 * done, 1 the gateway refused or failed, 2 a usage error (a bad flag or file).
 */
import { CallTimeoutError, ConnectionError, FaasError } from '@faas/sdk';
import { EXIT_STARTUP } from '../startup.js';

export const EXIT_FAILED = 1;
export const EXIT_USAGE = EXIT_STARTUP;

/** A mistake in the command line or a file it names: exit 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** `name: value` lines, names aligned; null and undefined values are left out. */
export function printFields(fields: Record<string, unknown>): void {
  const entries = Object.entries(fields).filter(
    ([, v]) => v !== undefined && v !== null && v !== '' && !(Array.isArray(v) && v.length === 0),
  );
  const width = Math.max(0, ...entries.map(([k]) => k.length));
  for (const [name, value] of entries) process.stdout.write(`${`${name}:`.padEnd(width + 2)}${formatValue(value)}\n`);
}

function formatValue(value: unknown): string {
  if (Array.isArray(value)) return value.map(String).join(', ');
  if (typeof value === 'object' && value !== null) return JSON.stringify(value);
  return String(value);
}

/** A table with a header row; `-` for empty cells. */
export function printTable(headers: string[], rows: unknown[][]): void {
  const cells = rows.map((row) => row.map((v) => (v === undefined || v === null || v === '' ? '-' : formatValue(v))));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((row) => row[i]?.length ?? 0)));
  const line = (row: string[]) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  process.stdout.write(`${line(headers)}\n`);
  for (const row of cells) process.stdout.write(`${line(row)}\n`);
}

/** One line for any error, and the exit code it deserves. */
export function describeError(err: unknown): { message: string; exitCode: number } {
  if (err instanceof UsageError) return { message: err.message, exitCode: EXIT_USAGE };
  if (err instanceof FaasError) {
    const details = [err.code, err.field === undefined ? undefined : `field ${err.field}`].filter(Boolean).join(', ');
    return { message: `${err.message} (${details})`, exitCode: EXIT_FAILED };
  }
  if (err instanceof ConnectionError) {
    return { message: `${err.message}: is the gateway running? (faas serve; --url or FAAS_URL for another)`, exitCode: EXIT_FAILED };
  }
  if (err instanceof CallTimeoutError) return { message: err.message, exitCode: EXIT_FAILED };
  return { message: err instanceof Error ? err.message : String(err), exitCode: EXIT_FAILED };
}

/** Prints the error (as the gateway's JSON body with --json) and sets the exit code. */
export function reportError(err: unknown, json: boolean | undefined, exitCode?: number): void {
  const described = describeError(err);
  if (json && err instanceof FaasError) process.stderr.write(`${JSON.stringify({ status: err.status, ...err.body })}\n`);
  else process.stderr.write(`faas: ${described.message.replace(/\s*\n\s*/g, ' ')}\n`);
  process.exitCode = exitCode ?? described.exitCode;
}

/** Runs a command's body, reporting any error as one line with its exit code. */
export function action<A extends unknown[]>(body: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await body(...args);
    } catch (err) {
      const options = args.find((a): a is { json?: boolean } => typeof a === 'object' && a !== null && !Array.isArray(a) && 'json' in a);
      reportError(err, options?.json);
    }
  };
}

/** A duration in milliseconds, for people: 41 ms, 2.3 s, 4 min 5 s. */
export function formatMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}
