/**
 * The conformance checker itself: it must reject what the spec forbids, or every "checked
 * against the spec" claim of the suite would be hollow.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '@faas/common';
import { IMAGE_REFERENCE } from '@faas/gateway';
import { conformanceProblems, matchPath, openApiDocument } from './openapi.js';

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
};
const invoke = (status: number, body: unknown, headers: Record<string, string> = json) =>
  conformanceProblems({ method: 'POST', path: '/functions/f/invoke', status, headers, body: JSON.stringify(body) });

describe('OpenAPI conformance checker', () => {
  it('matches templated paths, percent-encoded segments included', () => {
    assert.equal(matchPath('/functions/..%2F..%2Fetc/invoke'), '/functions/{function_id}/invoke');
    assert.equal(matchPath('/functions/a/invoke?x=1'), '/functions/{function_id}/invoke');
    assert.equal(matchPath('/functions/a/b/invoke'), undefined);
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
    assert.notDeepEqual(on('GET', '/nope', 405, { ...json, allow: 'GET' }), []);
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
