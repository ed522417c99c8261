import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type ErrorCode, FaasError, loadConfig } from '@faas/common';
import { isWellFormedText, normalizedNameLength, validateFunctionId, validateSandboxConfig, validationPolicy } from './validation.js';

const policy = validationPolicy(loadConfig({}, 2));
const ok = { image: 'faas/busybox:latest', command: ['echo', 'hi'] };

function rejects(code: ErrorCode, body: unknown, id: unknown = 'fn') {
  assert.throws(
    () => validateSandboxConfig(id, body, policy),
    (err: unknown) => err instanceof FaasError && err.code === code,
    `expected ${code} for ${JSON.stringify(body)?.slice(0, 120)}`,
  );
}

describe('function id', () => {
  it('accepts ids from the allowlist', () => {
    for (const id of ['hello', 'a', 'my-fn_1.2', 'A'.repeat(128)]) assert.equal(validateFunctionId(id), id);
  });
  it('rejects path tricks, empty, overlong and odd characters', () => {
    for (const id of [
      '',
      '..',
      '../etc',
      '..%2F..%2Fetc',
      'a/b',
      'a\\b',
      '.hidden',
      '-x',
      'a..b',
      'A'.repeat(129),
      'a b',
      'a\0b',
      'é',
      42,
      null,
    ]) {
      assert.throws(
        () => validateFunctionId(id),
        (e: unknown) => e instanceof FaasError && e.code === 'FAAS_ERR_INVALID_FUNCTION_ID',
      );
    }
  });
});

describe('SandboxConfig', () => {
  it('applies defaults to the design document request', () => {
    const req = validateSandboxConfig('hello', { ...ok, env_vars: ['A=1', 'B='], payload_base64: 'SGVsbG8gd29ybGQh' }, policy);
    assert.equal(req.stdin.toString(), 'Hello world!');
    assert.deepEqual(req.env, ['A=1', 'B=']);
    assert.equal(req.timeoutMs, policy.defaultTimeoutMs);
    assert.equal(req.executor, 'docker');
    assert.deepEqual(req.limits, policy.defaultLimits);
  });
  it('accepts null optional fields as the design document allows', () => {
    const req = validateSandboxConfig('f', { ...ok, env_vars: null, payload_base64: null }, policy);
    assert.equal(req.stdin.length, 0);
    assert.deepEqual(req.env, []);
  });
  it('rejects a body that is not an object, and unknown fields', () => {
    for (const body of [null, [], 'x', 3]) rejects('FAAS_ERR_INVALID_REQUEST', body);
    rejects('FAAS_ERR_INVALID_REQUEST', { ...ok, env: ['A=1'] });
  });
  it('rejects bad images', () => {
    for (const image of [undefined, '', 'UPPER/case', 'a b', 'x'.repeat(300), 'busybox:', '../x', 7])
      rejects('FAAS_ERR_INVALID_IMAGE', { ...ok, image });
  });
  it('measures repository names as the engine does (docker.io/ and library/ added) and refuses those over 255', () => {
    const seg = (n: number) => 'a'.repeat(n);
    // 245 + "docker.io/" = 255: accepted; one more is refused (the engine says "must not be more than 255").
    const twoPart = `${seg(100)}/${seg(144)}`;
    assert.equal(normalizedNameLength(`${twoPart}:tag`), 255);
    assert.equal(validateSandboxConfig('f', { ...ok, image: `${twoPart}:tag` }, policy).image, `${twoPart}:tag`);
    rejects('FAAS_ERR_INVALID_IMAGE', { ...ok, image: `${seg(100)}/${seg(145)}` });
    // One component: docker.io/library/ (18 characters) is added.
    assert.equal(normalizedNameLength(seg(237)), 255);
    rejects('FAAS_ERR_INVALID_IMAGE', { ...ok, image: seg(238) });
    // A registry host is counted as written; tag and digest never count.
    assert.equal(normalizedNameLength(`reg.io/${seg(10)}:v1@sha256:${'f'.repeat(64)}`), 17);
    assert.equal(normalizedNameLength(`localhost:5000/${seg(10)}`), 25);
  });
  it('accepts oci:<ref> images of the OCI image layout (letters, digits and ._-:/@ in the ref)', () => {
    for (const image of ['oci:busybox', 'oci:faas/busybox:latest', 'oci:docker.io/library/busybox:1.36', 'oci:App_1.0-rc@x']) {
      assert.equal(validateSandboxConfig('f', { ...ok, image }, policy).image, image);
    }
    for (const image of ['oci:', 'oci: x', 'oci:-x', 'oci:a b', `oci:${'a'.repeat(252)}`])
      rejects('FAAS_ERR_INVALID_IMAGE', { ...ok, image });
  });
  it('rejects registry hosts Docker refuses (a label starting or ending with "-"), accepts the valid ones', () => {
    for (const image of ['-reg.io/app', 'reg-.io/app', 'reg.-io/app', 'reg.io-/app', '-reg:5000/app', 'reg.io:/app']) {
      rejects('FAAS_ERR_INVALID_IMAGE', { ...ok, image });
    }
    for (const image of [
      'reg.io/app',
      'my-reg.example.com:5000/team/app:1.0',
      'localhost/app',
      'r-1:5000/a_b__c-d.e',
      'a.b/c@sha256:' + 'f'.repeat(64),
    ]) {
      assert.equal(validateSandboxConfig('f', { ...ok, image }, policy).image, image);
    }
  });
  it('rejects bad commands', () => {
    for (const command of [undefined, [], [''], 'echo', [1], ['echo', null], ['ec\0ho'], Array(1025).fill('x')]) {
      rejects('FAAS_ERR_INVALID_COMMAND', { ...ok, command });
    }
  });
  it('allows empty arguments after the program', () => {
    assert.deepEqual(validateSandboxConfig('f', { ...ok, command: ['sh', '-c', ''] }, policy).command, ['sh', '-c', '']);
  });
  it('rejects bad env vars', () => {
    for (const env_vars of ['A=1', ['A'], ['=1'], ['1A=x'], ['A-B=1'], ['A=\0'], [3], Array(129).fill('A=1'), ['A=' + 'x'.repeat(40000)]]) {
      rejects('FAAS_ERR_INVALID_ENV', { ...ok, env_vars });
    }
  });
  it('decodes base64 strictly', () => {
    for (const payload_base64 of ['SGVsbG8', 'SGVsbG8=x', 'SGV sbG8=', 'SGVsbG8\n', '!!!!', 'SGVsbG8_', 7]) {
      rejects('FAAS_ERR_INVALID_BASE64', { ...ok, payload_base64 });
    }
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    assert.deepEqual(validateSandboxConfig('f', { ...ok, payload_base64: all.toString('base64') }, policy).stdin, all);
  });
  it('bounds the payload before decoding it', () => {
    const small = validationPolicy(loadConfig({ FAAS_MAX_PAYLOAD_BYTES: '10' }, 2));
    assert.equal(validateSandboxConfig('f', { ...ok, payload_base64: Buffer.alloc(10).toString('base64') }, small).stdin.length, 10);
    assert.throws(
      () => validateSandboxConfig('f', { ...ok, payload_base64: Buffer.alloc(11).toString('base64') }, small),
      (e: unknown) => e instanceof FaasError && e.code === 'FAAS_ERR_PAYLOAD_TOO_LARGE',
    );
  });
  it('bounds timeouts and limits by the policy', () => {
    for (const timeout_ms of [0, -1, 1.5, '10', policy.maxTimeoutMs + 1]) rejects('FAAS_ERR_INVALID_TIMEOUT', { ...ok, timeout_ms });
    assert.equal(validateSandboxConfig('f', { ...ok, timeout_ms: 1234 }, policy).timeoutMs, 1234);
    for (const limits of [{ memory_mb: 8 }, { memory_mb: 1e9 }, { cpus: 0 }, { cpus: 99 }, { pids: 0 }, { pids: 1.5 }, { disk: 1 }, 'x']) {
      rejects('FAAS_ERR_INVALID_LIMITS', { ...ok, limits });
    }
    const req = validateSandboxConfig('f', { ...ok, limits: { memory_mb: 64, cpus: 0.5, pids: 16 } }, policy);
    assert.equal(req.limits.memoryBytes, 64 * 1024 * 1024);
    assert.equal(req.limits.cpus, 0.5);
    assert.equal(req.limits.pids, 16);
  });
  it('allows only configured executors', () => {
    rejects('FAAS_ERR_EXECUTOR_NOT_ALLOWED', { ...ok, executor: 'gvisor' });
    rejects('FAAS_ERR_EXECUTOR_NOT_ALLOWED', { ...ok, executor: 'lambda' });
    const both = validationPolicy(loadConfig({ FAAS_ALLOWED_EXECUTORS: 'docker,gvisor' }, 2));
    assert.equal(validateSandboxConfig('f', { ...ok, executor: 'gvisor' }, both).executor, 'gvisor');
  });

  it('decodes a payload of several megabytes (4,000,000 bytes of "A")', () => {
    const bytes = Buffer.alloc(4_000_000, 'A');
    const req = validateSandboxConfig('f', { ...ok, command: ['wc', '-c'], payload_base64: bytes.toString('base64') }, policy);
    assert.deepEqual(req.stdin, bytes);
  });
});

describe('text no process can receive', () => {
  const LONE = ['\ud800', 'a\udfffb', 'x\udbff', '\udc00\ud800'];
  const expectations: Array<[string, ErrorCode, string, (s: string) => unknown]> = [
    ['image', 'FAAS_ERR_INVALID_IMAGE', 'image', (s) => ({ ...ok, image: `faas/busybox${s}` })],
    ['command[0]', 'FAAS_ERR_INVALID_COMMAND', 'command', (s) => ({ ...ok, command: [`echo${s}`] })],
    ['command[2]', 'FAAS_ERR_INVALID_COMMAND', 'command', (s) => ({ ...ok, command: ['echo', 'a', s] })],
    ['env_vars[1]', 'FAAS_ERR_INVALID_ENV', 'env_vars', (s) => ({ ...ok, env_vars: ['A=1', `B=${s}`] })],
  ];

  it('a NUL or a lone surrogate in any string field is refused, naming the field, the same way everywhere', () => {
    for (const [label, code, field, body] of expectations) {
      for (const [bad, what] of [['\u0000', /NUL/], ...LONE.map((s) => [s, /lone UTF-16 surrogate/] as const)] as const) {
        assert.throws(
          () => validateSandboxConfig('f', body(bad), policy),
          (err: unknown) =>
            err instanceof FaasError &&
            err.code === code &&
            err.toJSON().field === field &&
            err.message.startsWith(`${label} contains`) &&
            what.test(err.message),
          `${label} with ${JSON.stringify(bad)}`,
        );
      }
    }
    for (const bad of ['a\u0000b', ...LONE.map((s) => `fn${s}`)]) {
      assert.throws(
        () => validateFunctionId(bad),
        (err: unknown) =>
          err instanceof FaasError &&
          err.code === 'FAAS_ERR_INVALID_FUNCTION_ID' &&
          err.toJSON().field === 'function_id' &&
          err.message.startsWith('function_id contains'),
      );
    }
  });

  it('paired surrogates (astral characters) are text and pass', () => {
    const req = validateSandboxConfig('f', { ...ok, command: ['echo', '\u{1F600} ok'], env_vars: ['E=\ud83d\ude00'] }, policy);
    assert.deepEqual(req.command, ['echo', '\u{1F600} ok']);
    assert.deepEqual(req.env, ['E=\u{1F600}']);
  });

  it('echoes of caller text in messages and fields are well-formed', () => {
    assert.throws(
      () => validateSandboxConfig('f', { ...ok, ['x\ud800']: 1 }, policy),
      (err: unknown) => err instanceof FaasError && err.toJSON().field === 'x\ufffd' && isWellFormedText(err.message),
    );
    assert.throws(
      () => validateSandboxConfig('f', { ...ok, executor: [[[[['docker']]]]] }, policy),
      (err: unknown) => err instanceof FaasError && err.code === 'FAAS_ERR_EXECUTOR_NOT_ALLOWED' && /of type object/.test(err.message),
    );
  });
});
