/** GET /ready composes the orchestrator's readiness with the extra checks of GatewayDeps.readiness. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { FaasError, loadConfig, silentLogger } from '@faas/common';
import { FakeExecutor } from '@faas/executor';
import { Orchestrator } from '@faas/orchestrator';
import { openSqliteStore } from '@faas/store';
import { buildGateway } from './server.js';

describe('GET /ready', () => {
  it('is not ready, with the code and words of the first check that fails, until it passes', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'faas-ready-test-'));
    const config = loadConfig({ FAAS_POOL_MODE: 'off', FAAS_AUTH: 'open', FAAS_DATA_DIR: dataDir }, 2);
    const store = openSqliteStore({ dataDir, secretsKey: randomBytes(32) });
    const executor = new FakeExecutor({ run: async () => Promise.reject(new Error('unused')) });
    const orchestrator = new Orchestrator({ config, executors: new Map([['docker', executor]]), logger: silentLogger });
    let stopped: string | undefined = 'the contract has no code';
    const app = buildGateway({
      config,
      orchestrator,
      store,
      adminKey: undefined,
      logger: silentLogger,
      readiness: [
        () => {
          if (stopped) throw new FaasError('FAAS_ERR_TANGLE_OPERATOR_STOPPED', `the Tangle operator stopped: ${stopped}`);
        },
      ],
    });
    try {
      await orchestrator.start();
      const down = await app.inject({ method: 'GET', url: '/ready' });
      assert.equal(down.statusCode, 503);
      assert.deepEqual(down.json(), {
        code: 'FAAS_ERR_TANGLE_OPERATOR_STOPPED',
        error: 'the Tangle operator stopped: the contract has no code',
      });
      stopped = undefined;
      const up = await app.inject({ method: 'GET', url: '/ready' });
      assert.equal(up.statusCode, 200, up.body);
      assert.equal(up.json().status, 'ready');
    } finally {
      await app.close();
      await orchestrator.drain(1000);
      await store.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
