/** Function definitions: what POST and PATCH accept and refuse, and how a patch merges into a stored definition. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type ErrorCode, FaasError, isFaasError, loadConfig } from '@faas/common';
import type { FunctionRecord } from '@faas/store';
import { applyPatch, type DefinitionPatch, validateFunctionCreate, validateFunctionPatch } from './definition.js';
import { toFunctionJson } from './function-routes.js';
import { validationPolicy } from './validation.js';

const policy = validationPolicy(loadConfig({ FAAS_ALLOWED_EXECUTORS: 'docker,gvisor', FAAS_MAX_TIMEOUT_MS: '60000' }, 4));
const base = { id: 'fn', image: 'faas/busybox:latest', command: ['echo', 'hi'] };

function refused(fn: () => unknown, code: ErrorCode, field: string): FaasError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(
    isFaasError(caught, code),
    `expected ${code}, got ${caught instanceof Error ? `${(caught as FaasError).code}: ${caught.message}` : 'no error'}`,
  );
  assert.equal(caught.details?.field, field, caught.message);
  return caught;
}

function record(extra: Partial<FunctionRecord> = {}): FunctionRecord {
  return {
    id: 'fn',
    image: 'faas/busybox:latest',
    command: ['echo', 'hi'],
    env: ['A=1'],
    allowedEnvVars: [],
    secretNames: ['TOKEN'],
    executor: null,
    poolMode: null,
    limits: { memory_mb: 128, cpus: 0.5 },
    timeoutMs: 5000,
    maxConcurrency: null,
    maxAttempts: null,
    retryOnFailure: false,
    callbackUrl: null,
    description: '',
    version: 3,
    createdAt: 0,
    updatedAt: 1000,
    ...extra,
  };
}

describe('POST /functions body', () => {
  it('takes the minimal definition and fills the documented defaults (null: the platform default)', () => {
    assert.deepEqual(validateFunctionCreate(base, policy), {
      id: 'fn',
      image: 'faas/busybox:latest',
      command: ['echo', 'hi'],
      env: [],
      allowedEnvVars: [],
      secrets: {},
      executor: null,
      poolMode: null,
      limits: {},
      timeoutMs: null,
      maxConcurrency: null,
      maxAttempts: null,
      retryOnFailure: false,
      callbackUrl: null,
      description: '',
    });
  });

  it('allowed_env_vars: names and prefixes ending in *, never a start-up variable, no repeats', () => {
    assert.deepEqual(validateFunctionCreate({ ...base, allowed_env_vars: ['LANG', 'APP_*'] }, policy).allowedEnvVars, ['LANG', 'APP_*']);
    assert.deepEqual(validateFunctionCreate({ ...base, allowed_env_vars: null }, policy).allowedEnvVars, []);
    for (const bad of ['*', 'A-B', '1X', 'X**', 'LD_PRELOAD', 'BASH_ENV', 'PATH', 7, ['X']]) {
      refused(() => validateFunctionCreate({ ...base, allowed_env_vars: [bad] }, policy), 'FAAS_ERR_INVALID_FUNCTION', 'allowed_env_vars');
    }
    refused(
      () => validateFunctionCreate({ ...base, allowed_env_vars: ['A', 'A'] }, policy),
      'FAAS_ERR_INVALID_FUNCTION',
      'allowed_env_vars',
    );
    refused(() => validateFunctionCreate({ ...base, allowed_env_vars: 'LANG' }, policy), 'FAAS_ERR_INVALID_FUNCTION', 'allowed_env_vars');
    refused(
      () => validateFunctionCreate({ ...base, allowed_env_vars: Array.from({ length: 129 }, (_, i) => `V${i}`) }, policy),
      'FAAS_ERR_INVALID_FUNCTION',
      'allowed_env_vars',
    );
    assert.deepEqual(validateFunctionPatch({ allowed_env_vars: null }, policy).fields.allowedEnvVars, []);
  });

  it('takes every field', () => {
    const input = validateFunctionCreate(
      {
        ...base,
        env_vars: ['A=1'],
        secrets: { TOKEN: 's3cret' },
        executor: 'gvisor',
        pool_mode: 'reuse',
        limits: { memory_mb: 128, cpus: 0.5, pids: 10 },
        timeout_ms: 60000,
        max_concurrency: 10000,
        description: 'd'.repeat(1024),
      },
      policy,
    );
    assert.deepEqual(input.secrets, { TOKEN: 's3cret' });
    assert.deepEqual(input.limits, { memory_mb: 128, cpus: 0.5, pids: 10 }, 'limits stay in the API units, unset ones unset');
    assert.equal(input.executor, 'gvisor');
    assert.equal(input.poolMode, 'reuse');
    assert.equal(input.timeoutMs, 60000);
    assert.equal(input.maxConcurrency, 10000);
  });

  it('refuses with the SandboxConfig codes what a SandboxConfig refuses', () => {
    refused(() => validateFunctionCreate({ ...base, image: 'UPPER' }, policy), 'FAAS_ERR_INVALID_IMAGE', 'image');
    refused(() => validateFunctionCreate({ id: 'fn', command: ['x'] }, policy), 'FAAS_ERR_INVALID_IMAGE', 'image');
    refused(() => validateFunctionCreate({ id: 'fn', image: base.image }, policy), 'FAAS_ERR_INVALID_COMMAND', 'command');
    refused(() => validateFunctionCreate({ ...base, command: ['a\0'] }, policy), 'FAAS_ERR_INVALID_COMMAND', 'command');
    refused(() => validateFunctionCreate({ ...base, env_vars: ['1A=x'] }, policy), 'FAAS_ERR_INVALID_ENV', 'env_vars');
    refused(() => validateFunctionCreate({ ...base, timeout_ms: 60001 }, policy), 'FAAS_ERR_INVALID_TIMEOUT', 'timeout_ms');
    refused(() => validateFunctionCreate({ ...base, limits: { cpus: 5 } }, policy), 'FAAS_ERR_INVALID_LIMITS', 'limits.cpus');
    refused(() => validateFunctionCreate({ ...base, limits: { disk: 1 } }, policy), 'FAAS_ERR_INVALID_LIMITS', 'limits.disk');
    refused(() => validateFunctionCreate({ ...base, executor: 'qemu' }, policy), 'FAAS_ERR_EXECUTOR_NOT_ALLOWED', 'executor');
  });

  it('refuses a bad id with the id code, naming the body field', () => {
    for (const id of [undefined, '', '../x', 'a..b', '-x', 'x'.repeat(129), 7]) {
      refused(() => validateFunctionCreate({ ...base, id }, policy), 'FAAS_ERR_INVALID_FUNCTION_ID', 'id');
    }
  });

  it('refuses unknown fields, naming them, and bodies that are no object', () => {
    refused(() => validateFunctionCreate({ ...base, payload_base64: '' }, policy), 'FAAS_ERR_INVALID_FUNCTION', 'payload_base64');
    refused(() => validateFunctionCreate({ ...base, secret_names: [] }, policy), 'FAAS_ERR_INVALID_FUNCTION', 'secret_names');
    refused(() => validateFunctionCreate(undefined, policy), 'FAAS_ERR_INVALID_FUNCTION', 'body');
    refused(() => validateFunctionCreate([base], policy), 'FAAS_ERR_INVALID_FUNCTION', 'body');
  });

  it('refuses a bad pool_mode, max_concurrency or description', () => {
    refused(() => validateFunctionCreate({ ...base, pool_mode: 'warm' }, policy), 'FAAS_ERR_INVALID_FUNCTION', 'pool_mode');
    for (const max_concurrency of [0, 10001, 1.5, '2']) {
      refused(() => validateFunctionCreate({ ...base, max_concurrency }, policy), 'FAAS_ERR_INVALID_FUNCTION', 'max_concurrency');
    }
    refused(() => validateFunctionCreate({ ...base, description: 'd'.repeat(1025) }, policy), 'FAAS_ERR_INVALID_FUNCTION', 'description');
    refused(() => validateFunctionCreate({ ...base, description: 'a\0' }, policy), 'FAAS_ERR_INVALID_FUNCTION', 'description');
    refused(() => validateFunctionCreate({ ...base, description: 3 }, policy), 'FAAS_ERR_INVALID_FUNCTION', 'description');
  });

  it('refuses bad secrets as environment faults, never quoting a value', () => {
    const cases: unknown[] = [
      ['not', 'an', 'object'],
      { '1BAD': 'v' },
      { 'A-B': 'v' },
      { TOKEN: 5 },
      { TOKEN: null },
      { TOKEN: 'top\0secret' },
      { TOKEN: `topsecret${'x'.repeat(32 * 1024)}` },
      Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`S${i}`, 'topsecret'])),
    ];
    for (const secrets of cases) {
      const err = refused(() => validateFunctionCreate({ ...base, secrets }, policy), 'FAAS_ERR_INVALID_ENV', 'secrets');
      assert.doesNotMatch(err.message, /topsecret/);
    }
  });

  it('a name is a secret or in env_vars, never both; together they fit the env_vars limits', () => {
    const err = refused(
      () => validateFunctionCreate({ ...base, env_vars: ['TOKEN=a'], secrets: { TOKEN: 'topsecret' } }, policy),
      'FAAS_ERR_INVALID_ENV',
      'secrets',
    );
    assert.match(err.message, /TOKEN/);
    const env_vars = Array.from({ length: 100 }, (_, i) => `E${i}=1`);
    const secrets = Object.fromEntries(Array.from({ length: 29 }, (_, i) => [`S${i}`, 'v']));
    refused(() => validateFunctionCreate({ ...base, env_vars, secrets }, policy), 'FAAS_ERR_INVALID_ENV', 'secrets');
    const big = Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`S${i}`, 'v'.repeat(30 * 1024)]));
    refused(() => validateFunctionCreate({ ...base, secrets: big }, policy), 'FAAS_ERR_INVALID_ENV', 'secrets');
    validateFunctionCreate({ ...base, env_vars: env_vars.slice(0, 99), secrets }, policy);
  });
});

describe('PATCH /functions/{id} body', () => {
  it('keeps what is absent, takes what is present, and resets with null', () => {
    const patch = validateFunctionPatch(
      { command: ['true'], env_vars: null, executor: null, pool_mode: null, timeout_ms: null, max_concurrency: null, description: null },
      policy,
    );
    assert.deepEqual(patch.fields, {
      command: ['true'],
      env: [],
      executor: null,
      poolMode: null,
      timeoutMs: null,
      maxConcurrency: null,
      description: '',
    });
    assert.deepEqual(validateFunctionPatch({}, policy), { fields: {} });
  });

  it('refuses an id, a null image or command, unknown fields, and bad values with the POST codes', () => {
    refused(() => validateFunctionPatch({ id: 'other' }, policy), 'FAAS_ERR_INVALID_FUNCTION', 'id');
    refused(() => validateFunctionPatch({ image: null }, policy), 'FAAS_ERR_INVALID_FUNCTION', 'image');
    refused(() => validateFunctionPatch({ command: null }, policy), 'FAAS_ERR_INVALID_FUNCTION', 'command');
    refused(() => validateFunctionPatch({ version: 4 }, policy), 'FAAS_ERR_INVALID_FUNCTION', 'version');
    refused(() => validateFunctionPatch({ image: 'A' }, policy), 'FAAS_ERR_INVALID_IMAGE', 'image');
    refused(() => validateFunctionPatch({ limits: { memory_mb: 1 } }, policy), 'FAAS_ERR_INVALID_LIMITS', 'limits.memory_mb');
    refused(() => validateFunctionPatch({ secrets: { TOKEN: 1 } }, policy), 'FAAS_ERR_INVALID_ENV', 'secrets');
    refused(() => validateFunctionPatch(undefined, policy), 'FAAS_ERR_INVALID_FUNCTION', 'body');
  });

  it('merges limits member by member; null for the object resets them all', () => {
    const current = record();
    const merge = (body: unknown) => applyPatch(current, ['TOKEN=x'], validateFunctionPatch(body, policy));
    assert.deepEqual(merge({ limits: { pids: 7 } }).patch.limits, { memory_mb: 128, cpus: 0.5, pids: 7 });
    assert.deepEqual(merge({ limits: { cpus: null, memory_mb: 256 } }).patch.limits, { memory_mb: 256 });
    assert.deepEqual(merge({ limits: null }).patch.limits, {});
    assert.equal(merge({ limits: { cpus: 0.5 } }).changed, false, 'the same values are no change');
  });

  it('merges secrets: a string sets one, null deletes one, null for the object deletes all', () => {
    const current = record({ secretNames: ['A_KEY', 'TOKEN'], env: [] });
    const secrets = ['A_KEY=1', 'TOKEN=2'];
    const merge = (body: unknown) => applyPatch(current, secrets, validateFunctionPatch(body, policy));
    assert.deepEqual(merge({ secrets: { NEW: 'v', TOKEN: null } }).patch.secrets, { NEW: 'v', TOKEN: null });
    assert.deepEqual(merge({ secrets: null }).patch.secrets, { A_KEY: null, TOKEN: null });
    assert.equal(merge({ secrets: { GONE: null } }).changed, false, 'deleting a secret that is not there is no change');
    assert.equal(merge({ secrets: { TOKEN: 'same?' } }).changed, true, 'a value set is a change (values are never compared)');
  });

  it('checks the rules across fields on the merged definition', () => {
    const current = record();
    const merge = (body: unknown, secrets = ['TOKEN=x']) => applyPatch(current, secrets, validateFunctionPatch(body, policy));
    refused(() => merge({ env_vars: ['TOKEN=1'] }), 'FAAS_ERR_INVALID_ENV', 'secrets');
    refused(() => merge({ secrets: { A: 'v' } }), 'FAAS_ERR_INVALID_ENV', 'secrets');
    // Deleting the clashing secret in the same patch makes it fine.
    assert.deepEqual(merge({ env_vars: ['TOKEN=1'], secrets: { TOKEN: null } }).patch.env, ['TOKEN=1']);
    // The stored secrets count towards the total size.
    const stored = Array.from({ length: 8 }, (_, i) => `S${i}=${'v'.repeat(30 * 1024)}`);
    const big = record({ env: [], secretNames: stored.map((s) => s.split('=')[0] as string) });
    refused(
      () => applyPatch(big, stored, validateFunctionPatch({ secrets: { MORE: 'v'.repeat(30 * 1024) } }, policy)),
      'FAAS_ERR_INVALID_ENV',
      'secrets',
    );
  });

  it('tells a change from none', () => {
    const current = record();
    const changed = (body: unknown) => applyPatch(current, ['TOKEN=x'], validateFunctionPatch(body, policy) as DefinitionPatch).changed;
    assert.equal(changed({}), false);
    assert.equal(changed({ command: ['echo', 'hi'], timeout_ms: 5000, env_vars: ['A=1'] }), false);
    assert.equal(changed({ timeout_ms: null }), true);
    assert.equal(changed({ description: 'new' }), true);
    assert.equal(changed({ executor: 'docker' }), true);
    // Every field a definition has is compared: one alone is a change.
    assert.equal(changed({ allowed_env_vars: ['APP_*'] }), true);
    assert.equal(changed({ allowed_env_vars: [] }), false);
    assert.equal(changed({ limits: { cpus: 0.5, memory_mb: 128 } }), false, 'limits compared member by member');
    assert.equal(changed({ max_attempts: 3 }), true);
    assert.equal(changed({ retry_on_failure: false }), false);
    const allowing = record({ allowedEnvVars: ['APP_*'] });
    const revoked = applyPatch(allowing, ['TOKEN=x'], validateFunctionPatch({ allowed_env_vars: null }, policy) as DefinitionPatch);
    assert.equal(revoked.changed, true, 'taking back what callers may set is a change');
    assert.deepEqual(revoked.patch.allowedEnvVars, []);
  });
});

describe('the Function answer', () => {
  it('names secrets, never their values, and gives times in RFC 3339', () => {
    const json = toFunctionJson(record());
    assert.deepEqual(json.secret_names, ['TOKEN']);
    assert.equal('secrets' in json, false);
    assert.equal(json.created_at, '1970-01-01T00:00:00.000Z');
    assert.equal(json.updated_at, '1970-01-01T00:00:01.000Z');
    assert.equal(json.env_vars[0], 'A=1');
    assert.ok(new FaasError('FAAS_ERR_INVALID_FUNCTION'));
  });
});
