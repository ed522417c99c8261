/**
 * Fixtures of the gateway's route tests: the whole gateway (auth hook included, keys mode with an
 * admin key) in front of a real SQLite store in a fresh temporary folder and the invocation core
 * with the in-memory fake executor, recording the history into the store as the platform does.
 * Requests go through Fastify's inject; every log line is kept for the tests to read.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Config, createLoggerFactory, loadConfig } from '@faas/common';
import { FakeExecutor, type FakeExecutorOptions } from '@faas/executor';
import { Orchestrator } from '@faas/orchestrator';
import { openSqliteStore, type Scope, type Store } from '@faas/store';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { buildGateway } from './server.js';

export const ADMIN_KEY = randomBytes(32).toString('hex');

export interface TestGateway {
  app: FastifyInstance;
  config: Readonly<Config>;
  store: Store;
  executor: FakeExecutor;
  /** Every log line, as written. */
  logs: string[];
  /** The database folder (for tests that read the file itself). */
  dataDir: string;
  /** A request with the admin key unless `key` says otherwise (null: none). */
  call(
    method: string,
    url: string,
    options?: { body?: unknown; key?: string | null; headers?: Record<string, string> },
  ): Promise<LightMyRequestResponse>;
  /** A new API key with these scopes, limited to `functions` (null: every function). */
  newKey(scopes: Scope[], functions?: string[] | null): Promise<{ id: string; key: string }>;
  close(): Promise<void>;
}

export async function startTestGateway(env: Record<string, string> = {}, executorOptions: FakeExecutorOptions = {}): Promise<TestGateway> {
  const dir = mkdtempSync(join(tmpdir(), 'faas-gateway-test-'));
  const config = loadConfig({ FAAS_GATEWAY_PORT: '0', FAAS_POOL_MODE: 'off', FAAS_DATA_DIR: dir, FAAS_ADMIN_KEY: ADMIN_KEY, ...env }, 2);
  const logs: string[] = [];
  const factory = createLoggerFactory('trace', { write: (line: string) => logs.push(line) });
  const store = openSqliteStore({ dataDir: dir, secretsKey: randomBytes(32) });
  const executor = new FakeExecutor(executorOptions);
  const orchestrator = new Orchestrator({
    config,
    executors: new Map([['docker', executor]]),
    logger: factory.for('orchestrator'),
    metrics: { processMetrics: false },
    history: store.history,
  });
  await orchestrator.start();
  const app = buildGateway({ config, orchestrator, store, adminKey: ADMIN_KEY, logger: factory.for('gateway') });
  await app.ready();
  const gateway: TestGateway = {
    app,
    config,
    store,
    executor,
    logs,
    dataDir: dir,
    call(method, url, options = {}) {
      const key = options.key === undefined ? ADMIN_KEY : options.key;
      const headers: Record<string, string> = { ...(key !== null ? { authorization: `Bearer ${key}` } : {}), ...options.headers };
      const body = options.body;
      if (body !== undefined && typeof body !== 'string' && !Buffer.isBuffer(body)) headers['content-type'] ??= 'application/json';
      return app.inject({
        method: method as 'GET',
        url,
        headers,
        ...(body === undefined ? {} : { payload: typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body) }),
      });
    },
    async newKey(scopes, functions = null) {
      const res = await gateway.call('POST', '/keys', { body: { name: 'test', scopes, functions } });
      if (res.statusCode !== 201) throw new Error(`POST /keys: ${res.statusCode} ${res.body}`);
      const { id, key } = res.json() as { id: string; key: string };
      return { id, key };
    },
    async close() {
      await app.close();
      await orchestrator.drain(1000);
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return gateway;
}
