/**
 * The conformance checker itself: it must reject what the spec forbids, or every "checked
 * against the spec" claim of the suite would be hollow.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '@faas/common';
import { IMAGE_REFERENCE } from '@faas/gateway';
import { conformanceProblems, isRfc3339, matchPath, openApiDocument } from './openapi.js';

const json = { 'content-type': 'application/json; charset=utf-8', 'x-faas-invocation-id': 'id' };
const result = {
  request_id: 'f',
  invocation_id: 'id',
  response_base64: '',
  logs_base64: null,
  stderr_base64: '',
  error: null,
  exit_code: null,
  signal: 'SIGKILL',
  truncated: false,
  duration_ms: 1.5,
  executor: 'docker',
  function_version: null,
  phases: { queue_ms: 0, acquire_ms: 0.5, run_ms: 1 },
};
const invoke = (status: number, body: unknown, headers: Record<string, string> = json) =>
  conformanceProblems({ method: 'POST', path: '/functions/f/invoke', status, headers, body: JSON.stringify(body) });

describe('OpenAPI conformance checker', () => {
  it('matches templated paths, percent-encoded segments included', () => {
    assert.equal(matchPath('/functions/..%2F..%2Fetc/invoke'), '/functions/{function_id}/invoke');
    assert.equal(matchPath('/functions/a/invoke?x=1'), '/functions/{function_id}/invoke');
    assert.equal(matchPath('/functions/a/b/invoke'), undefined);
    // A trailing slash is no path of the document, not an empty last parameter.
    assert.equal(matchPath('/functions/'), undefined);
    assert.equal(matchPath('/functions/a/'), undefined);
    assert.equal(matchPath('/functions//invoke'), '/functions/{function_id}/invoke');
  });

  it('accepts a conforming result, nullable fields as null', () => {
    assert.deepEqual(invoke(200, result), []);
  });

  it('rejects a missing field, a wrong type, an extra field, null where not nullable, a bad enum', () => {
    const { truncated: _, ...missing } = result;
    assert.notDeepEqual(invoke(200, missing), []);
    assert.notDeepEqual(invoke(200, { ...result, exit_code: '0' }), []);
    assert.notDeepEqual(invoke(200, { ...result, extra: 1 }), []);
    assert.notDeepEqual(invoke(200, { ...result, request_id: null }), []);
    assert.notDeepEqual(invoke(200, { ...result, executor: 'lambda' }), []);
    const { phases: __, ...noPhases } = result;
    assert.notDeepEqual(invoke(200, noPhases), []);
    assert.notDeepEqual(invoke(200, { ...result, function_version: '1' }), []);
  });

  it('rejects an undocumented status, a missing documented header, a non-JSON answer', () => {
    assert.notDeepEqual(invoke(418, { error: 'x', code: 'FAAS_ERR_X' }), []);
    assert.notDeepEqual(invoke(200, result, { 'content-type': 'application/json' }), []);
    assert.notDeepEqual(invoke(400, { error: 'x', code: 'FAAS_ERR_X' }, { 'content-type': 'text/plain' }), []);
  });

  it('holds answers of unlisted routes to the Error shape with a registry code', () => {
    const notFound = (body: unknown) =>
      conformanceProblems({ method: 'GET', path: '/nope', status: 404, headers: json, body: JSON.stringify(body) });
    assert.deepEqual(notFound({ error: 'no route', code: 'FAAS_ERR_NOT_FOUND' }), []);
    assert.notDeepEqual(notFound({ error: 'Bad Request', code: 'FST_ERR_BAD_URL' }), []);
    assert.notDeepEqual(conformanceProblems({ method: 'GET', path: '/nope', status: 200, headers: json, body: '{}' }), []);
  });

  it('holds 405 answers to an Allow header listing exactly the documented methods, and undeclared methods to 405', () => {
    const on = (method: string, path: string, status: number, headers: Record<string, string>) =>
      conformanceProblems({ method, path, status, headers, body: JSON.stringify({ error: 'x', code: 'FAAS_ERR_METHOD_NOT_ALLOWED' }) });
    assert.deepEqual(on('GET', '/functions/f/invoke', 405, { ...json, allow: 'POST' }), []);
    assert.deepEqual(on('DELETE', '/health', 405, { ...json, allow: 'GET, HEAD' }), []);
    assert.notDeepEqual(on('GET', '/functions/f/invoke', 405, json), []);
    assert.notDeepEqual(on('GET', '/functions/f/invoke', 405, { ...json, allow: 'POST, GET' }), []);
    assert.notDeepEqual(on('PUT', '/health', 404, json), []);
    // A key without the path's scope is refused before routing, whatever the method.
    const forbidden = conformanceProblems({
      method: 'PUT',
      path: '/functions',
      status: 403,
      headers: json,
      body: JSON.stringify({ error: 'x', code: 'FAAS_ERR_FORBIDDEN' }),
    });
    assert.deepEqual(forbidden, []);
    assert.notDeepEqual(on('GET', '/nope', 405, { ...json, allow: 'GET' }), []);
  });

  it('lets a request without a valid key be refused 401 before routing, with WWW-Authenticate', () => {
    const unauthorized = (method: string, path: string, headers: Record<string, string>) =>
      conformanceProblems({ method, path, status: 401, headers, body: JSON.stringify({ error: 'no key', code: 'FAAS_ERR_UNAUTHORIZED' }) });
    const bearer = { ...json, 'www-authenticate': 'Bearer' };
    assert.deepEqual(unauthorized('PUT', '/functions', bearer), []);
    assert.deepEqual(unauthorized('GET', '/nope', bearer), []);
    assert.deepEqual(unauthorized('GET', '/functions', bearer), []);
    assert.notDeepEqual(unauthorized('PUT', '/functions', json), []);
    assert.notDeepEqual(unauthorized('GET', '/functions', json), []);
    const { 'x-faas-invocation-id': _, ...plain } = bearer;
    assert.deepEqual(
      conformanceProblems({
        method: 'POST',
        path: '/functions/f/invoke',
        status: 401,
        headers: bearer,
        body: JSON.stringify({ error: 'no key', code: 'FAAS_ERR_UNAUTHORIZED', invocation_id: 'id' }),
      }),
      [],
    );
    assert.notDeepEqual(
      conformanceProblems({
        method: 'GET',
        path: '/keys',
        status: 401,
        headers: plain,
        body: JSON.stringify({ error: 'x', code: 'FAAS_ERR_FORBIDDEN' }),
      }),
      [],
      'a 401 carries FAAS_ERR_UNAUTHORIZED only',
    );
  });

  it('holds each error answer to the codes its operation documents', () => {
    const on = (method: string, path: string, status: number, code: string, headers: Record<string, string> = json) =>
      conformanceProblems({ method, path, status, headers, body: JSON.stringify({ error: 'x', code }) });
    assert.deepEqual(on('GET', '/functions/f', 404, 'FAAS_ERR_FUNCTION_NOT_FOUND'), []);
    assert.notDeepEqual(on('GET', '/functions/f', 404, 'FAAS_ERR_KEY_NOT_FOUND'), []);
    assert.deepEqual(on('GET', '/functions?limit=0', 400, 'FAAS_ERR_INVALID_QUERY'), []);
    assert.deepEqual(on('PATCH', '/functions/f', 412, 'FAAS_ERR_VERSION_CONFLICT'), []);
    assert.deepEqual(on('POST', '/functions', 409, 'FAAS_ERR_FUNCTION_EXISTS'), []);
    assert.notDeepEqual(on('DELETE', '/keys/abc', 409, 'FAAS_ERR_FUNCTION_EXISTS'), [], '409 is not documented there');
    assert.deepEqual(on('GET', '/keys/abc', 429, 'FAAS_ERR_RATE_LIMITED', { ...json, 'retry-after': '3' }), []);
    assert.notDeepEqual(on('GET', '/keys/abc', 429, 'FAAS_ERR_RATE_LIMITED'), [], 'Retry-After is required');
    assert.deepEqual(on('GET', '/invocations/abc', 404, 'FAAS_ERR_INVOCATION_NOT_FOUND'), []);
  });

  it('checks the new resources: a function with its ETag, a created key, a history record with RFC 3339 times', () => {
    const fn = {
      id: 'echo',
      image: 'faas/busybox:latest',
      command: ['cat'],
      env_vars: [],
      allowed_env_vars: ['LANG'],
      secret_names: ['API_TOKEN'],
      executor: null,
      pool_mode: null,
      limits: { memory_mb: 64 },
      timeout_ms: null,
      max_concurrency: null,
      max_attempts: null,
      retry_on_failure: false,
      callback_url: null,
      description: '',
      version: 1,
      created_at: '2026-11-29T19:27:24.123Z',
      updated_at: '2026-11-29T19:27:24.123Z',
    };
    const get = (body: unknown, headers: Record<string, string> = { ...json, etag: '"1"' }) =>
      conformanceProblems({ method: 'GET', path: '/functions/echo', status: 200, headers, body: JSON.stringify(body) });
    assert.deepEqual(get(fn), []);
    assert.notDeepEqual(get(fn, json), [], 'ETag is required');
    assert.notDeepEqual(get({ ...fn, secrets: { API_TOKEN: 'x' } }), [], 'secret values are never returned');
    assert.notDeepEqual(get({ ...fn, created_at: '29/11/2026' }), []);
    assert.deepEqual(conformanceProblems({ method: 'HEAD', path: '/functions/echo', status: 200, headers: { etag: '"1"' }, body: '' }), []);
    const id = '0123456789uv';
    const info = {
      id,
      name: 'ci',
      scopes: ['invoke'],
      functions: ['billing-*'],
      rate_limit: { per_second: 10, burst: 20 },
      max_concurrency: 4,
      created_at: '2026-11-29T19:27:24Z',
      expires_at: null,
      revoked_at: null,
      last_used_at: null,
    };
    const created = (body: unknown) =>
      conformanceProblems({
        method: 'POST',
        path: '/keys',
        status: 201,
        headers: { ...json, location: `/keys/${id}` },
        body: JSON.stringify(body),
      });
    assert.deepEqual(created({ ...info, key: `faas_${id}_${'a'.repeat(43)}` }), []);
    assert.notDeepEqual(created(info), [], 'the key is in the answer');
    assert.deepEqual(created({ ...info, max_concurrency: null, key: `faas_${id}_${'a'.repeat(43)}` }), [], "null: the platform's cap");
    assert.notDeepEqual(created({ ...info, max_concurrency: '4', key: `faas_${id}_${'a'.repeat(43)}` }), [], 'an integer');
    const record = {
      id: 'b3c1',
      function_id: 'echo',
      function_version: 1,
      status: 'completed',
      exit_code: 0,
      signal: null,
      error: null,
      error_code: null,
      executor: 'docker',
      key_id: 'admin',
      phases: { queue_ms: 0, acquire_ms: 1, run_ms: 2 },
      duration_ms: 3,
      stdin_bytes: 0,
      stdout_bytes: 5,
      stderr_bytes: 0,
      truncated: false,
      output_truncated: false,
      started_at: '2026-11-29T19:27:24.100+01:00',
      finished_at: '2026-11-29T19:27:24.103+01:00',
    };
    const history = (body: unknown) =>
      conformanceProblems({ method: 'GET', path: '/invocations/b3c1', status: 200, headers: json, body: JSON.stringify(body) });
    assert.deepEqual(history(record), []);
    assert.notDeepEqual(history({ ...record, status: 'ok' }), []);
    assert.notDeepEqual(history({ ...record, started_at: 1764444444000 }), []);
  });

  it('knows RFC 3339 times from look-alikes', () => {
    for (const ok of ['2026-11-29T19:27:24Z', '2026-11-29t19:27:24.5z', '2024-02-29T00:00:00+23:59', '2016-12-31T23:59:60Z']) {
      assert.ok(isRfc3339(ok), ok);
    }
    for (const bad of [
      '2026-11-29',
      '2026-11-29 19:27:24Z',
      '2026-02-29T00:00:00Z',
      '2026-13-01T00:00:00Z',
      '2026-11-29T24:00:00Z',
      '2026-11-29T19:27:24',
    ]) {
      assert.ok(!isRfc3339(bad), bad);
    }
  });

  it('holds a text/plain answer (/metrics) to a declared content-type, and its HEAD to no body', () => {
    const metrics = (method: string, contentType: string, body: string) =>
      conformanceProblems({ method, path: '/metrics', status: 200, headers: { 'content-type': contentType }, body });
    assert.deepEqual(metrics('GET', 'text/plain; version=0.0.4; charset=utf-8', '# HELP x y\n'), []);
    assert.notDeepEqual(metrics('GET', 'application/json', '{}'), []);
    assert.deepEqual(metrics('HEAD', 'text/plain; version=0.0.4; charset=utf-8', ''), []);
    assert.notDeepEqual(metrics('HEAD', 'text/plain', 'x'), []);
  });

  it('holds error answers of the invoke operation to carry the invocation id, the same in header and body', () => {
    const error = { error: 'bad', code: 'FAAS_ERR_INVALID_COMMAND', field: 'command' };
    assert.deepEqual(invoke(400, { ...error, invocation_id: 'id' }), []);
    assert.notDeepEqual(invoke(400, error), []);
    assert.notDeepEqual(invoke(400, { ...error, invocation_id: 'other' }), []);
    assert.notDeepEqual(invoke(415, { ...error, invocation_id: 'id' }, { 'content-type': 'application/json' }), []);
    assert.notDeepEqual(invoke(200, { ...result, invocation_id: 'other' }), []);
  });
});

describe('OpenAPI document and validation', () => {
  // biome-ignore lint/suspicious/noExplicitAny: a walk into a JSON document
  const config = (openApiDocument as any).components.schemas.SandboxConfig.properties;

  it('states the image grammar validation applies', () => {
    assert.equal(config.image.pattern, IMAGE_REFERENCE.source.replaceAll('\\/', '/'));
    const pattern = new RegExp(config.image.pattern, 'u');
    for (const image of ['faas/busybox:latest', 'reg.io:5000/a/b:1', '-reg.io/app', 'UPPER/x']) {
      assert.equal(pattern.test(image), IMAGE_REFERENCE.test(image), image);
    }
  });

  it('bounds timeout_ms, memory_mb and pids by the highest maxima an operator can configure', () => {
    const bounds: Array<[string, number]> = [
      ['FAAS_MAX_TIMEOUT_MS', config.timeout_ms.maximum],
      ['FAAS_MAX_MEMORY_MB', config.limits.properties.memory_mb.maximum],
      ['FAAS_MAX_PIDS', config.limits.properties.pids.maximum],
    ];
    for (const [name, maximum] of bounds) {
      assert.ok(Number.isInteger(maximum), name);
      loadConfig({ [name]: String(maximum) }, 2);
      assert.throws(() => loadConfig({ [name]: String(maximum + 1) }, 2), Error, `${name}=${maximum + 1} should be refused`);
    }
  });
});
