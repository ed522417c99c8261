/**
 * Validation of an HTTP request body (a `SandboxConfig`) into the core's input, before any of it
 * reaches the invocation core. Each rule names the field and the fix in its message, and maps to
 * one registry code. This is the gateway's: other front doors (job calls, the async worker)
 * validate their own input.
 */
import {
  type Config,
  decodeStrictBase64,
  type ErrorCode,
  type ExecutorKind,
  FaasError,
  isExecutorKind,
  type ResourceLimits,
  type ResourceLimitsInput,
  type SandboxConfig,
} from '@faas/common';
import { type AddressPolicy, callbackPolicy } from '@faas/worker';

/** The validation bounds that follow from a configuration. */
export function validationPolicy(config: Config): ValidationPolicy {
  return {
    defaultExecutor: config.executorType,
    allowedExecutors: config.allowedExecutors,
    defaultTimeoutMs: config.timeouts.defaultMs,
    maxTimeoutMs: config.timeouts.maxMs,
    maxPayloadBytes: config.maxPayloadBytes,
    defaultLimits: config.defaultLimits,
    maxMemoryBytes: config.maxLimits.memoryBytes,
    maxCpus: config.maxLimits.cpus,
    maxPids: config.maxLimits.pids,
    callbacks: callbackPolicy(config),
  };
}

/** Bounds that come from configuration; the gateway builds this once from the frozen config. */
export interface ValidationPolicy {
  defaultExecutor: ExecutorKind;
  allowedExecutors: readonly ExecutorKind[];
  defaultTimeoutMs: number;
  maxTimeoutMs: number;
  maxPayloadBytes: number;
  defaultLimits: ResourceLimits;
  maxMemoryBytes: number;
  maxCpus: number;
  maxPids: number;
  /** Where callbacks may go (FAAS_CALLBACK_ALLOW_*); absent: public addresses only. */
  callbacks?: AddressPolicy;
}

/** A request that passed validation: typed, decoded, and with every default applied. */
export interface InvocationRequest {
  functionId: string;
  image: string;
  command: string[];
  env: string[];
  stdin: Buffer;
  timeoutMs: number;
  executor: ExecutorKind;
  limits: ResourceLimits;
}

export const ENV_MAX_COUNT = 128;
export const ENV_MAX_ENTRY_BYTES = 32 * 1024;
export const ENV_MAX_TOTAL_BYTES = 256 * 1024;
export const COMMAND_MAX_ARGS = 1024;
export const COMMAND_MAX_TOTAL_BYTES = 128 * 1024;

/** Letters, digits, dot, underscore, dash; starts with a letter or digit; no "..". */
const FUNCTION_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** True for a name an environment variable (or a secret, which becomes one) may have. */
export function isEnvName(name: string): boolean {
  return ENV_KEY.test(name);
}

/** The variable's name of a `KEY=VALUE` entry that passed `validateEnv`. */
export function envName(entry: string): string {
  return entry.slice(0, entry.indexOf('='));
}
/**
 * Docker reference: optional registry (a host with a dot or port, or localhost; host labels start
 * and end with a letter or digit), lowercase path components, optional :tag and @digest. Or
 * `oci:<ref>`, an image of the oci executor's OCI image layout (FAAS_OCI_IMAGE_LAYOUT), `<ref>`
 * being its ref name there: letters, digits and `._-:/@`, starting with a letter or digit. Applied
 * only to strings of at most 255 characters.
 */
const IMAGE_REF =
  /^(?:oci:[A-Za-z0-9][A-Za-z0-9._:/@-]*|(?:(?:(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?\.)+[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?::[0-9]+)?|[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?:[0-9]+|localhost)\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?)$/;
/** The image reference grammar, for the OpenAPI document's check against it. */
export const IMAGE_REFERENCE: RegExp = IMAGE_REF;
/** The fields of a SandboxConfig. */
export const SANDBOX_CONFIG_FIELDS: ReadonlySet<string> = new Set([
  'image',
  'command',
  'env_vars',
  'payload_base64',
  'timeout_ms',
  'executor',
  'limits',
]);
const KNOWN_LIMITS = new Set(['memory_mb', 'cpus', 'pids']);
const MIB = 1024 * 1024;

export function fail(code: ErrorCode, message: string, field?: string): never {
  throw new FaasError(code, message, field ? { details: { field } } : undefined);
}

/** `String.prototype.isWellFormed` (ES2024, in Node 20) is missing from the ES2023 lib the build targets. */
type WellFormedString = string & { isWellFormed(): boolean; toWellFormed(): string };

/** False when the text holds an unpaired UTF-16 surrogate, which has no UTF-8 encoding. */
export function isWellFormedText(value: string): boolean {
  return (value as WellFormedString).isWellFormed();
}

/** The text with unpaired surrogates replaced by U+FFFD, safe to echo in a message. */
export function toWellFormedText(value: string): string {
  return (value as WellFormedString).toWellFormed();
}

/**
 * Every string that reaches a sandbox (image, argv, environment, function id) must be text a
 * process can receive: no NUL byte (C strings end there) and no lone UTF-16 surrogate (a JSON
 * escape such as "\ud800" with no UTF-8 form). One rule and one wording for every field.
 */
export function requireRepresentable(value: string, label: string, code: ErrorCode, field: string): void {
  if (value.includes('\0')) {
    fail(code, `${label} contains a NUL character (\\u0000), which no process can receive; remove it`, field);
  }
  if (!isWellFormedText(value)) {
    fail(
      code,
      `${label} contains a lone UTF-16 surrogate (an unpaired \\ud800-\\udfff escape), which has no UTF-8 form; send valid Unicode text`,
      field,
    );
  }
}

export function validateFunctionId(id: unknown): string {
  if (typeof id === 'string') requireRepresentable(id, 'function_id', 'FAAS_ERR_INVALID_FUNCTION_ID', 'function_id');
  if (typeof id !== 'string' || !FUNCTION_ID.test(id) || id.includes('..')) {
    fail(
      'FAAS_ERR_INVALID_FUNCTION_ID',
      'function_id must be 1-128 characters of letters, digits, ".", "_" or "-", start with a letter or digit, and not contain ".."',
      'function_id',
    );
  }
  return id;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function validateImage(image: unknown): string {
  if (typeof image !== 'string' || image.length === 0) {
    fail('FAAS_ERR_INVALID_IMAGE', 'image is required and must be a non-empty string such as "faas/busybox:latest"', 'image');
  }
  requireRepresentable(image, 'image', 'FAAS_ERR_INVALID_IMAGE', 'image');
  if (image.length > 255 || !IMAGE_REF.test(image)) {
    fail(
      'FAAS_ERR_INVALID_IMAGE',
      `image "${toWellFormedText(image.slice(0, 80))}" is not a valid image reference (name[:tag][@sha256:digest], or oci:<ref> for an image of the OCI image layout)`,
      'image',
    );
  }
  // An OCI layout ref is no engine name: the engine's length rule does not apply to it.
  const nameLength = image.startsWith('oci:') ? 0 : normalizedNameLength(image);
  if (nameLength > IMAGE_NAME_MAX) {
    fail(
      'FAAS_ERR_INVALID_IMAGE',
      `image "${image.slice(0, 80)}..." has a repository name of ${nameLength} characters once the engine adds its default registry (docker.io/, and library/ for one-component names); at most ${IMAGE_NAME_MAX} are allowed`,
      'image',
    );
  }
  return image;
}

/** The longest repository name an engine accepts, registry included (distribution/reference NameTotalLengthMax). */
export const IMAGE_NAME_MAX = 255;

/**
 * The length of the image's repository name as the engine normalizes it (distribution/reference
 * `ParseNormalizedNamed`): tag and digest dropped, `docker.io/` prefixed when the first component
 * is not a registry host (it has no "." or ":" and is not "localhost"), and `library/` too when the
 * name has a single component. The engine refuses names longer than 255 characters.
 */
export function normalizedNameLength(image: string): number {
  let name = image;
  const at = name.indexOf('@');
  if (at >= 0) name = name.slice(0, at);
  const slash = name.lastIndexOf('/');
  const colon = name.lastIndexOf(':');
  if (colon > slash) name = name.slice(0, colon);
  const first = name.indexOf('/');
  const head = first >= 0 ? name.slice(0, first) : '';
  const hasRegistry = first >= 0 && (head.includes('.') || head.includes(':') || head === 'localhost');
  if (hasRegistry) return name.length;
  return 'docker.io/'.length + (first >= 0 ? 0 : 'library/'.length) + name.length;
}

export function validateCommand(command: unknown): string[] {
  if (!Array.isArray(command) || command.length === 0) {
    fail('FAAS_ERR_INVALID_COMMAND', 'command must be a non-empty array of strings, e.g. ["echo", "hello"]', 'command');
  }
  if (command.length > COMMAND_MAX_ARGS) {
    fail('FAAS_ERR_INVALID_COMMAND', `command has ${command.length} elements; at most ${COMMAND_MAX_ARGS} are allowed`, 'command');
  }
  let total = 0;
  for (const [i, arg] of command.entries()) {
    if (typeof arg !== 'string') fail('FAAS_ERR_INVALID_COMMAND', `command[${i}] must be a string`, 'command');
    requireRepresentable(arg, `command[${i}]`, 'FAAS_ERR_INVALID_COMMAND', 'command');
    total += Buffer.byteLength(arg);
  }
  if ((command[0] as string).length === 0) {
    fail('FAAS_ERR_INVALID_COMMAND', 'command[0] (the program to run) must not be empty', 'command');
  }
  if (total > COMMAND_MAX_TOTAL_BYTES) {
    fail('FAAS_ERR_INVALID_COMMAND', `command is ${total} bytes; at most ${COMMAND_MAX_TOTAL_BYTES} are allowed`, 'command');
  }
  return command as string[];
}

export function validateEnv(env: unknown): string[] {
  if (env === undefined || env === null) return [];
  if (!Array.isArray(env)) fail('FAAS_ERR_INVALID_ENV', 'env_vars must be an array of "KEY=VALUE" strings', 'env_vars');
  if (env.length > ENV_MAX_COUNT) {
    fail('FAAS_ERR_INVALID_ENV', `env_vars has ${env.length} entries; at most ${ENV_MAX_COUNT} are allowed`, 'env_vars');
  }
  let total = 0;
  for (const [i, entry] of env.entries()) {
    if (typeof entry !== 'string') fail('FAAS_ERR_INVALID_ENV', `env_vars[${i}] must be a string`, 'env_vars');
    requireRepresentable(entry, `env_vars[${i}]`, 'FAAS_ERR_INVALID_ENV', 'env_vars');
    // Size first, so the key pattern only ever runs on a bounded string.
    const size = Buffer.byteLength(entry);
    if (size > ENV_MAX_ENTRY_BYTES) {
      fail('FAAS_ERR_INVALID_ENV', `env_vars[${i}] is ${size} bytes; at most ${ENV_MAX_ENTRY_BYTES} are allowed`, 'env_vars');
    }
    const eq = entry.indexOf('=');
    const key = eq > 0 ? entry.slice(0, eq) : '';
    if (!ENV_KEY.test(key)) {
      fail('FAAS_ERR_INVALID_ENV', `env_vars[${i}] must look like KEY=VALUE with KEY matching [A-Za-z_][A-Za-z0-9_]*`, 'env_vars');
    }
    total += size;
  }
  if (total > ENV_MAX_TOTAL_BYTES) {
    fail('FAAS_ERR_INVALID_ENV', `env_vars total ${total} bytes; at most ${ENV_MAX_TOTAL_BYTES} are allowed`, 'env_vars');
  }
  return env as string[];
}

/**
 * The whole environment a function gets (a definition's env_vars and secrets, and an invocation's
 * env_vars) is held to the limits of one env_vars list: at most ENV_MAX_COUNT entries and
 * ENV_MAX_TOTAL_BYTES in all, which keeps it well within what `execve` accepts. Each list was
 * checked on its own already; `what` says what was added, for the message.
 */
export function checkEnvTotals(count: number, bytes: number, what: string, field: string): void {
  if (count > ENV_MAX_COUNT) {
    fail('FAAS_ERR_INVALID_ENV', `${what} make ${count} variables; at most ${ENV_MAX_COUNT} are allowed in all`, field);
  }
  if (bytes > ENV_MAX_TOTAL_BYTES) {
    fail('FAAS_ERR_INVALID_ENV', `${what} make ${bytes} bytes of variables; at most ${ENV_MAX_TOTAL_BYTES} are allowed in all`, field);
  }
}

/** Bytes of `KEY=VALUE` entries, as the limits count them. */
export function envBytes(entries: readonly string[]): number {
  let total = 0;
  for (const entry of entries) total += Buffer.byteLength(entry);
  return total;
}

export function validatePayload(payload: unknown, maxBytes: number): Buffer {
  if (payload === undefined || payload === null) return Buffer.alloc(0);
  if (typeof payload !== 'string') fail('FAAS_ERR_INVALID_BASE64', 'payload_base64 must be a base64 string', 'payload_base64');
  // Check the size before decoding so an oversized payload costs no allocation.
  if (Math.floor(payload.length / 4) * 3 > maxBytes + 2) {
    fail('FAAS_ERR_PAYLOAD_TOO_LARGE', `payload_base64 decodes to more than ${maxBytes} bytes (FAAS_MAX_PAYLOAD_BYTES)`, 'payload_base64');
  }
  const bytes = decodeStrictBase64(payload);
  if (!bytes) {
    fail(
      'FAAS_ERR_INVALID_BASE64',
      'payload_base64 is not valid standard base64: use the alphabet A-Z a-z 0-9 + / with "=" padding, no whitespace',
      'payload_base64',
    );
  }
  if (bytes.length > maxBytes) {
    fail(
      'FAAS_ERR_PAYLOAD_TOO_LARGE',
      `payload_base64 decodes to ${bytes.length} bytes; at most ${maxBytes} are allowed (FAAS_MAX_PAYLOAD_BYTES)`,
      'payload_base64',
    );
  }
  return bytes;
}

export function validateTimeout(timeout: unknown, policy: ValidationPolicy): number {
  if (timeout === undefined || timeout === null) return policy.defaultTimeoutMs;
  if (typeof timeout !== 'number' || !Number.isInteger(timeout) || timeout < 1 || timeout > policy.maxTimeoutMs) {
    fail('FAAS_ERR_INVALID_TIMEOUT', `timeout_ms must be an integer from 1 to ${policy.maxTimeoutMs}`, 'timeout_ms');
  }
  return timeout;
}

export function validateExecutor(executor: unknown, policy: ValidationPolicy): ExecutorKind {
  if (executor === undefined || executor === null) return policy.defaultExecutor;
  if (!isExecutorKind(executor) || !policy.allowedExecutors.includes(executor)) {
    fail(
      'FAAS_ERR_EXECUTOR_NOT_ALLOWED',
      `executor ${typeof executor === 'string' ? `"${toWellFormedText(executor.slice(0, 40))}"` : `of type ${typeof executor}`} is not enabled here; allowed: ${policy.allowedExecutors.join(', ')} (FAAS_ALLOWED_EXECUTORS)`,
      'executor',
    );
  }
  return executor;
}

function numberInRange(value: unknown, name: string, min: number, max: number, integer: boolean): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
    fail(
      'FAAS_ERR_INVALID_LIMITS',
      `limits.${name} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}`,
      `limits.${name}`,
    );
  }
  return value;
}

/** Checks `limits` against the platform's maxima and returns the ones it sets, in the API's units. */
export function validateLimitsInput(limits: unknown, policy: ValidationPolicy): ResourceLimitsInput {
  const input: ResourceLimitsInput = {};
  if (limits === undefined || limits === null) return input;
  if (!isPlainObject(limits)) fail('FAAS_ERR_INVALID_LIMITS', 'limits must be an object', 'limits');
  for (const key of Object.keys(limits)) {
    if (!KNOWN_LIMITS.has(key)) {
      const name = toWellFormedText(key.slice(0, 64));
      fail('FAAS_ERR_INVALID_LIMITS', `limits.${name} is not a known limit (memory_mb, cpus, pids)`, `limits.${name}`);
    }
  }
  if (limits.memory_mb !== undefined) {
    input.memory_mb = numberInRange(limits.memory_mb, 'memory_mb', 16, policy.maxMemoryBytes / MIB, true);
  }
  if (limits.cpus !== undefined) input.cpus = numberInRange(limits.cpus, 'cpus', 0.01, policy.maxCpus, false);
  if (limits.pids !== undefined) input.pids = numberInRange(limits.pids, 'pids', 1, policy.maxPids, true);
  return input;
}

/** The limits a sandbox gets: those set in `input`, the platform's defaults for the rest. */
export function resolveLimits(input: ResourceLimitsInput, defaults: ResourceLimits): ResourceLimits {
  const resolved = { ...defaults };
  if (input.memory_mb !== undefined) resolved.memoryBytes = input.memory_mb * MIB;
  if (input.cpus !== undefined) resolved.cpus = input.cpus;
  if (input.pids !== undefined) resolved.pids = input.pids;
  return resolved;
}

function validateLimits(limits: unknown, policy: ValidationPolicy): ResourceLimits {
  return resolveLimits(validateLimitsInput(limits, policy), policy.defaultLimits);
}

/** Validates a parsed request body against the schema and the policy; throws FaasError on the first fault. */
export function validateSandboxConfig(functionId: unknown, body: unknown, policy: ValidationPolicy): InvocationRequest {
  const id = validateFunctionId(functionId);
  if (!isPlainObject(body)) {
    fail('FAAS_ERR_INVALID_REQUEST', 'the request body must be a JSON object (a SandboxConfig)');
  }
  for (const key of Object.keys(body)) {
    if (!SANDBOX_CONFIG_FIELDS.has(key)) {
      const name = toWellFormedText(key.slice(0, 64));
      fail('FAAS_ERR_INVALID_REQUEST', `unknown field "${name}"; known fields: ${[...SANDBOX_CONFIG_FIELDS].join(', ')}`, name);
    }
  }
  const config = body as Partial<SandboxConfig>;
  return {
    functionId: id,
    image: validateImage(config.image),
    command: validateCommand(config.command),
    env: validateEnv(config.env_vars),
    stdin: validatePayload(config.payload_base64, policy.maxPayloadBytes),
    timeoutMs: validateTimeout(config.timeout_ms, policy),
    executor: validateExecutor(config.executor, policy),
    limits: validateLimits(config.limits, policy),
  };
}
