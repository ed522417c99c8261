/** The scope table against the API's document and the gateway's routes: no operation is left out. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DOCUMENTED_PATHS } from '../routes.js';
import { access, hasAccessRule, routeShape } from './access.js';

describe('route scopes', () => {
  it('every documented operation has a rule', () => {
    for (const path of DOCUMENTED_PATHS) {
      for (const method of path.methods) assert.ok(hasAccessRule(method, path.template), `${method} ${path.template} has no scope rule`);
    }
  });

  it('follows docs/API.md', () => {
    assert.deepEqual(access('POST', '/functions/:function_id/invoke'), { scopes: ['invoke'], functionParam: 'function_id' });
    assert.deepEqual(access('HEAD', '/functions/{function_id}'), { scopes: ['functions', 'invoke'], functionParam: 'function_id' });
    assert.deepEqual(access('GET', '/invocations/:invocation_id'), { scopes: ['history'], functionParam: undefined });
    assert.deepEqual(access('GET', '/functions/:id/invocations'), { scopes: ['history'], functionParam: 'id' });
    assert.deepEqual(access('DELETE', '/keys/:key_id').scopes, ['admin']);
    assert.deepEqual(access('GET', '/metrics').scopes, ['metrics']);
  });

  it('a route missing from the table needs admin', () => {
    assert.deepEqual(access('POST', '/something/:new').scopes, ['admin']);
    assert.deepEqual(access('PUT', '/functions/:function_id').scopes, ['admin']);
  });

  it('reads Fastify and OpenAPI spellings of a path alike', () => {
    assert.equal(routeShape('/functions/:function_id/invoke'), '/functions/{}/invoke');
    assert.equal(routeShape('/functions/{function_id}/invoke'), '/functions/{}/invoke');
  });
});
