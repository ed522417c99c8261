/**
 * Function definitions (docs/API.md "Functions"): the body of `POST /functions` and of
 * `PATCH /functions/{id}` into the store's input.
 *
 * The fields a definition shares with a SandboxConfig (image, command, env_vars, executor, limits,
 * timeout_ms) are checked by the same validators, with the same codes and messages. Secrets are
 * environment variables too: their faults are FAAS_ERR_INVALID_ENV (field `secrets`), and
 * env_vars and secrets together are held to the limits of one env_vars list. The rest (unknown
 * fields, pool_mode, max_concurrency, max_attempts, retry_on_failure, description, a body that is
 * no object) is FAAS_ERR_INVALID_FUNCTION; a callback_url the callback rules refuse is
 * FAAS_ERR_INVALID_CALLBACK. Messages name a secret, never its value.
 */
import type { IsolationMode, ResourceLimitsInput } from '@faas/common';
import type { FunctionInput, FunctionLimits, FunctionPatch, FunctionRecord } from '@faas/store';
import { AddressPolicy, validateCallbackUrl } from '@faas/worker';
import { isStartupVariable } from './startup-variables.js';
import {
  checkEnvTotals,
  ENV_MAX_ENTRY_BYTES,
  envBytes,
  envName,
  fail,
  isEnvName,
  isPlainObject,
  requireRepresentable,
  toWellFormedText,
  type ValidationPolicy,
  validateCommand,
  validateEnv,
  validateExecutor,
  validateFunctionId,
  validateImage,
  validateLimitsInput,
  validateTimeout,
} from './validation.js';

export const DEFINITION_FIELDS: readonly string[] = [
  'id',
  'image',
  'command',
  'env_vars',
  'allowed_env_vars',
  'secrets',
  'executor',
  'pool_mode',
  'limits',
  'timeout_ms',
  'max_concurrency',
  'max_attempts',
  'retry_on_failure',
  'callback_url',
  'description',
];
export const SECRETS_MAX_COUNT = 100;
/** Entries of `allowed_env_vars` (as many as variables an invocation could set at all). */
export const ALLOWED_ENV_MAX_COUNT = 128;
/** A variable name, or a prefix of one ending in `*` (at least one character before it). */
const ALLOWED_ENV_ENTRY = /^[A-Za-z_][A-Za-z0-9_]*\*?$/;
export const DESCRIPTION_MAX_LENGTH = 1024;
export const MAX_CONCURRENCY_MAX = 10_000;
/** Most attempts an asynchronous invocation of a function may get (FAAS_ASYNC_MAX_ATTEMPTS has the same bound). */
export const MAX_ATTEMPTS_MAX = 100;
const POOL_MODES: readonly IsolationMode[] = ['single-use', 'reuse', 'off'];
const LIMIT_NAMES = ['memory_mb', 'cpus', 'pids'] as const;

function invalid(message: string, field: string): never {
  fail('FAAS_ERR_INVALID_FUNCTION', message, field);
}

function requireObject(body: unknown, what: string): Record<string, unknown> {
  if (body === undefined) invalid(`the request body is empty: send ${what} as a JSON object`, 'body');
  if (!isPlainObject(body)) invalid(`the request body must be a JSON object (${what})`, 'body');
  for (const key of Object.keys(body)) {
    if (!DEFINITION_FIELDS.includes(key)) {
      const name = toWellFormedText(key.slice(0, 64));
      invalid(`unknown field "${name}"; a function definition has ${DEFINITION_FIELDS.join(', ')}`, name);
    }
  }
  return body;
}

/** `id` in a body: the path parameter's rule, named for the body's field. */
function validateIdField(id: unknown): string {
  if (id === undefined || id === null) {
    fail('FAAS_ERR_INVALID_FUNCTION_ID', 'id is required: 1-128 characters of letters, digits, ".", "_" or "-"', 'id');
  }
  try {
    return validateFunctionId(id);
  } catch (err) {
    fail('FAAS_ERR_INVALID_FUNCTION_ID', (err as Error).message.replace(/^function_id/, 'id'), 'id');
  }
}

function validatePoolMode(value: unknown): IsolationMode | null {
  if (value === undefined || value === null) return null;
  if (!POOL_MODES.includes(value as IsolationMode)) invalid(`pool_mode must be ${POOL_MODES.join(', ')} or null`, 'pool_mode');
  return value as IsolationMode;
}

function validateMaxConcurrency(value: unknown): number | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_CONCURRENCY_MAX) {
    invalid(`max_concurrency must be an integer from 1 to ${MAX_CONCURRENCY_MAX}, or null for no cap of its own`, 'max_concurrency');
  }
  return value;
}

function validateMaxAttempts(value: unknown): number | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_ATTEMPTS_MAX) {
    invalid(
      `max_attempts must be an integer from 1 to ${MAX_ATTEMPTS_MAX} (attempts of an asynchronous invocation, the first included), or null for FAAS_ASYNC_MAX_ATTEMPTS`,
      'max_attempts',
    );
  }
  return value;
}

/**
 * `allowed_env_vars`: the variables an invocation may add (docs/API.md "Invoke"), names or
 * prefixes ending in `*`; null or absent: none. A start-up variable (startup-variables.ts) cannot
 * be named: callers never set one, whatever the definition says.
 */
function validateAllowedEnv(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value))
    invalid('allowed_env_vars must be an array of variable names (or prefixes ending in *), or null for none', 'allowed_env_vars');
  if (value.length > ALLOWED_ENV_MAX_COUNT) {
    invalid(`allowed_env_vars has ${value.length} entries; at most ${ALLOWED_ENV_MAX_COUNT} are allowed`, 'allowed_env_vars');
  }
  const seen = new Set<string>();
  for (const [i, entry] of value.entries()) {
    if (typeof entry !== 'string' || entry.length > 256 || !ALLOWED_ENV_ENTRY.test(entry)) {
      invalid(
        `allowed_env_vars[${i}] must be a variable name ([A-Za-z_][A-Za-z0-9_]*), or a prefix of one ending in * such as APP_*`,
        'allowed_env_vars',
      );
    }
    if (!entry.endsWith('*') && isStartupVariable(entry)) {
      invalid(
        `allowed_env_vars[${i}] is ${entry}, which changes the code a program runs at start-up: an invocation may never set it; set it in env_vars if the function needs it`,
        'allowed_env_vars',
      );
    }
    if (seen.has(entry)) invalid(`allowed_env_vars[${i}] repeats ${entry}`, 'allowed_env_vars');
    seen.add(entry);
  }
  return value as string[];
}

function validateRetryOnFailure(value: unknown): boolean {
  if (value === undefined || value === null) return false;
  if (typeof value !== 'boolean') invalid('retry_on_failure must be true or false', 'retry_on_failure');
  return value;
}

const PUBLIC_ONLY = new AddressPolicy();

/** A callback URL (docs/API.md "Callbacks"): FAAS_ERR_INVALID_CALLBACK with `field` callback_url; null: none. */
export function validateCallbackField(value: unknown, policy: ValidationPolicy): string | null {
  if (value === undefined || value === null) return null;
  validateCallbackUrl(value, policy.callbacks ?? PUBLIC_ONLY, 'callback_url');
  return value as string;
}

function validateDescription(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') invalid('description must be a string', 'description');
  if (value.length > DESCRIPTION_MAX_LENGTH) {
    invalid(`description has ${value.length} characters; at most ${DESCRIPTION_MAX_LENGTH} are allowed`, 'description');
  }
  requireRepresentable(value, 'description', 'FAAS_ERR_INVALID_FUNCTION', 'description');
  return value;
}

/** A timeout of the definition: null keeps the platform default (FAAS_DEFAULT_TIMEOUT_MS). */
function validateTimeoutField(value: unknown, policy: ValidationPolicy): number | null {
  return value === undefined || value === null ? null : validateTimeout(value, policy);
}

function badSecrets(message: string): never {
  fail('FAAS_ERR_INVALID_ENV', message, 'secrets');
}

/**
 * `secrets`: `{"NAME": "value"}`, or in a patch `"NAME": null` to delete one. Names follow the
 * rule of environment variables; each `NAME=value` is held to the size of an env_vars entry.
 */
function validateSecrets(value: unknown, allowNull: boolean): Record<string, string | null> {
  if (value === undefined || value === null) return {};
  if (!isPlainObject(value)) badSecrets('secrets must be an object of {"NAME": "value"}');
  const names = Object.keys(value);
  if (names.length > SECRETS_MAX_COUNT) badSecrets(`secrets has ${names.length} names; at most ${SECRETS_MAX_COUNT} are allowed`);
  for (const name of names) {
    const shown = toWellFormedText(name.slice(0, 64));
    if (!isEnvName(name)) badSecrets(`secret name "${shown}" must match [A-Za-z_][A-Za-z0-9_]*, like an environment variable`);
    const secret = value[name];
    if (secret === null && allowNull) continue;
    if (typeof secret !== 'string') badSecrets(`secrets.${shown} must be a string${allowNull ? ' (or null to delete it)' : ''}`);
    // The value is never echoed: the messages name the secret only.
    requireRepresentable(secret, `secrets.${shown}`, 'FAAS_ERR_INVALID_ENV', 'secrets');
    const size = Buffer.byteLength(name) + 1 + Buffer.byteLength(secret);
    if (size > ENV_MAX_ENTRY_BYTES) {
      badSecrets(`secrets.${shown} makes a ${size}-byte variable (NAME=value); at most ${ENV_MAX_ENTRY_BYTES} are allowed`);
    }
  }
  return value as Record<string, string | null>;
}

/**
 * The rules across env_vars and secrets: a variable is in one or the other, never both; at most
 * 100 secrets; and together they fit the limits of one env_vars list (`secretBytes`: the secrets'
 * bytes as `NAME=value`).
 */
function checkNames(env: readonly string[], secretNames: ReadonlySet<string>, secretBytes: number): void {
  const defined = new Set(env.map(envName));
  for (const name of secretNames) {
    if (defined.has(name)) badSecrets(`${name} is both a secret and in env_vars; define it in one of them`);
  }
  if (secretNames.size > SECRETS_MAX_COUNT) {
    badSecrets(`the function would have ${secretNames.size} secrets; at most ${SECRETS_MAX_COUNT} are allowed`);
  }
  checkEnvTotals(env.length + secretNames.size, envBytes(env) + secretBytes, 'env_vars and secrets together', 'secrets');
}

function secretsBytes(secrets: Record<string, string | null>): number {
  let total = 0;
  for (const [name, value] of Object.entries(secrets)) if (value !== null) total += Buffer.byteLength(name) + 1 + Buffer.byteLength(value);
  return total;
}

/** The body of `POST /functions` into the store's input; throws FaasError on the first fault. */
export function validateFunctionCreate(body: unknown, policy: ValidationPolicy): FunctionInput {
  const fields = requireObject(body, 'a function definition');
  const input: FunctionInput = {
    id: validateIdField(fields.id),
    image: validateImage(fields.image),
    command: validateCommand(fields.command),
    env: validateEnv(fields.env_vars),
    allowedEnvVars: validateAllowedEnv(fields.allowed_env_vars),
    secrets: validateSecrets(fields.secrets, false) as Record<string, string>,
    executor: fields.executor === undefined || fields.executor === null ? null : validateExecutor(fields.executor, policy),
    poolMode: validatePoolMode(fields.pool_mode),
    limits: validateLimitsInput(fields.limits, policy),
    timeoutMs: validateTimeoutField(fields.timeout_ms, policy),
    maxConcurrency: validateMaxConcurrency(fields.max_concurrency),
    maxAttempts: validateMaxAttempts(fields.max_attempts),
    retryOnFailure: validateRetryOnFailure(fields.retry_on_failure),
    callbackUrl: validateCallbackField(fields.callback_url, policy),
    description: validateDescription(fields.description),
  };
  checkNames(input.env, new Set(Object.keys(input.secrets)), secretsBytes(input.secrets));
  return input;
}

/**
 * A validated `PATCH` body: fields present replace, null resets. `limits` and `secrets` are
 * objects merged member by member (RFC 7396): null for the whole object resets it (no limits of its
 * own; no secrets), null for a member removes that member.
 */
export interface DefinitionPatch {
  fields: Omit<FunctionPatch, 'limits' | 'secrets'>;
  /** Absent: unchanged; null: reset to the platform defaults; else merged limit by limit. */
  limits?: Partial<Record<keyof ResourceLimitsInput, number | null>> | null;
  /** Absent: unchanged; null: every secret deleted; else a string sets one, null deletes one. */
  secrets?: Record<string, string | null> | null;
}

/** The body of `PATCH /functions/{id}`, checked field by field (the combined rules are checked by `applyPatch`). */
export function validateFunctionPatch(body: unknown, policy: ValidationPolicy): DefinitionPatch {
  const b = requireObject(body, 'a JSON merge patch of the function definition');
  if ('id' in b) invalid('id cannot be changed; register a function under the new id instead', 'id');
  const fields: DefinitionPatch['fields'] = {};
  const noDefault = (name: string) => invalid(`${name} has no default and cannot be reset with null; send a new value`, name);
  if ('image' in b) fields.image = b.image === null ? noDefault('image') : validateImage(b.image);
  if ('command' in b) fields.command = b.command === null ? noDefault('command') : validateCommand(b.command);
  if ('env_vars' in b) fields.env = validateEnv(b.env_vars);
  if ('allowed_env_vars' in b) fields.allowedEnvVars = validateAllowedEnv(b.allowed_env_vars);
  if ('executor' in b) fields.executor = b.executor === null ? null : validateExecutor(b.executor, policy);
  if ('pool_mode' in b) fields.poolMode = validatePoolMode(b.pool_mode);
  if ('timeout_ms' in b) fields.timeoutMs = validateTimeoutField(b.timeout_ms, policy);
  if ('max_concurrency' in b) fields.maxConcurrency = validateMaxConcurrency(b.max_concurrency);
  if ('max_attempts' in b) fields.maxAttempts = validateMaxAttempts(b.max_attempts);
  if ('retry_on_failure' in b) fields.retryOnFailure = validateRetryOnFailure(b.retry_on_failure);
  if ('callback_url' in b) fields.callbackUrl = validateCallbackField(b.callback_url, policy);
  if ('description' in b) fields.description = validateDescription(b.description);
  const patch: DefinitionPatch = { fields };
  if ('limits' in b) patch.limits = b.limits === null ? null : validateLimitsPatch(b.limits, policy);
  if ('secrets' in b) patch.secrets = b.secrets === null ? null : validateSecrets(b.secrets, true);
  return patch;
}

function validateLimitsPatch(value: unknown, policy: ValidationPolicy): NonNullable<DefinitionPatch['limits']> {
  if (!isPlainObject(value)) return validateLimitsInput(value, policy);
  // A null deletes a known limit; an unknown name stays in, to be refused like any unknown limit.
  const set = Object.fromEntries(
    Object.entries(value).filter(([name, v]) => v !== null || !(LIMIT_NAMES as readonly string[]).includes(name)),
  );
  const checked: NonNullable<DefinitionPatch['limits']> = validateLimitsInput(set, policy);
  for (const [name, v] of Object.entries(value)) if (v === null) checked[name as keyof ResourceLimitsInput] = null;
  return checked;
}

/**
 * The store's patch that turns `current` (with its secrets as `NAME=value`, for their sizes) into
 * the patched definition, after checking the rules that span fields (a name in both env_vars and
 * secrets, the number and size of the variables) on the result. `changed` is false when the patch
 * would leave the definition as it is (no new version then).
 */
export function applyPatch(
  current: FunctionRecord,
  currentSecrets: readonly string[],
  patch: DefinitionPatch,
): { patch: FunctionPatch; changed: boolean } {
  const out: FunctionPatch = { ...patch.fields };
  if (patch.limits !== undefined) {
    const limits: FunctionLimits = patch.limits === null ? {} : { ...current.limits };
    for (const name of LIMIT_NAMES) {
      const value = patch.limits?.[name];
      if (value === null) delete limits[name];
      else if (value !== undefined) limits[name] = value;
    }
    out.limits = limits;
  }
  const secretNames = new Set(current.secretNames);
  const secretSizes = new Map(currentSecrets.map((entry) => [envName(entry), Buffer.byteLength(entry)]));
  let secretsChanged = false;
  if (patch.secrets !== undefined) {
    const secrets: Record<string, string | null> =
      patch.secrets === null ? Object.fromEntries(current.secretNames.map((name) => [name, null])) : patch.secrets;
    for (const [name, value] of Object.entries(secrets)) {
      if (value === null) {
        secretSizes.delete(name);
        // Deleting a secret that is not there is no change.
        if (!secretNames.delete(name)) continue;
      } else {
        secretNames.add(name);
        secretSizes.set(name, Buffer.byteLength(name) + 1 + Buffer.byteLength(value));
      }
      secretsChanged = true;
    }
    out.secrets = secrets;
  }
  let secretBytes = 0;
  for (const size of secretSizes.values()) secretBytes += size;
  checkNames(out.env ?? current.env, secretNames, secretBytes);
  return { patch: out, changed: secretsChanged || differs(current, out) };
}

/**
 * True when a field of the patch differs from the stored definition. Every field the patch holds
 * is compared (the patch and the record name them alike), so a field added to definitions is
 * compared without being listed here; secrets are compared by `applyPatch` itself.
 */
function differs(current: FunctionRecord, patch: FunctionPatch): boolean {
  return Object.entries(patch).some(([field, value]) => {
    if (value === undefined || field === 'secrets') return false;
    if (field === 'limits') return !sameLimits(value as FunctionLimits, current.limits);
    return JSON.stringify(value) !== JSON.stringify(current[field as keyof FunctionRecord]);
  });
}

function sameLimits(a: FunctionLimits, b: FunctionLimits): boolean {
  return LIMIT_NAMES.every((name) => a[name] === b[name]);
}
