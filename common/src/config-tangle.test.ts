import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadConfig } from './config.js';
import { isFaasError } from './errors.js';

describe('FAAS_TANGLE_* (the Tangle operator)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'faas-tangle-config-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const keyFile = join(dir, 'operator.key');
  writeFileSync(keyFile, 'x', { mode: 0o600 });
  const base = {
    FAAS_TANGLE_RPC_URL: 'http://127.0.0.1:8545',
    FAAS_TANGLE_CONTRACT: '0x0165878A594ca255338adfa4d48449f69242Eb8F',
    FAAS_TANGLE_SERVICE_IDS: '0, 3,3',
    FAAS_TANGLE_KEY_FILE: keyFile,
  };
  const fails = (env: Record<string, string>, variable: string, pattern: RegExp) =>
    assert.throws(
      () => loadConfig(env),
      (err: unknown) => isFaasError(err, 'FAAS_ERR_CONFIG') && pattern.test(err.message) && err.message.includes(variable),
    );

  it('is off without FAAS_TANGLE_RPC_URL', () => {
    assert.equal(loadConfig({}).tangle, undefined);
  });

  it('reads the operator settings, with defaults', () => {
    assert.deepEqual(loadConfig(base).tangle, {
      rpcUrl: 'http://127.0.0.1:8545',
      contract: '0x0165878A594ca255338adfa4d48449f69242Eb8F',
      serviceIds: ['0', '3'],
      keyFile,
      confirmations: 2,
      startBlock: 'latest',
      pollMs: 1000,
      maxInFlight: 8,
    });
    const tuned = loadConfig({ ...base, FAAS_TANGLE_CONFIRMATIONS: '0', FAAS_TANGLE_START_BLOCK: '120', FAAS_TANGLE_MAX_IN_FLIGHT: '2' });
    assert.deepEqual([tuned.tangle?.confirmations, tuned.tangle?.startBlock, tuned.tangle?.maxInFlight], [0, '120', 2]);
  });

  it('names the missing or bad variable and the fix', () => {
    fails({ FAAS_TANGLE_CONTRACT: base.FAAS_TANGLE_CONTRACT }, 'FAAS_TANGLE_CONTRACT', /only when FAAS_TANGLE_RPC_URL is set/);
    fails({ ...base, FAAS_TANGLE_RPC_URL: 'ws://node:8546' }, 'FAAS_TANGLE_RPC_URL', /http:\/\/ or https:\/\//);
    const { FAAS_TANGLE_KEY_FILE: _, ...noKey } = base;
    fails(noKey, 'FAAS_TANGLE_KEY_FILE', /is not set/);
    fails({ ...base, FAAS_TANGLE_CONTRACT: '0x1234' }, 'FAAS_TANGLE_CONTRACT', /40 hex digits/);
    fails({ ...base, FAAS_TANGLE_SERVICE_IDS: '0,x' }, 'FAAS_TANGLE_SERVICE_IDS', /"x" is not a service id/);
    fails({ ...base, FAAS_TANGLE_SERVICE_IDS: '18446744073709551616' }, 'FAAS_TANGLE_SERVICE_IDS', /not a service id/);
    fails({ ...base, FAAS_TANGLE_KEY_FILE: join(dir, 'none') }, 'FAAS_TANGLE_KEY_FILE', /no such file/);
    fails({ ...base, FAAS_TANGLE_START_BLOCK: 'earliest' }, 'FAAS_TANGLE_START_BLOCK', /"latest" or a block number/);
    fails({ ...base, FAAS_TANGLE_CONFIRMATIONS: '-1' }, 'FAAS_TANGLE_CONFIRMATIONS', /integer from 0 to 1000/);
  });

  it('accepts FAAS_TANGLE_FIXTURES in the environment (the tests read it, not the platform)', () => {
    assert.equal(loadConfig({ FAAS_TANGLE_FIXTURES: '/x' }).tangle, undefined);
  });
});
