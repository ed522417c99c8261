/**
 * The merge rules of an invocation of a registered function (docs/API.md "Invoke"): the definition
 * fixes what runs (image, command, executor, its variables and secrets); the request may add input
 * (payload_base64), the variables the definition lets callers set (env_vars within its
 * allowed_env_vars, never one it sets itself nor a start-up variable: startup-variables.ts), and
 * ask for less time or smaller limits than the definition's (timeout_ms, limits). Anything else is
 * refused, naming the field. No message ever carries a secret's value, nor its size.
 */
import type { Invocation, IsolationMode, ResourceLimits } from '@faas/common';
import type { FunctionRecord } from '@faas/store';
import { isStartupVariable } from './startup-variables.js';
import {
  checkEnvTotals,
  envBytes,
  envName,
  fail,
  isPlainObject,
  resolveLimits,
  toWellFormedText,
  type ValidationPolicy,
  validateEnv,
  validateLimitsInput,
  validatePayload,
  validateTimeout,
} from './validation.js';

/** What the request of a registered function may set. */
export const INVOKE_FIELDS: ReadonlySet<string> = new Set(['payload_base64', 'env_vars', 'timeout_ms', 'limits']);
/** What the definition fixes: sending any of these is FAAS_ERR_FIELD_NOT_ALLOWED. */
export const FIXED_FIELDS: ReadonlySet<string> = new Set(['image', 'command', 'executor']);
const MIB = 1024 * 1024;

/** A registered function as the store resolves it for an invocation: secrets as `KEY=VALUE`. */
export interface ResolvedFunction {
  record: FunctionRecord;
  secrets: string[];
}

/** The invocation of a registered function, but for its id and the caller's key. */
export type MergedInvocation = Omit<Invocation, 'id' | 'keyId'> & {
  functionVersion: number;
  isolation: IsolationMode | undefined;
};

function notAllowed(message: string, field: string): never {
  fail('FAAS_ERR_FIELD_NOT_ALLOWED', message, field);
}

/** The timeout a registered function runs with when the request names none. */
export function functionTimeoutMs(record: FunctionRecord, policy: ValidationPolicy): number {
  return Math.min(record.timeoutMs ?? policy.defaultTimeoutMs, policy.maxTimeoutMs);
}

/**
 * The limits a registered function runs with when the request asks for none: its own over the
 * platform defaults, held to the platform's maxima of now (the operator may have lowered them since
 * it was registered), as its timeout is.
 */
export function functionLimits(record: FunctionRecord, policy: ValidationPolicy): ResourceLimits {
  const own = resolveLimits(record.limits, policy.defaultLimits);
  return {
    ...own,
    memoryBytes: Math.min(own.memoryBytes, policy.maxMemoryBytes),
    cpus: Math.min(own.cpus, policy.maxCpus),
    pids: Math.min(own.pids, policy.maxPids),
  };
}

/** Builds the invocation of `fn` from the request `body` (undefined: no body, no input); throws FaasError. */
export function mergeInvocation(fn: ResolvedFunction, body: unknown, policy: ValidationPolicy): MergedInvocation {
  const { record, secrets } = fn;
  const request = readBody(body);
  const ownTimeout = functionTimeoutMs(record, policy);
  const ownLimits = functionLimits(record, policy);
  const executor = record.executor ?? policy.defaultExecutor;
  if (!policy.allowedExecutors.includes(executor)) {
    fail(
      'FAAS_ERR_EXECUTOR_NOT_ALLOWED',
      `function "${record.id}" runs on executor "${executor}", which is not enabled here (allowed: ${policy.allowedExecutors.join(', ')}): change its executor with PATCH /functions/${record.id}, or add ${executor} to FAAS_ALLOWED_EXECUTORS`,
    );
  }

  let timeoutMs = ownTimeout;
  if (request.timeout_ms !== undefined && request.timeout_ms !== null) {
    timeoutMs = validateTimeout(request.timeout_ms, policy);
    if (timeoutMs > ownTimeout) {
      notAllowed(`timeout_ms ${timeoutMs} is more than the function's own ${ownTimeout} ms; ask for at most that`, 'timeout_ms');
    }
  }

  const asked = validateLimitsInput(request.limits, policy);
  if (asked.memory_mb !== undefined && asked.memory_mb * MIB > ownLimits.memoryBytes) {
    notAllowed(`limits.memory_mb ${asked.memory_mb} is more than the function's own ${ownLimits.memoryBytes / MIB}`, 'limits.memory_mb');
  }
  if (asked.cpus !== undefined && asked.cpus > ownLimits.cpus) {
    notAllowed(`limits.cpus ${asked.cpus} is more than the function's own ${ownLimits.cpus}`, 'limits.cpus');
  }
  if (asked.pids !== undefined && asked.pids > ownLimits.pids) {
    notAllowed(`limits.pids ${asked.pids} is more than the function's own ${ownLimits.pids}`, 'limits.pids');
  }

  const extra = validateEnv(request.env_vars);
  if (extra.length > 0) {
    const defined = new Set(record.secretNames);
    for (const entry of record.env) defined.add(envName(entry));
    for (const [i, entry] of extra.entries()) {
      const name = envName(entry);
      if (defined.has(name)) {
        notAllowed(`env_vars[${i}] sets ${name}, which the function defines (in its env_vars or secrets); choose another name`, 'env_vars');
      }
      if (isStartupVariable(name)) {
        notAllowed(
          `env_vars[${i}] sets ${name}, which changes the code a program runs at start-up (its loader, shell, language runtime or a tool reads it); an invocation of a registered function may never set it: set it in the definition's env_vars if the function needs it`,
          'env_vars',
        );
      }
      if (!isAllowed(record.allowedEnvVars, name)) {
        const allowed = record.allowedEnvVars.length > 0 ? record.allowedEnvVars.slice(0, 20).join(', ') : 'none';
        notAllowed(
          `env_vars[${i}] sets ${name}, which function "${record.id}" does not let its callers set (its allowed_env_vars: ${allowed}); who may change the function can allow it: PATCH /functions/${record.id} with "allowed_env_vars"`,
          'env_vars',
        );
      }
    }
    // The caller's variables share the limits of one env_vars list with the definition's own
    // (which the caller can read), not with its secrets: whether they fit never depends on the
    // secrets, so no answer tells how many or how long the secrets are. The secrets (at most 100,
    // fitting the same list limits with the definition's variables) come on top, well within
    // what execve takes.
    checkEnvTotals(
      record.env.length + extra.length,
      envBytes(record.env) + envBytes(extra),
      "env_vars with the function's own env_vars",
      'env_vars',
    );
  }

  return {
    functionId: record.id,
    functionVersion: record.version,
    image: record.image,
    command: record.command,
    // The function's own variables, its secrets, then the caller's (which never share a name).
    env: extra.length === 0 && secrets.length === 0 ? record.env : [...record.env, ...secrets, ...extra],
    stdin: validatePayload(request.payload_base64, policy.maxPayloadBytes),
    limits: resolveLimits(asked, ownLimits),
    timeoutMs,
    executor,
    isolation: record.poolMode ?? undefined,
    ...(record.maxConcurrency !== null ? { maxConcurrency: record.maxConcurrency } : {}),
    ...(record.secretNames.length > 0 ? { secretNames: record.secretNames } : {}),
  };
}

/** True when `name` is one of `allowed` (names, or prefixes ending in `*`). */
function isAllowed(allowed: readonly string[], name: string): boolean {
  return allowed.some((entry) => (entry.endsWith('*') ? name.startsWith(entry.slice(0, -1)) : name === entry));
}

function readBody(body: unknown): Record<string, unknown> {
  if (body === undefined) return {};
  if (!isPlainObject(body)) {
    fail('FAAS_ERR_INVALID_REQUEST', 'the request body must be a JSON object (payload_base64, env_vars, timeout_ms, limits), or empty');
  }
  for (const key of Object.keys(body)) {
    if (FIXED_FIELDS.has(key)) {
      notAllowed(`${key} is fixed by the function's definition; change it with PATCH /functions/{id}, or leave it out`, key);
    }
    if (!INVOKE_FIELDS.has(key)) {
      const name = toWellFormedText(key.slice(0, 64));
      fail(
        'FAAS_ERR_INVALID_REQUEST',
        `unknown field "${name}"; a registered function's invocation may set ${[...INVOKE_FIELDS].join(', ')}`,
        name,
      );
    }
  }
  return body;
}
