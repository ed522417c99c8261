import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from '@faas/common';
import { callbackPolicy, createCallbackDispatcher } from './index.js';
import { captureLog, memoryKv, startReceiver } from './test-fixtures.js';

const refused = (env: Record<string, string>, pattern: RegExp) =>
  assert.throws(
    () => loadConfig(env),
    (err: Error & { code?: string }) => err.code === 'FAAS_ERR_CONFIG' && pattern.test(err.message),
  );

describe('FAAS_CALLBACK_* configuration', () => {
  it('defaults: private targets refused, 6 attempts, 10 s each, 20 s first retry', () => {
    assert.deepEqual(loadConfig({}).callbacks, {
      secret: undefined,
      allowPrivate: false,
      allowCidrs: [],
      maxAttempts: 6,
      attemptTimeoutMs: 10_000,
      retryBaseMs: 20_000,
    });
  });

  it('reads ranges (a bare address is one host) and refuses malformed ones by name', () => {
    const config = loadConfig({ FAAS_CALLBACK_ALLOW_CIDRS: ' 10.1.2.0/24, fd12::/64 ,192.168.1.5,::1', FAAS_CALLBACK_ALLOW_PRIVATE: 'on' });
    assert.deepEqual(config.callbacks.allowCidrs, ['10.1.2.0/24', 'fd12::/64', '192.168.1.5/32', '::1/128']);
    assert.equal(config.callbacks.allowPrivate, true);
    for (const bad of ['10.0.0.0/33', 'fd00::/129', 'example.com', '10.0.0.0/8/8', '10.0.0/8', '10.0.0.0/x']) {
      refused({ FAAS_CALLBACK_ALLOW_CIDRS: bad }, /FAAS_CALLBACK_ALLOW_CIDRS=.* is invalid: .* is no address range/);
    }
    refused({ FAAS_CALLBACK_ALLOW_PRIVATE: 'of' }, /FAAS_CALLBACK_ALLOW_PRIVATE.*use on or off/);
    refused({ FAAS_CALLBACK_MAX_ATTEMPTS: '0' }, /FAAS_CALLBACK_MAX_ATTEMPTS/);
    refused({ FAAS_CALLBACK_TIMEOUT_MS: '10' }, /FAAS_CALLBACK_TIMEOUT_MS/);
  });

  it('callbackPolicy and createCallbackDispatcher follow the configuration', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'faas-callback-config-'));
    const r = await startReceiver();
    try {
      const { log } = captureLog();
      const strict = loadConfig({ FAAS_DATA_DIR: dir });
      assert.equal(callbackPolicy(strict).check('127.0.0.1').allowed, false);
      const config = loadConfig({ FAAS_DATA_DIR: dir, FAAS_CALLBACK_ALLOW_CIDRS: '127.0.0.1', FAAS_CALLBACK_MAX_ATTEMPTS: '1' });
      const d = createCallbackDispatcher(config, memoryKv(), log);
      const result = await (await d.deliver({ invocationId: 'inv-c', url: r.origin, body: '{}' })).settled;
      assert.equal(result.state, 'delivered');
      await d.close();
    } finally {
      await r.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
