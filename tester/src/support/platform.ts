/**
 * Fixtures that start the real platform (gateway + orchestrator + executors, as `faas serve`
 * wires them) on port 0 and always stop it, then check that no container it created is left.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { createPlatform, type Platform } from '@faas/bin';
import { createLoggerFactory, loadConfig } from '@faas/common';
import { describeContainers, waitForNoContainers } from './docker.js';
import { HttpClient } from './http.js';
import { TEST_ADMIN_KEY } from './keys.js';

/** Log filter for platforms the tests start; TESTER_LOG_LEVEL=debug shows everything. */
const LOG_LEVEL = process.env.TESTER_LOG_LEVEL ?? 'error';

/** Every container a platform of this test process creates carries this label. */
export const OWN_CONTAINERS = { 'dev.faas.pid': String(process.pid) };

/**
 * The environment a test platform starts with: the caller's variables over the ambient ones, minus
 * any FAAS_* the developer's shell happens to set, so a run does not depend on the shell.
 */
export function platformEnv(env: Record<string, string>): Record<string, string | undefined> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('FAAS_') && k !== 'RUST_LOG'));
  // Each platform gets state of its own (a fresh data folder) and the test admin key, unless the test says otherwise.
  const own: Record<string, string> = { FAAS_DATA_DIR: freshDataDir(), FAAS_ADMIN_KEY: TEST_ADMIN_KEY };
  return { ...base, FAAS_GATEWAY_PORT: '0', FAAS_LOG_LEVEL: LOG_LEVEL, ...own, ...env };
}

const dataDirs: string[] = [];

/** A new empty data folder, removed when the test process exits. */
export function freshDataDir(): string {
  if (dataDirs.length === 0) {
    process.on('exit', () => {
      for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
    });
  }
  const dir = mkdtempSync(join(tmpdir(), 'faas-data-'));
  dataDirs.push(dir);
  return dir;
}

export interface TestPlatform {
  platform: Platform;
  url: string;
  client: HttpClient;
}

/** Builds a platform from env without starting it (for tests of start-up itself). */
export function buildPlatform(env: Record<string, string> = {}): Platform {
  const config = loadConfig(platformEnv(env), 2);
  // Platform logs go to stderr so they never mix with the test runner's report on stdout.
  const logs = createLoggerFactory(config.logFilter, { write: (line: string) => process.stderr.write(line) });
  return createPlatform(config, logs);
}

export async function startPlatform(env: Record<string, string> = {}): Promise<TestPlatform> {
  const platform = buildPlatform(env);
  try {
    const url = await platform.start();
    return { platform, url, client: new HttpClient(url) };
  } catch (err) {
    await platform.stop(0).catch(() => undefined);
    throw err;
  }
}

/** Runs fn against a fresh platform and stops it whatever happens. */
export async function withPlatform<T>(env: Record<string, string>, fn: (p: TestPlatform) => Promise<T>): Promise<T> {
  const p = await startPlatform(env);
  try {
    return await fn(p);
  } finally {
    await p.platform.stop();
  }
}

/**
 * Starts one platform for a test file (before) and stops it (after), then checks that every
 * container this process created is gone. While the platform runs, warm-pool spares exist by
 * design, so per-invocation cleanup is checked by the tests themselves (see `survivingProcesses`).
 */
export function usePlatform(env: Record<string, string> = {}): TestPlatform {
  const handle = {} as TestPlatform;
  before(async () => {
    Object.assign(handle, await startPlatform(env));
  });
  after(async () => {
    if (!handle.platform) return;
    await handle.platform.stop();
    const left = await waitForNoContainers(OWN_CONTAINERS, 10_000);
    assert.deepEqual(left, [], `containers left behind after stop:\n${describeContainers(left)}`);
  });
  return handle;
}

/** Polls GET /ready until `running` reaches the wanted number (a slot is taken, or free again). */
export async function waitForRunning(client: HttpClient, running: number, withinMs = 30_000): Promise<void> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const res = await client.request('/ready');
    if (res.status === 200 && res.json<{ running: number }>().running === running) return;
    if (Date.now() >= deadline) assert.fail(`/ready never reported running=${running}; last: ${res.status} ${res.text}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
