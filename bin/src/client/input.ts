/** Parsing of the client commands' flags: stdin, KEY=VALUE lists, numbers, limits. */
import { readFileSync } from 'node:fs';
import type { FunctionLimits } from '@faas/sdk';
import { InvalidArgumentError } from 'commander';
import { UsageError } from './output.js';

export interface StdinFlags {
  data?: string;
  file?: string;
  stdin?: boolean;
}

async function readAll(stream: NodeJS.ReadableStream): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks);
}

/**
 * The bytes to send as stdin: --data, --file (`-` is standard input), else standard input when it is
 * a pipe or a file (not a terminal) unless --no-stdin; undefined when there is none.
 */
export async function readStdinFlags(flags: StdinFlags): Promise<Uint8Array | undefined> {
  if (flags.data !== undefined && flags.file !== undefined) throw new UsageError('--data and --file cannot be used together');
  if (flags.data !== undefined) return new TextEncoder().encode(flags.data);
  if (flags.file === '-') return readAll(process.stdin);
  if (flags.file !== undefined) {
    try {
      return readFileSync(flags.file);
    } catch (err) {
      throw new UsageError(`--file ${flags.file}: ${(err as Error).message}`);
    }
  }
  if (flags.stdin === false || process.stdin.isTTY) return undefined;
  const bytes = await readAll(process.stdin);
  return bytes.length === 0 ? undefined : bytes;
}

/** commander's collector of a repeatable flag. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export function parseInteger(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('a whole number is expected.');
  return Number(value);
}

export function parseNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError('a number is expected.');
  return n;
}

/** `NAME=value` pairs as an object (secrets). */
export function pairsToObject(flag: string, pairs: string[] | undefined): Record<string, string> | undefined {
  if (pairs === undefined) return undefined;
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new UsageError(`${flag} takes NAME=value, not "${pair}"`);
    out[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return out;
}

export interface LimitFlags {
  memory?: number;
  cpus?: number;
  pids?: number;
}

export function limitsOf(flags: LimitFlags): FunctionLimits | undefined {
  const limits: FunctionLimits = {};
  if (flags.memory !== undefined) limits.memory_mb = flags.memory;
  if (flags.cpus !== undefined) limits.cpus = flags.cpus;
  if (flags.pids !== undefined) limits.pids = flags.pids;
  return Object.keys(limits).length === 0 ? undefined : limits;
}
