/**
 * Every class of bad input and refused request gets its HTTP status and registry code (matched
 * by code, never by message), the documented error body, and leaves the server serving.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import { createPlatform } from '@faas/bin';
import { createLoggerFactory, loadConfig } from '@faas/common';
import { survivingProcesses, waitForNoSurvivor } from '../support/docker.js';
import { assertError, HttpClient, type HttpResponse } from '../support/http.js';
import { BUSYBOX } from '../support/images.js';
import { TEST_ADMIN_KEY } from '../support/keys.js';
import { conformanceProblems, documentedMethods } from '../support/openapi.js';
import { OWN_CONTAINERS, platformEnv, usePlatform, waitForRunning, withPlatform } from '../support/platform.js';

/** The header line raw requests send: the test admin key (every route but the public ones needs a key). */
const AUTH = `authorization: Bearer ${TEST_ADMIN_KEY}\r\n`;

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

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Asserts an error of the invoke route: status, code, and the invocation id, the same in header and body. */
function assertInvocationError(res: HttpResponse, status: number, code: string) {
  const body = assertError(res, status, code);
  const header = res.headers['x-faas-invocation-id'];
  assert.match(String(header), UUID, `x-faas-invocation-id on ${status} ${code}`);
  assert.equal(body.invocation_id, header, `invocation_id on ${status} ${code}`);
  return body;
}

interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** The server closed the connection after answering. */
  closed: boolean;
}

/**
 * Writes raw bytes on one TCP connection (without half-closing it) and reads until the server
 * closes it or `withinMs` passes; for what an HTTP client library would refuse to send.
 */
function rawExchange(baseUrl: string, data: string, withinMs = 5000): Promise<RawAnswer> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: url.hostname, port: Number(url.port) });
    const chunks: Buffer[] = [];
    let closed = false;
    const timer = setTimeout(() => socket.destroy(), withinMs);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('end', () => {
      closed = true;
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('utf8');
      const split = text.indexOf('\r\n\r\n');
      if (split < 0) return reject(new Error(`no HTTP answer within ${withinMs} ms: ${JSON.stringify(text.slice(0, 200))}`));
      const [statusLine = '', ...lines] = text.slice(0, split).split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body: text.slice(split + 4), closed });
    });
    socket.write(data);
  });
}

/** Asserts a raw answer: status, registry code, an exact content-length, the document's shape, and a closed connection. */
function assertRawError(answer: RawAnswer, status: number, code: string, request: { method: string; path: string }) {
  assert.equal(answer.status, status, `${answer.status} ${answer.body}`);
  assert.equal(answer.headers['content-type'], 'application/json; charset=utf-8');
  assert.equal(Number(answer.headers['content-length']), Buffer.byteLength(answer.body), 'content-length matches the body');
  const body = JSON.parse(answer.body) as { error: string; code: string; invocation_id?: string };
  assert.equal(body.code, code, answer.body);
  assert.ok(body.error.length > 0);
  assert.ok(answer.closed, 'the server closes the connection after the answer');
  assert.deepEqual(conformanceProblems({ ...request, status: answer.status, headers: answer.headers, body: answer.body }), []);
  return body;
}

describe('request errors', { concurrency: 8 }, () => {
  it('invalid JSON is 400 FAAS_ERR_INVALID_JSON', async () => {
    assertError(await raw('{"image": "faas/busybox:latest", ', 'application/json'), 400, 'FAAS_ERR_INVALID_JSON');
    // An empty body is no input: to an unregistered id, it is a function that does not exist.
    assertError(await raw('', 'application/json'), 404, 'FAAS_ERR_FUNCTION_NOT_FOUND');
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
    // Without an image, a request to an unregistered id is not an ad-hoc SandboxConfig (docs/API.md).
    assertError(await invoke({ command: ['true'] }), 404, 'FAAS_ERR_FUNCTION_NOT_FOUND');
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
    assertError(await p.client.request('/functions/fn/nope', { method: 'POST', body: valid }), 404, 'FAAS_ERR_NOT_FOUND');
    const post = await p.client.request('/functions/fn', { method: 'POST', body: valid });
    assertError(post, 405, 'FAAS_ERR_METHOD_NOT_ALLOWED');
    assert.equal(post.headers.allow, 'GET, HEAD, DELETE, PATCH');
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

describe('answers the edge gives before or around a route', { concurrency: 8 }, () => {
  it('every error answer of the invoke route carries its invocation id, in the header and the body', async () => {
    assertInvocationError(await raw(JSON.stringify(valid), 'application/xml'), 415, 'FAAS_ERR_UNSUPPORTED_MEDIA_TYPE');
    assertInvocationError(await raw(JSON.stringify(valid)), 415, 'FAAS_ERR_UNSUPPORTED_MEDIA_TYPE');
    assertInvocationError(await raw('{"image": ', 'application/json'), 400, 'FAAS_ERR_INVALID_JSON');
    assertInvocationError(await raw('', 'application/json'), 404, 'FAAS_ERR_FUNCTION_NOT_FOUND');
    assertInvocationError(
      await raw(JSON.stringify({ ...valid, command: ['x'.repeat(MAX_BODY)] }), 'application/json'),
      413,
      'FAAS_ERR_BODY_TOO_LARGE',
    );
    assertInvocationError(await invoke({ ...valid, command: [] }), 400, 'FAAS_ERR_INVALID_COMMAND');
    assertInvocationError(await invoke({ ...valid, executor: 'qemu' }), 403, 'FAAS_ERR_EXECUTOR_NOT_ALLOWED');
    assertInvocationError(await invoke({ ...valid, image: 'faas/none:latest' }), 422, 'FAAS_ERR_IMAGE_NOT_FOUND');
    const badUrl = await p.client.request('/functions/%ZZ/invoke', { method: 'POST', body: valid });
    assert.equal(assertInvocationError(badUrl, 400, 'FAAS_ERR_INVALID_FUNCTION_ID').field, 'function_id');
  });

  it('a function id far over the router limit (5000 characters) is 400 FAAS_ERR_INVALID_FUNCTION_ID, not a 500', async () => {
    const res = await p.client.request(`/functions/${'a'.repeat(5000)}/invoke`, { method: 'POST', body: valid });
    assert.equal(assertInvocationError(res, 400, 'FAAS_ERR_INVALID_FUNCTION_ID').field, 'function_id');
  });

  it('a NUL or a lone UTF-16 surrogate in any string field is 400 naming the field, the same everywhere', async () => {
    // JSON.stringify writes a lone surrogate as the escape "\ud800", exactly what a client would send.
    const cases: Array<[string, string, string, (bad: string) => Record<string, unknown>]> = [
      ['image', 'FAAS_ERR_INVALID_IMAGE', 'image', (bad) => ({ ...valid, image: `faas/busybox${bad}` })],
      ['command[0]', 'FAAS_ERR_INVALID_COMMAND', 'command', (bad) => ({ ...valid, command: [`echo${bad}`] })],
      ['command[1]', 'FAAS_ERR_INVALID_COMMAND', 'command', (bad) => ({ ...valid, command: ['echo', bad] })],
      ['env_vars[0]', 'FAAS_ERR_INVALID_ENV', 'env_vars', (bad) => ({ ...valid, env_vars: [`A=${bad}`] })],
    ];
    for (const [label, code, field, body] of cases) {
      for (const bad of ['\u0000', '\ud800', 'x\udc00y']) {
        const text = JSON.stringify(body(bad));
        assert.ok(text.includes(bad === '\u0000' ? '\\u0000' : '\\ud'), text);
        const error = assertInvocationError(await raw(text, 'application/json'), 400, code);
        assert.equal(error.field, field, `${label} ${JSON.stringify(bad)}`);
        assert.ok(error.error.startsWith(`${label} contains`), error.error);
        assert.match(error.error, bad === '\u0000' ? /NUL/ : /lone UTF-16 surrogate/);
      }
    }
    // The function id comes from the path: %00 decodes to NUL; %ED%A0%80 is a surrogate's UTF-8-like bytes, not UTF-8.
    for (const id of ['fn%00', '%00', 'fn%ED%A0%80', '%ED%B0%80x']) {
      const res = await p.client.request(`/functions/${id}/invoke`, { method: 'POST', body: valid });
      const error = assertInvocationError(res, 400, 'FAAS_ERR_INVALID_FUNCTION_ID');
      assert.equal(error.field, 'function_id', id);
      assert.match(error.error, /function_id/);
    }
  });

  it('a method a documented path does not declare is 405 FAAS_ERR_METHOD_NOT_ALLOWED with Allow, before any body is read', async () => {
    const methods = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'QUERY', 'PROPFIND'];
    for (const [path, template] of [
      ['/functions/fn/invoke', '/functions/{function_id}/invoke'],
      ['/health', '/health'],
      ['/ready', '/ready'],
      ['/openapi.json', '/openapi.json'],
    ] as const) {
      const declared = documentedMethods(template);
      assert.ok(declared.length > 0, template);
      for (const method of methods.filter((m) => !declared.includes(m))) {
        // A body in a type the route would refuse (415) must not change the answer: the method decides first.
        const headers = method === 'QUERY' ? { 'content-type': 'application/xml' } : undefined;
        const res = await p.client.request(path, { method, ...(headers ? { headers, body: '<x/>' } : {}) });
        assert.equal(res.status, 405, `${method} ${path}: ${res.status} ${res.text}`);
        assert.equal(res.headers.allow, declared.join(', '), `${method} ${path}`);
        if (method !== 'HEAD') assertError(res, 405, 'FAAS_ERR_METHOD_NOT_ALLOWED');
      }
    }
    const put = await p.client.request('/health', {
      method: 'PUT',
      body: 'x'.repeat(MAX_BODY * 2),
      headers: { 'content-type': 'text/xml' },
    });
    assertError(put, 405, 'FAAS_ERR_METHOD_NOT_ALLOWED');
    const head = await p.client.request('/health', { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.text, '');
    const connect = await rawExchange(p.url, 'CONNECT /health HTTP/1.1\r\nHost: x\r\n\r\n');
    assertRawError(connect, 405, 'FAAS_ERR_METHOD_NOT_ALLOWED', { method: 'CONNECT', path: '/health' });
    assert.equal(connect.headers.allow, 'GET, HEAD');
  });

  it('headers over the limit are 431 FAAS_ERR_HEADERS_TOO_LARGE as JSON, then the connection closes', async () => {
    const big = `POST /functions/fn/invoke HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`;
    const answer = await rawExchange(p.url, big);
    const body = assertRawError(answer, 431, 'FAAS_ERR_HEADERS_TOO_LARGE', { method: 'POST', path: '/functions/fn/invoke' });
    assert.equal(body.invocation_id, undefined, 'no request was read, so there is no invocation');
  });

  it('bytes that are not HTTP are 400 FAAS_ERR_INVALID_REQUEST as JSON, then the connection closes', async () => {
    for (const junk of ['HELLO\r\n\r\n', 'GET /health HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n', 'GET /health HTTP/9.9\r\n\r\n']) {
      const answer = await rawExchange(p.url, junk);
      assertRawError(answer, 400, 'FAAS_ERR_INVALID_REQUEST', { method: 'GET', path: '/nope' });
    }
  });

  it('a malformed chunked body of an invocation is 400 FAAS_ERR_INVALID_REQUEST with its invocation id', async () => {
    const request = `POST /functions/fn/invoke HTTP/1.1\r\nHost: x\r\n${AUTH}content-type: application/json\r\ntransfer-encoding: chunked\r\n\r\nZZ\r\n{}\r\n`;
    const answer = await rawExchange(p.url, request);
    const body = assertRawError(answer, 400, 'FAAS_ERR_INVALID_REQUEST', { method: 'POST', path: '/functions/fn/invoke' });
    assert.match(String(body.invocation_id), UUID);
    assert.equal(body.invocation_id, answer.headers['x-faas-invocation-id']);
  });
});

describe('slow clients', () => {
  it('a request not received in time is 408 FAAS_ERR_REQUEST_TIMEOUT as JSON, with the invocation id once the headers arrived', async () => {
    await withPlatform({ FAAS_REQUEST_TIMEOUT_MS: '500' }, async ({ url }) => {
      const headersOnly = await rawExchange(url, 'POST /functions/fn/invoke HTTP/1.1\r\nHost: x\r\n');
      const early = assertRawError(headersOnly, 408, 'FAAS_ERR_REQUEST_TIMEOUT', { method: 'POST', path: '/functions/fn/invoke' });
      assert.equal(early.invocation_id, undefined);

      const stalledBody = await rawExchange(
        url,
        `POST /functions/fn/invoke HTTP/1.1\r\nHost: x\r\n${AUTH}content-type: application/json\r\ncontent-length: 100\r\n\r\n{"image": `,
      );
      const late = assertRawError(stalledBody, 408, 'FAAS_ERR_REQUEST_TIMEOUT', { method: 'POST', path: '/functions/fn/invoke' });
      assert.match(String(late.invocation_id), UUID);
      assert.equal(late.invocation_id, stalledBody.headers['x-faas-invocation-id']);
    });
  });
});

describe('large and deep input', () => {
  it('a 4,000,000-byte payload (5.3 MB of base64) runs instead of failing 500', async () => {
    await withPlatform({}, async ({ client }) => {
      const result = await client.run('big', {
        image: BUSYBOX,
        command: ['wc', '-c'],
        payload_base64: Buffer.alloc(4_000_000, 'A').toString('base64'),
      });
      assert.equal(result.stdout.toString().trim(), '4000000');
      // Deeply nested JSON where a string, object or array of strings belongs is refused, never a 500.
      const deep = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
      const send = (field: string) =>
        client.request('/functions/deep/invoke', {
          method: 'POST',
          body: `{"image": "${BUSYBOX}", "command": ["true"], "${field}": ${deep(500_000)}}`,
          headers: { 'content-type': 'application/json' },
        });
      assertInvocationError(await send('executor'), 403, 'FAAS_ERR_EXECUTOR_NOT_ALLOWED');
      assertInvocationError(await send('limits'), 400, 'FAAS_ERR_INVALID_LIMITS');
      assertInvocationError(await send('env_vars'), 400, 'FAAS_ERR_INVALID_ENV');
      assertInvocationError(await send('payload_base64'), 400, 'FAAS_ERR_INVALID_BASE64');
    });
  });
});

describe('logs', () => {
  it('a client that hangs up mid-invocation is logged as cancelled at info, never as an error', async () => {
    const lines: Array<{ level: number; msg: string; invocationId?: string; functionId?: string }> = [];
    const config = loadConfig(platformEnv({ FAAS_LOG_LEVEL: 'info' }), 2);
    const platform = createPlatform(config, createLoggerFactory('info', { write: (line: string) => lines.push(JSON.parse(line)) }));
    try {
      const url = await platform.start();
      const client = new HttpClient(url);
      const socket = net.connect({ host: new URL(url).hostname, port: Number(new URL(url).port) });
      socket.on('error', () => undefined);
      const marker = `hangup-${process.pid}-${Date.now()}`;
      const body = JSON.stringify({ image: BUSYBOX, command: ['sh', '-c', `sleep 30; echo ${marker}`] });
      socket.write(
        `POST /functions/hangup/invoke HTTP/1.1\r\nHost: x\r\n${AUTH}content-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`,
      );
      // Hang up once the function really runs (not while its sandbox is still being made).
      const running = Date.now() + 20_000;
      while ((await survivingProcesses(marker, OWN_CONTAINERS)).length === 0) {
        assert.ok(Date.now() < running, 'the function never started');
        await new Promise((r) => setTimeout(r, 100));
      }
      socket.destroy();
      const deadline = Date.now() + 15_000;
      const find = () => lines.find((l) => l.functionId === 'hangup' && /cancelled/.test(l.msg));
      while (!find() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const cancelled = find();
      assert.ok(cancelled, `no cancellation logged:\n${lines.map((l) => JSON.stringify(l)).join('\n')}`);
      assert.equal(cancelled.level, 30);
      assert.match(String(cancelled.invocationId), UUID);
      assert.deepEqual(await waitForNoSurvivor(marker, OWN_CONTAINERS), [], 'the function is killed when its caller leaves');
      await waitForRunning(client, 0);
      const loud = lines.filter((l) => l.level >= 50 || (l.invocationId === cancelled?.invocationId && l.level >= 40));
      assert.deepEqual(loud, []);
    } finally {
      // Its sandboxes are removed by stop(); the file's platform checks that none is left (after).
      await platform.stop();
    }
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
