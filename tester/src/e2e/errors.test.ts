/**
 * Every class of bad input and refused request gets its HTTP status and registry code (matched
 * by code, never by message), the documented error body, and leaves the server serving.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertError } from '../support/http.js';
import { BUSYBOX } from '../support/images.js';
import { usePlatform } from '../support/platform.js';

const MAX_BODY = 4096;
const MAX_PAYLOAD = 1024;
const p = usePlatform({
  FAAS_MAX_BODY_BYTES: String(MAX_BODY),
  FAAS_MAX_PAYLOAD_BYTES: String(MAX_PAYLOAD),
  FAAS_MAX_TIMEOUT_MS: '60000',
  FAAS_MAX_MEMORY_MB: '512',
  FAAS_MAX_CPUS: '2',
  FAAS_MAX_PIDS: '256',
});

const valid = { image: BUSYBOX, command: ['echo', 'ok'] };
const invoke = (body: unknown) => p.client.invoke('fn', body as Record<string, unknown>);
const raw = (body: string, contentType?: string) =>
  p.client.request('/functions/fn/invoke', { method: 'POST', body, headers: contentType ? { 'content-type': contentType } : {} });

/** Known defects of the gateway, by case; the case runs and is reported TODO until fixed. */

describe('request errors', { concurrency: 8 }, () => {
  it('invalid JSON is 400 FAAS_ERR_INVALID_JSON', async () => {
    assertError(await raw('{"image": "faas/busybox:latest", ', 'application/json'), 400, 'FAAS_ERR_INVALID_JSON');
    assertError(await raw('', 'application/json'), 400, 'FAAS_ERR_INVALID_JSON');
  });

  it('a body that is not a JSON object is 400 FAAS_ERR_INVALID_REQUEST', async () => {
    for (const body of ['[]', 'null', '"text"', '42']) {
      assertError(await raw(body, 'application/json'), 400, 'FAAS_ERR_INVALID_REQUEST');
    }
  });

  it('a body that is not application/json is 415 FAAS_ERR_UNSUPPORTED_MEDIA_TYPE', async () => {
    const json = JSON.stringify(valid);
    for (const type of ['application/octet-stream', 'application/x-www-form-urlencoded', 'text/json']) {
      assertError(await raw(json, type), 415, 'FAAS_ERR_UNSUPPORTED_MEDIA_TYPE');
    }
    assertError(await raw(json), 415, 'FAAS_ERR_UNSUPPORTED_MEDIA_TYPE');
  });

  it('text/plain is 415 FAAS_ERR_UNSUPPORTED_MEDIA_TYPE', async () => {
    assertError(await raw(JSON.stringify(valid), 'text/plain'), 415, 'FAAS_ERR_UNSUPPORTED_MEDIA_TYPE');
  });

  it('a body over FAAS_MAX_BODY_BYTES is 413 FAAS_ERR_BODY_TOO_LARGE', async () => {
    const body = JSON.stringify({ ...valid, command: ['echo', 'x'.repeat(MAX_BODY)] });
    assertError(await raw(body, 'application/json'), 413, 'FAAS_ERR_BODY_TOO_LARGE');
  });

  it('a payload over FAAS_MAX_PAYLOAD_BYTES is 413 FAAS_ERR_PAYLOAD_TOO_LARGE, one at the limit runs', async () => {
    const over = await invoke({ ...valid, payload_base64: Buffer.alloc(MAX_PAYLOAD + 1, 7).toString('base64') });
    assert.equal(assertError(over, 413, 'FAAS_ERR_PAYLOAD_TOO_LARGE').field, 'payload_base64');
    const at = await p.client.run('fn', {
      image: BUSYBOX,
      command: ['wc', '-c'],
      payload_base64: Buffer.alloc(MAX_PAYLOAD, 7).toString('base64'),
    });
    assert.equal(at.stdout.toString().trim(), String(MAX_PAYLOAD));
  });

  it('function ids with path tricks, bad characters or bad length are 400 FAAS_ERR_INVALID_FUNCTION_ID', async () => {
    const ids = ['..%2F..%2Fetc', '%2e%2e', '..', 'a..b', '.hidden', '-dash', 'a%2Fb', '%00', 'sp%20ace', 'a'.repeat(129), '%C3%A9'];
    for (const id of ids) {
      const res = await p.client.request(`/functions/${id}/invoke`, { method: 'POST', body: valid });
      assertError(res, 400, 'FAAS_ERR_INVALID_FUNCTION_ID');
    }
    // An empty segment still reaches the route, with an empty id.
    assertError(await p.client.request('/functions//invoke', { method: 'POST', body: valid }), 400, 'FAAS_ERR_INVALID_FUNCTION_ID');
    // The longest allowed id runs.
    const longest = await p.client.run('a'.repeat(128), valid);
    assert.equal(longest.request_id, 'a'.repeat(128));
  });

  it('malformed percent-encoding and very long ids get a registry error', async () => {
    for (const path of ['/functions/%ZZ/invoke', `/functions/${'a'.repeat(600)}/invoke`]) {
      const res = await p.client.request(path, { method: 'POST', body: valid });
      assert.ok(res.status === 400 || res.status === 414, `${path}: ${res.status}`);
      assert.match(res.json<{ code: string }>().code, /^FAAS_ERR_/);
    }
  });

  it('invalid base64 is 400 FAAS_ERR_INVALID_BASE64', async () => {
    for (const payload of [
      'SGVsbG8gd29ybGQh!',
      'SGVsbG8',
      'SGVs bG8=',
      'SGVsbG8=\n',
      'SGVsbG8=\r\n',
      '-_-_',
      'SGVsbG8===',
      '=SGVsbG8',
      123,
      [],
    ]) {
      const res = await invoke({ ...valid, payload_base64: payload });
      assert.equal(assertError(res, 400, 'FAAS_ERR_INVALID_BASE64').field, 'payload_base64', JSON.stringify(payload));
    }
  });

  it('bad commands are 400 FAAS_ERR_INVALID_COMMAND', async () => {
    const commands: unknown[] = [[], ['echo', 1], ['ec\u0000ho'], ['echo', 'a\u0000b'], [''], 'echo hi', null, undefined, [null]];
    for (const command of commands) {
      const res = await invoke({ image: BUSYBOX, command });
      assert.equal(assertError(res, 400, 'FAAS_ERR_INVALID_COMMAND').field, 'command', JSON.stringify(command));
    }
  });

  it('bad env vars are 400 FAAS_ERR_INVALID_ENV', async () => {
    const tooMany = Array.from({ length: 129 }, (_, i) => `V${i}=x`);
    const cases: unknown[] = [
      ['NOEQUALS'],
      ['=value'],
      ['1BAD=x'],
      ['BAD-KEY=x'],
      ['A B=x'],
      ['A=\u0000'],
      tooMany,
      'A=1',
      [1],
      ['A=1', null],
    ];
    for (const env_vars of cases) {
      const res = await invoke({ ...valid, env_vars });
      assert.equal(assertError(res, 400, 'FAAS_ERR_INVALID_ENV').field, 'env_vars', JSON.stringify(env_vars).slice(0, 80));
    }
    const ok = await p.client.run('fn', { ...valid, env_vars: Array.from({ length: 128 }, (_, i) => `V${i}=x`) });
    assert.equal(ok.exit_code, 0);
  });

  it('an unknown field is 400 FAAS_ERR_INVALID_REQUEST naming it', async () => {
    const res = await invoke({ ...valid, imagee: 'typo' });
    const body = assertError(res, 400, 'FAAS_ERR_INVALID_REQUEST');
    assert.equal(body.field, 'imagee');
    assert.match(body.error, /imagee/);
  });

  it('a bad image reference is 400 FAAS_ERR_INVALID_IMAGE', async () => {
    for (const image of ['', 'UPPER/Case', 'a b', '../etc', 'x'.repeat(300), 42]) {
      assertError(await invoke({ ...valid, image }), 400, 'FAAS_ERR_INVALID_IMAGE');
    }
    assertError(await invoke({ command: ['true'] }), 400, 'FAAS_ERR_INVALID_IMAGE');
  });

  it('timeout_ms out of range is 400 FAAS_ERR_INVALID_TIMEOUT', async () => {
    for (const timeout_ms of [0, -1, 1.5, '1000', 60_001, 1e12]) {
      const res = await invoke({ ...valid, timeout_ms });
      assert.equal(assertError(res, 400, 'FAAS_ERR_INVALID_TIMEOUT').field, 'timeout_ms', String(timeout_ms));
    }
  });

  it('limits out of range are 400 FAAS_ERR_INVALID_LIMITS', async () => {
    const cases: unknown[] = [
      { memory_mb: 8 },
      { memory_mb: 513 },
      { memory_mb: 64.5 },
      { cpus: 0 },
      { cpus: 2.5 },
      { cpus: 'one' },
      { pids: 0 },
      { pids: 257 },
      { disk_mb: 10 },
      'small',
      [],
    ];
    for (const limits of cases) {
      assertError(await invoke({ ...valid, limits }), 400, 'FAAS_ERR_INVALID_LIMITS');
    }
    const ok = await p.client.run('fn', { ...valid, limits: { memory_mb: 512, cpus: 2, pids: 256 } });
    assert.equal(ok.exit_code, 0);
  });

  it('an executor that is not enabled is 403 FAAS_ERR_EXECUTOR_NOT_ALLOWED', async () => {
    for (const executor of ['gvisor', 'qemu', 'firecracker', 'bogus']) {
      const body = assertError(await invoke({ ...valid, executor }), 403, 'FAAS_ERR_EXECUTOR_NOT_ALLOWED');
      assert.match(body.error, /FAAS_ALLOWED_EXECUTORS/);
    }
    const ok = await p.client.run('fn', { ...valid, executor: 'docker' });
    assert.equal(ok.executor, 'docker');
  });

  it('an image that is not on the host is 422 FAAS_ERR_IMAGE_NOT_FOUND naming it and how to build it', async () => {
    const image = 'faas/no-such-image:latest';
    const body = assertError(await invoke({ ...valid, image }), 422, 'FAAS_ERR_IMAGE_NOT_FOUND');
    assert.equal(body.image, image);
    assert.ok(body.error.includes(image), body.error);
    assert.match(body.error, /build-images\.sh|docker (load|import)/);
  });

  it('an unknown route is 404 FAAS_ERR_NOT_FOUND', async () => {
    assertError(await p.client.request('/nope'), 404, 'FAAS_ERR_NOT_FOUND');
    assertError(await p.client.request('/functions/fn', { method: 'POST', body: valid }), 404, 'FAAS_ERR_NOT_FOUND');
    assertError(await p.client.request('/functions/fn/invoke/extra', { method: 'POST', body: valid }), 404, 'FAAS_ERR_NOT_FOUND');
  });

  it('GET on the invoke route is 405 FAAS_ERR_METHOD_NOT_ALLOWED with Allow: POST', async () => {
    for (const method of ['GET', 'PUT', 'DELETE']) {
      const res = await p.client.request('/functions/fn/invoke', { method });
      assertError(res, 405, 'FAAS_ERR_METHOD_NOT_ALLOWED');
      assert.equal(res.headers.allow, 'POST');
    }
  });

  it('error answers from the invoke route carry the invocation id of their header', async () => {
    const res = await invoke({ ...valid, command: [] });
    const body = assertError(res, 400, 'FAAS_ERR_INVALID_COMMAND');
    assert.ok(body.invocation_id);
    assert.equal(body.invocation_id, res.headers['x-faas-invocation-id']);
  });
});

describe('after every error', () => {
  it('the server keeps serving', async () => {
    const result = await p.client.run('still-alive', { image: BUSYBOX, command: ['echo', 'alive'] });
    assert.equal(result.stdout.toString(), 'alive\n');
    const health = await p.client.request('/health');
    assert.equal(health.status, 200);
  });
});
