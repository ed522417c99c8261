/** The merge rules of an invocation of a registered function: every field the request may and may not set. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type ErrorCode, type FaasError, isFaasError, loadConfig } from '@faas/common';
import type { FunctionRecord } from '@faas/store';
import { mergeInvocation, type ResolvedFunction } from './invocation-merge.js';
import { validationPolicy } from './validation.js';

const config = loadConfig({ FAAS_ALLOWED_EXECUTORS: 'docker,gvisor', FAAS_DEFAULT_TIMEOUT_MS: '30000' }, 4);
const policy = validationPolicy(config);
const MIB = 1024 * 1024;

function fn(extra: Partial<FunctionRecord> = {}, secrets = ['TOKEN=s3cret']): ResolvedFunction {
  return {
    record: {
      id: 'fn',
      image: 'faas/busybox:latest',
      command: ['sh', '-c', 'echo hi'],
      env: ['MODE=prod'],
      // Every name these tests send: a definition-set name or a start-up variable is refused even
      // when allowed (a start-up variable cannot be allowed through the API; a pattern may cover one).
      allowedEnvVars: [
        'EXTRA',
        'OK',
        'X*',
        'MODE',
        'TOKEN',
        'GREETING',
        'V*',
        'bash_env',
        'MY_PATH',
        'LDAP_URI',
        'python_version',
        'ENVIRONMENT',
        'NODE_ENV',
        'BASH_ENV',
        'ENV',
        'LD_*',
        'NODE_OPTIONS',
        'PYTHON*',
        'PERL5OPT',
        'GLIBC_TUNABLES',
        'PATH',
      ],
      secretNames: secrets.map((s) => s.slice(0, s.indexOf('='))),
      executor: 'gvisor',
      poolMode: 'reuse',
      limits: { memory_mb: 128, cpus: 0.5 },
      timeoutMs: 5000,
      maxConcurrency: 3,
      maxAttempts: null,
      retryOnFailure: false,
      callbackUrl: null,
      description: '',
      version: 7,
      createdAt: 0,
      updatedAt: 0,
      ...extra,
    },
    secrets,
  };
}

function refused(body: unknown, code: ErrorCode, field: string, resolved = fn()): FaasError {
  let caught: FaasError | undefined;
  assert.throws(
    () => mergeInvocation(resolved, body, policy),
    (err) => {
      assert.ok(isFaasError(err, code), `expected ${code}: ${(err as Error).message}`);
      assert.equal(err.details?.field, field);
      assert.doesNotMatch(err.message, /s3cret/);
      caught = err;
      return true;
    },
  );
  return caught as FaasError;
}

describe('invoking a registered function', () => {
  it('with no body runs the definition: its env then secrets, its limits over the defaults, its timeout, version, cap and pool mode', () => {
    for (const body of [undefined, {}]) {
      const merged = mergeInvocation(fn(), body, policy);
      assert.deepEqual(merged, {
        functionId: 'fn',
        functionVersion: 7,
        image: 'faas/busybox:latest',
        command: ['sh', '-c', 'echo hi'],
        env: ['MODE=prod', 'TOKEN=s3cret'],
        stdin: Buffer.alloc(0),
        limits: { ...config.defaultLimits, memoryBytes: 128 * MIB, cpus: 0.5 },
        timeoutMs: 5000,
        executor: 'gvisor',
        isolation: 'reuse',
        maxConcurrency: 3,
        secretNames: ['TOKEN'],
      });
    }
  });

  it('fills what the definition leaves unset with the platform defaults', () => {
    const merged = mergeInvocation(
      fn({ executor: null, poolMode: null, limits: {}, timeoutMs: null, maxConcurrency: null, secretNames: [], env: [] }, []),
      undefined,
      policy,
    );
    assert.equal(merged.executor, 'docker');
    assert.equal(merged.isolation, undefined);
    assert.deepEqual(merged.limits, config.defaultLimits);
    assert.equal(merged.timeoutMs, 30000);
    assert.equal('maxConcurrency' in merged, false);
    assert.equal('secretNames' in merged, false);
  });

  it('takes payload_base64 as stdin, extra env_vars after the definition and its secrets, and a smaller timeout and limits', () => {
    const merged = mergeInvocation(
      fn(),
      { payload_base64: 'aGk=', env_vars: ['EXTRA=1'], timeout_ms: 5000, limits: { memory_mb: 64, cpus: 0.5, pids: 16 } },
      policy,
    );
    assert.equal(merged.stdin.toString(), 'hi');
    assert.deepEqual(merged.env, ['MODE=prod', 'TOKEN=s3cret', 'EXTRA=1']);
    assert.equal(merged.timeoutMs, 5000);
    assert.deepEqual(merged.limits, { ...config.defaultLimits, memoryBytes: 64 * MIB, cpus: 0.5, pids: 16 });
  });

  it('refuses image, command and executor: the definition fixes them', () => {
    refused({ image: 'faas/busybox:latest' }, 'FAAS_ERR_FIELD_NOT_ALLOWED', 'image');
    refused({ command: ['true'] }, 'FAAS_ERR_FIELD_NOT_ALLOWED', 'command');
    refused({ executor: 'gvisor' }, 'FAAS_ERR_FIELD_NOT_ALLOWED', 'executor');
  });

  it('refuses a variable the definition sets, in its env_vars or its secrets', () => {
    refused({ env_vars: ['MODE=dev'] }, 'FAAS_ERR_FIELD_NOT_ALLOWED', 'env_vars');
    refused({ env_vars: ['OK=1', 'TOKEN=guess'] }, 'FAAS_ERR_FIELD_NOT_ALLOWED', 'env_vars');
  });

  it('refuses a variable that changes what a program runs at start-up (loader, shell, language runtime), whatever its value', () => {
    for (const name of [
      'BASH_ENV',
      'ENV',
      'LD_PRELOAD',
      'LD_AUDIT',
      'NODE_OPTIONS',
      'PYTHONSTARTUP',
      'PYTHONPATH',
      'PERL5OPT',
      'GLIBC_TUNABLES',
      'PATH',
    ]) {
      refused({ env_vars: ['OK=1', `${name}=/dev/stdin`] }, 'FAAS_ERR_FIELD_NOT_ALLOWED', 'env_vars');
    }
    // Names are case-sensitive, as the programs that read them are; ordinary names pass.
    for (const name of ['bash_env', 'MY_PATH', 'LDAP_URI', 'python_version', 'ENVIRONMENT', 'NODE_ENV']) {
      mergeInvocation(fn(), { env_vars: [`${name}=1`] }, policy);
    }
  });

  it('lets the definition itself set a start-up variable', () => {
    const merged = mergeInvocation(fn({ env: ['NODE_OPTIONS=--max-old-space-size=64'] }), { env_vars: ['EXTRA=1'] }, policy);
    assert.ok(merged.env.includes('NODE_OPTIONS=--max-old-space-size=64'));
  });

  it('refuses a variable the definition does not let callers set: none unless allowed_env_vars names it', () => {
    refused({ env_vars: ['LANG=C'] }, 'FAAS_ERR_FIELD_NOT_ALLOWED', 'env_vars', fn({ allowedEnvVars: [] }));
    refused({ env_vars: ['APPX=1'] }, 'FAAS_ERR_FIELD_NOT_ALLOWED', 'env_vars', fn({ allowedEnvVars: ['APP_*', 'LANG'] }));
    // No list of dangerous names is complete (a tool's own options variable, say): the allowlist stops those too.
    refused({ env_vars: ['SOMETOOL_OPTIONS=--exec=env'] }, 'FAAS_ERR_FIELD_NOT_ALLOWED', 'env_vars', fn({ allowedEnvVars: ['LANG'] }));
    const merged = mergeInvocation(fn({ allowedEnvVars: ['APP_*', 'LANG'] }), { env_vars: ['APP_MODE=x', 'LANG=C'] }, policy);
    assert.deepEqual(merged.env.slice(-2), ['APP_MODE=x', 'LANG=C']);
  });

  it("takes or refuses the caller's variables whatever the secrets' size: no answer tells how long they are", () => {
    const extra = Array.from({ length: 8 }, (_, i) => `V${i}=${'x'.repeat(30_000)}`);
    for (const secret of ['TOKEN=s', `TOKEN=${'s'.repeat(32_000)}`]) {
      // 8 x 30 KB with the definition's own MODE=prod fits one list's 256 KiB, however long the secret.
      const merged = mergeInvocation(fn({}, [secret]), { env_vars: extra }, policy);
      assert.equal(merged.env.length, 1 + 1 + 8);
      const tooMuch = [...extra, `V8=${'x'.repeat(25_000)}`];
      const err = refused({ env_vars: tooMuch }, 'FAAS_ERR_INVALID_ENV', 'env_vars', fn({}, [secret]));
      assert.doesNotMatch(err.message, /secret/i);
    }
  });

  it('refuses more time or a larger limit than the function has (its own, or the platform default)', () => {
    refused({ timeout_ms: 5001 }, 'FAAS_ERR_FIELD_NOT_ALLOWED', 'timeout_ms');
    refused({ limits: { memory_mb: 129 } }, 'FAAS_ERR_FIELD_NOT_ALLOWED', 'limits.memory_mb');
    refused({ limits: { cpus: 0.6 } }, 'FAAS_ERR_FIELD_NOT_ALLOWED', 'limits.cpus');
    refused({ limits: { pids: config.defaultLimits.pids + 1 } }, 'FAAS_ERR_FIELD_NOT_ALLOWED', 'limits.pids');
    refused({ timeout_ms: 30001 }, 'FAAS_ERR_FIELD_NOT_ALLOWED', 'timeout_ms', fn({ timeoutMs: null }));
  });

  it('checks each field as a SandboxConfig does, and refuses unknown fields and non-objects', () => {
    refused({ payload_base64: 'not base64!' }, 'FAAS_ERR_INVALID_BASE64', 'payload_base64');
    refused({ env_vars: ['no-equals'] }, 'FAAS_ERR_INVALID_ENV', 'env_vars');
    refused({ timeout_ms: 0 }, 'FAAS_ERR_INVALID_TIMEOUT', 'timeout_ms');
    refused({ limits: { memory_mb: 1 } }, 'FAAS_ERR_INVALID_LIMITS', 'limits.memory_mb');
    refused({ limits: { disk: 1 } }, 'FAAS_ERR_INVALID_LIMITS', 'limits.disk');
    refused({ stdin: 'x' }, 'FAAS_ERR_INVALID_REQUEST', 'stdin');
    for (const body of [[1], null, 'text', 42]) {
      assert.throws(
        () => mergeInvocation(fn(), body, policy),
        (err) => isFaasError(err, 'FAAS_ERR_INVALID_REQUEST'),
      );
    }
  });

  it('runs a function registered before the operator lowered a maximum within the new maximum, as its timeout', () => {
    const lowered = validationPolicy(
      loadConfig(
        {
          FAAS_ALLOWED_EXECUTORS: 'docker,gvisor',
          FAAS_MAX_MEMORY_MB: '64',
          FAAS_MAX_CPUS: '0.25',
          FAAS_MAX_PIDS: '10',
          FAAS_DEFAULT_MEMORY_MB: '32',
          FAAS_DEFAULT_PIDS: '8',
          FAAS_MAX_TIMEOUT_MS: '1000',
          FAAS_DEFAULT_TIMEOUT_MS: '1000',
        },
        4,
      ),
    );
    const merged = mergeInvocation(fn({ limits: { memory_mb: 128, cpus: 0.5, pids: 50 } }), undefined, lowered);
    assert.deepEqual([merged.limits.memoryBytes, merged.limits.cpus, merged.limits.pids, merged.timeoutMs], [64 * MIB, 0.25, 10, 1000]);
  });

  it('refuses a function whose executor is no longer enabled, saying how to fix it', () => {
    const dockerOnly = validationPolicy(loadConfig({ FAAS_ALLOWED_EXECUTORS: 'docker' }, 4));
    assert.throws(
      () => mergeInvocation(fn(), undefined, dockerOnly),
      (err) =>
        isFaasError(err, 'FAAS_ERR_EXECUTOR_NOT_ALLOWED') &&
        /"gvisor"/.test(err.message) &&
        /FAAS_ALLOWED_EXECUTORS/.test(err.message) &&
        /PATCH \/functions\/fn/.test(err.message),
    );
  });

  it("holds the caller env_vars with the definition's own env_vars to the limits of one list (the secrets on top)", () => {
    const env = Array.from({ length: 100 }, (_, i) => `E${i}=1`);
    refused({ env_vars: Array.from({ length: 29 }, (_, i) => `X${i}=1`) }, 'FAAS_ERR_INVALID_ENV', 'env_vars', fn({ env }));
    const merged = mergeInvocation(fn({ env }), { env_vars: Array.from({ length: 28 }, (_, i) => `X${i}=1`) }, policy);
    assert.equal(merged.env.length, 100 + 1 + 28, 'the secret comes on top of the 128');
    const big = Array.from({ length: 8 }, (_, i) => `E${i}=${'v'.repeat(30 * 1024)}`);
    const extra = Array.from({ length: 2 }, (_, i) => `X${i}=${'v'.repeat(10 * 1024)}`);
    refused({ env_vars: extra }, 'FAAS_ERR_INVALID_ENV', 'env_vars', fn({ env: big }));
  });
});
