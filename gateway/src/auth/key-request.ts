/**
 * Validation of a `POST /keys` body into what the store writes. Each refusal is 400
 * FAAS_ERR_INVALID_REQUEST naming the field (`details.field`) and the fix; unknown fields are
 * refused, not ignored, so a misspelt `expires_at` cannot silently create a key that never expires.
 */
import { FaasError } from '@faas/common';
import { type KeyInput, SCOPES, type Scope } from '@faas/store';

export type KeyFields = Omit<KeyInput, 'id' | 'secretHash'>;

const FIELDS = new Set(['name', 'scopes', 'functions', 'rate_limit', 'max_concurrency', 'expires_at']);
const RATE_FIELDS = new Set(['per_second', 'burst']);
export const NAME_MAX = 100;
export const FUNCTIONS_MAX = 100;
export const RATE_MAX_PER_SECOND = 100_000;
export const BURST_MAX = 1_000_000;
/** As a function's own `max_concurrency`. */
export const MAX_CONCURRENCY_MAX = 10_000;

/** A function id, or a prefix of one followed by `*` (the prefix may be empty: every function). */
const FUNCTION_PATTERN = /^(?:[A-Za-z0-9][A-Za-z0-9._-]{0,127}|(?:[A-Za-z0-9][A-Za-z0-9._-]{0,126})?\*)$/;
/** RFC 3339 date-time: a full date, `T`, a time with optional fraction, and `Z` or an offset. */
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?(?:[Zz]|[+-]\d{2}:\d{2})$/;

function invalid(field: string, message: string): never {
  throw new FaasError('FAAS_ERR_INVALID_REQUEST', `${field}: ${message}`, { details: { field } });
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Epoch milliseconds of an RFC 3339 time, or undefined when it is not one (or names a day that does not exist). */
export function parseRfc3339(text: string): number | undefined {
  const match = RFC3339.exec(text);
  if (!match) return undefined;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const ms = Date.parse(text.toUpperCase());
  if (Number.isNaN(ms) || hour > 23 || minute > 59 || second > 59) return undefined;
  // Date.parse rolls 31 February over to March; refuse a day that does not exist.
  const date = new Date(Date.UTC(year, month - 1, day));
  if (date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) return undefined;
  return ms;
}

function parseName(value: unknown): string {
  if (typeof value !== 'string') invalid('name', 'required: a string of 1-100 characters');
  const length = [...value].length;
  if (length < 1 || length > NAME_MAX) invalid('name', `must be 1-${NAME_MAX} characters, got ${length}`);
  // C0 and C1 controls, and the bidirectional formatting characters (Unicode UAX #9), which would
  // let a name reorder the text around it wherever it is shown (the console, `faas keys list`).
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (/[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/.test(value) || !isWellFormed(value)) {
    invalid(
      'name',
      'must be text without control or bidirectional formatting characters (U+202A-U+202E, U+2066-U+2069, U+200E, U+200F, U+061C)',
    );
  }
  return value;
}

/** `String.prototype.isWellFormed` (Node 20) is missing from the ES2023 lib the build targets. */
function isWellFormed(value: string): boolean {
  return (value as string & { isWellFormed(): boolean }).isWellFormed();
}

function parseScopes(value: unknown): Scope[] {
  const all = SCOPES.join(', ');
  if (!Array.isArray(value) || value.length === 0) invalid('scopes', `required: a non-empty list of ${all}`);
  const seen = new Set<Scope>();
  for (const scope of value) {
    if (typeof scope !== 'string' || !(SCOPES as readonly string[]).includes(scope)) {
      invalid('scopes', `${JSON.stringify(scope).slice(0, 40)} is not a scope; use ${all}`);
    }
    if (seen.has(scope as Scope)) invalid('scopes', `${scope} is listed twice`);
    seen.add(scope as Scope);
  }
  return [...seen];
}

function parseFunctions(value: unknown): string[] | null {
  if (value === undefined || value === null) return null;
  if (!Array.isArray(value) || value.length < 1 || value.length > FUNCTIONS_MAX) {
    invalid('functions', `must be null (every function) or a list of 1-${FUNCTIONS_MAX} function ids or prefixes ending in "*"`);
  }
  for (const pattern of value) {
    if (typeof pattern !== 'string' || !FUNCTION_PATTERN.test(pattern) || pattern.includes('..')) {
      invalid(
        'functions',
        `${JSON.stringify(pattern).slice(0, 140)} is not a function id (1-128 of letters, digits, ".", "_", "-", starting with a letter or digit, no "..") or such a prefix followed by "*"`,
      );
    }
  }
  return [...new Set(value as string[])];
}

/** True for a function list that allows every function: null, or one holding `*`. */
export function reachesEveryFunction(functions: readonly string[] | null): boolean {
  return functions === null || functions.includes('*');
}

function parseRateLimit(value: unknown): { ratePerSecond: number | null; rateBurst: number | null } {
  if (value === undefined || value === null) return { ratePerSecond: null, rateBurst: null };
  if (!isObject(value)) invalid('rate_limit', 'must be null or {"per_second": number, "burst": integer}');
  for (const key of Object.keys(value)) {
    if (!RATE_FIELDS.has(key)) invalid(`rate_limit.${key}`, 'unknown field; rate_limit has per_second and burst');
  }
  const perSecond = value.per_second;
  if (typeof perSecond !== 'number' || !Number.isFinite(perSecond) || perSecond <= 0 || perSecond > RATE_MAX_PER_SECOND) {
    invalid('rate_limit.per_second', `required: a number above 0 and at most ${RATE_MAX_PER_SECOND}`);
  }
  const burst = value.burst;
  if (typeof burst !== 'number' || !Number.isInteger(burst) || burst < 1 || burst > BURST_MAX) {
    invalid('rate_limit.burst', `required: an integer from 1 to ${BURST_MAX}`);
  }
  return { ratePerSecond: perSecond, rateBurst: burst };
}

/** Null or absent: the platform's FAAS_KEY_MAX_CONCURRENCY. */
function parseMaxConcurrency(value: unknown): number | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_CONCURRENCY_MAX) {
    invalid(
      'max_concurrency',
      `must be null (the platform's default, FAAS_KEY_MAX_CONCURRENCY) or an integer from 1 to ${MAX_CONCURRENCY_MAX}: the invocations this key may have under way at once`,
    );
  }
  return value;
}

function parseExpiry(value: unknown, now: number): number | null {
  if (value === undefined || value === null) return null;
  const ms = typeof value === 'string' ? parseRfc3339(value) : undefined;
  if (ms === undefined) invalid('expires_at', 'must be null or an RFC 3339 time, e.g. 2030-01-31T12:00:00Z');
  if (ms <= now) invalid('expires_at', 'must be in the future');
  return ms;
}

/** The body of `POST /keys`, checked; `now` (epoch milliseconds) decides what "the future" is. */
export function parseKeyRequest(body: unknown, now: number): KeyFields {
  if (!isObject(body)) invalid('body', 'send a JSON object {"name", "scopes", "functions", "rate_limit", "max_concurrency", "expires_at"}');
  for (const key of Object.keys(body)) {
    if (!FIELDS.has(key))
      invalid(key.slice(0, 100), 'unknown field; a key has name, scopes, functions, rate_limit, max_concurrency and expires_at');
  }
  const name = parseName(body.name);
  const scopes = parseScopes(body.scopes);
  const functions = parseFunctions(body.functions);
  // An admin key makes keys, unlimited ones included: a function list on it would limit nothing.
  if (scopes.includes('admin') && !reachesEveryFunction(functions)) {
    invalid(
      'functions',
      'a key with the admin scope reaches every function (it can make keys for any), so it cannot be limited: leave functions null, or give the key the scopes it needs instead of admin',
    );
  }
  // The metrics name every function (their `function` label): a function list would hide nothing.
  if (scopes.includes('metrics') && !reachesEveryFunction(functions)) {
    invalid(
      'functions',
      'a key with the metrics scope reads the metrics of every function (their labels name them), so it cannot be limited: leave functions null, or give the Prometheus server a key of its own with only the metrics scope',
    );
  }
  return {
    name,
    scopes,
    functions,
    ...parseRateLimit(body.rate_limit),
    maxConcurrency: parseMaxConcurrency(body.max_concurrency),
    expiresAt: parseExpiry(body.expires_at, now),
  };
}
