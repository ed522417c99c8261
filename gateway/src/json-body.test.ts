import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isFaasError } from '@faas/common';
import { parseJsonBody } from './json-body.js';

test('a __proto__ key is valid JSON refused as a request fault, not reported as invalid JSON', () => {
  for (const text of ['{"command":["true"],"__proto__":{"x":1}}', '{"constructor":{"prototype":{"x":1}}}']) {
    assert.throws(
      () => parseJsonBody(text),
      (err) => isFaasError(err, 'FAAS_ERR_INVALID_REQUEST'),
    );
  }
});

test('no text is no body: each route decides what that means', () => {
  assert.equal(parseJsonBody(''), undefined);
  assert.equal(parseJsonBody(' \n'), undefined);
});

test('text that is not JSON is invalid JSON', () => {
  for (const text of ['{"a":', 'nope', '{} x']) {
    assert.throws(
      () => parseJsonBody(text),
      (err) => isFaasError(err, 'FAAS_ERR_INVALID_JSON'),
    );
  }
  assert.deepEqual(parseJsonBody('{"a":[1]}'), { a: [1] });
});
