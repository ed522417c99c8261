/**
 * Query strings: each parameter of the list routes checked, an unknown or repeated one refused, and
 * any parameter refused on a route that reads none (the invoke route); every fault a 400
 * FAAS_ERR_INVALID_QUERY naming the parameter.
 */
import { FaasError } from '@faas/common';
import { parseRfc3339 } from './auth/key-request.js';
import { toWellFormedText } from './validation.js';

export const LIST_LIMIT_DEFAULT = 100;
export const LIST_LIMIT_MAX = 1000;

/** Longest cursor accepted; the store's are far shorter. */
const CURSOR_MAX_LENGTH = 1024;
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;

function invalid(name: string, message: string): never {
  throw new FaasError('FAAS_ERR_INVALID_QUERY', message, { details: { field: name } });
}

/** The query as single strings; throws for a parameter not in `known` or given twice. */
export function readQuery(query: unknown, known: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries((query ?? {}) as Record<string, unknown>)) {
    const shown = toWellFormedText(name.slice(0, 64));
    if (!known.includes(name)) invalid(shown, `unknown query parameter "${shown}"; this route takes ${known.join(', ')}`);
    if (typeof value !== 'string') invalid(shown, `${shown} is given more than once`);
    out[name] = value;
  }
  return out;
}

/**
 * For a route that reads no query string: throws for its first parameter, naming it. `instead`
 * tells, per parameter name, what to send in its place (a request that meant something by it must
 * not run as if it had not been sent).
 */
export function refuseQuery(query: unknown, route: string, instead: Record<string, string> = {}): void {
  for (const name of Object.keys((query ?? {}) as Record<string, unknown>)) {
    const shown = toWellFormedText(name.slice(0, 64));
    const hint = Object.hasOwn(instead, name) ? `: ${instead[name]}` : '';
    invalid(shown, `unknown query parameter "${shown}"; ${route} takes no query parameters${hint}`);
  }
}

export function parseLimit(value: string | undefined): number {
  if (value === undefined) return LIST_LIMIT_DEFAULT;
  const n = Number(value);
  if (!/^[0-9]{1,4}$/.test(value) || n < 1 || n > LIST_LIMIT_MAX) invalid('limit', `limit must be an integer from 1 to ${LIST_LIMIT_MAX}`);
  return n;
}

export function parseCursor(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (value.length === 0 || value.length > CURSOR_MAX_LENGTH) invalid('cursor', 'cursor must be the next_cursor of a previous page');
  return value;
}

/** An RFC 3339 time or epoch milliseconds, as epoch milliseconds. */
export function parseTime(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  let ms = Number.NaN;
  if (/^[0-9]{1,16}$/.test(value)) ms = Number(value);
  // parseRfc3339 refuses a day or an hour that does not exist (2026-02-30, 24:00), which Date.parse rolls over.
  else if (RFC3339.test(value)) ms = parseRfc3339(value.replace(' ', 'T')) ?? Number.NaN;
  if (!Number.isSafeInteger(ms) || ms < 0) {
    invalid(name, `${name} must be an RFC 3339 time (2026-01-31T12:00:00Z) or epoch milliseconds`);
  }
  return ms;
}
