/** The scope table against the API's document and the gateway's routes: no operation is left out. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DOCUMENTED_PATHS } from '../routes.js';
import { access, FAMILY_NAMES, hasAccessRule, pathReadings, requirementsOf, routeShape } from './access.js';

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

  it('decides the scope from the path: its family, its shape and its method, whatever the router makes of it', () => {
    assert.deepEqual([...FAMILY_NAMES].sort(), ['dead-letters', 'functions', 'invocations', 'keys', 'metrics']);
    const scopes = (method: string, path: string) => requirementsOf(method, path).map((r) => [...r.scopes].sort());
    // A documented operation, and its spellings: trailing slash, case, percent-encoding.
    assert.deepEqual(scopes('POST', '/functions/fn/invoke'), [['invoke']]);
    assert.deepEqual(scopes('POST', '/functions/fn/invoke/'), [['invoke']]);
    assert.deepEqual(scopes('POST', '/FUNCTIONS/fn/Invoke'), [['invoke']]);
    assert.deepEqual(scopes('GET', '/%66unctions'), [['functions', 'invoke']]);
    assert.deepEqual(scopes('HEAD', '/dead-letters/'), [['history']]);
    // A method the shape does not declare: the scopes of those it does.
    assert.deepEqual(scopes('PUT', '/functions'), [['functions', 'invoke']]);
    assert.deepEqual(scopes('GET', '/functions/x/invoke'), [['invoke']]);
    assert.deepEqual(scopes('PUT', '/metrics'), [['metrics']]);
    // A shape the family has no route for: every scope of the family.
    assert.deepEqual(scopes('GET', '/functions/x/y/z'), [['functions', 'history', 'invoke']]);
    assert.deepEqual(scopes('GET', '/invocations'), [['history', 'invoke']]);
    assert.deepEqual(scopes('GET', '/keys/a/b'), [['admin']]);
    // Dot segments: the router's reading and the resolved one both count.
    assert.deepEqual(scopes('GET', '/functions/%2e%2e/abc'), [['functions', 'history', 'invoke']]);
    assert.deepEqual(scopes('GET', '/x/%2e%2e/metrics'), [['metrics']]);
    assert.deepEqual(scopes('GET', '/metrics/%2E%2E/keys'), [['metrics'], ['admin']]);
    // No family: any valid key (the router's 404, or another spelling of a public path).
    assert.deepEqual(scopes('GET', '/nope'), []);
    assert.deepEqual(scopes('GET', '/%68ealth'), []);
    assert.deepEqual(scopes('GET', '/'), []);
  });

  it('names the function of the path, decoded, for the key to be allowed', () => {
    const ids = (method: string, path: string) => requirementsOf(method, path).map((r) => r.functionId);
    assert.deepEqual(ids('POST', '/functions/%62illing/invoke/'), ['billing']);
    assert.deepEqual(ids('GET', '/functions/a%2Fb/x/y'), ['a/b']);
    assert.deepEqual(ids('GET', '/functions/%ff'), ['%ff']);
    assert.deepEqual(ids('GET', '/functions/'), [undefined]);
    assert.deepEqual(ids('GET', '/x/%2e%2e/functions/other'), ['other']);
    assert.deepEqual(ids('GET', '/functions/%2e%2e/other'), ['..']);
    assert.deepEqual(ids('GET', '/invocations/abc'), [undefined]);
    assert.equal(requirementsOf('PUT', '/metrics')[0]?.everyFunction, true);
  });

  it('reads a path as the router does (trailing slash aside) and with dot and empty segments resolved', () => {
    assert.deepEqual(pathReadings('/functions/fn'), [['functions', 'fn']]);
    assert.deepEqual(pathReadings('/functions/'), [['functions']]);
    assert.deepEqual(pathReadings('/functions//invoke'), [
      ['functions', '', 'invoke'],
      ['functions', 'invoke'],
    ]);
    assert.deepEqual(pathReadings('/a/.%2E/functions'), [['a', '..', 'functions'], ['functions']]);
  });

  it('reads Fastify and OpenAPI spellings of a path alike', () => {
    assert.equal(routeShape('/functions/:function_id/invoke'), '/functions/{}/invoke');
    assert.equal(routeShape('/functions/{function_id}/invoke'), '/functions/{}/invoke');
  });
});
