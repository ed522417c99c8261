import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveConnection } from './connection.js';
import { UsageError } from './output.js';

const env = { XDG_CONFIG_HOME: '/nonexistent-faas-test' };

test('a key of visible ASCII is taken as it is', () => {
  const key = 'faas_0123456789uv_q8Vd1b3Zr0mJk9WqT0yH2nXcLp5sE7gA4fRuIoPzB6w';
  assert.equal(resolveConnection({ apiKey: key }, env).apiKey, key);
  assert.equal(resolveConnection({}, { ...env, FAAS_API_KEY: ` ${key}\n` }).apiKey, key);
});

test('a key that no header can carry is a usage error naming where it came from', () => {
  for (const apiKey of ['ключ', 'a b', 'a\nb', 'tab\there']) {
    assert.throws(
      () => resolveConnection({ apiKey }, env),
      (err) => err instanceof UsageError && /visible ASCII/.test(err.message) && /FAAS_API_KEY/.test(err.message),
    );
  }
  assert.throws(() => resolveConnection({}, { ...env, FAAS_API_KEY: 'clé' }), UsageError);
});
