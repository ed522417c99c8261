/**
 * The Docker executor's sandboxes that fail before their agent's HELLO, against the real engine
 * (skipped without one, or without the faas/busybox image): what the failure says decides whether
 * the core starts another sandbox. Nothing was sent to any of them, so every fault says `started`
 * false; one that died or was killed while starting is FAAS_ERR_SANDBOX_LOST (replaced); an agent
 * that cannot be executed is FAAS_ERR_SANDBOX_FAILURE at once (every start would fail the same
 * way). Both transports: the agent's Unix socket (warm sandboxes) and the attached stdio
 * (one-shot sandboxes).
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { isFaasError, loadConfig } from '@faas/common';
import type { SandboxSpec } from '../executor.js';
import { faultStarted } from '../faults.js';
import { LABEL_FUNCTION } from './container-spec.js';
import { DockerEngine } from './engine.js';
import { DockerExecutor } from './executor.js';

const DOCKER_HOST = process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
const IMAGE = 'faas/busybox:latest';

async function unavailable(): Promise<string | undefined> {
  const engine = new DockerEngine({ host: DOCKER_HOST, requestTimeoutMs: 3000 });
  try {
    await engine.request('GET', '/_ping');
  } catch (err) {
    return `no Docker engine at ${DOCKER_HOST} (${(err as Error).message})`;
  }
  try {
    await engine.request('GET', `/images/${encodeURIComponent(IMAGE)}/json`);
  } catch {
    return `no ${IMAGE} image (tools/images/build-images.sh)`;
  } finally {
    engine.close();
  }
  return undefined;
}

const skip = await unavailable();
const limits = loadConfig({}, 2).defaultLimits;

describe('docker executor: sandboxes that fail before HELLO', { skip, concurrency: 1, timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'faas-start-faults-'));
  const engine = new DockerEngine({ host: DOCKER_HOST });
  /** An executor whose guest agent is the file `body` (mode `mode`) instead of the real one. */
  const executors: DockerExecutor[] = [];
  async function withAgent(name: string, body: string, mode: number): Promise<DockerExecutor> {
    const path = join(dir, name);
    writeFileSync(path, body);
    chmodSync(path, mode);
    const executor = new DockerExecutor({ dockerHost: DOCKER_HOST, imagePull: 'never', agentPath: path, runRoot: join(dir, 'run') });
    await executor.init();
    executors.push(executor);
    return executor;
  }
  let serial = 0;
  const spec = (oneShot: boolean): SandboxSpec => ({
    functionId: `start-faults-${process.pid}-${++serial}`,
    image: IMAGE,
    limits,
    ...(oneShot ? { oneShot: true } : {}),
  });
  const failure = (promise: Promise<unknown>) =>
    promise.then(
      () => assert.fail('the sandbox started'),
      (err: unknown) => err,
    );

  after(async () => {
    for (const executor of executors) await executor.close();
    engine.close();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const oneShot of [false, true]) {
    const transport = oneShot ? 'stdio (one-shot)' : 'unix socket (warm)';

    it(`${transport}: an agent that cannot be executed is a configuration fault, at once and started false`, async () => {
      const executor = await withAgent(`not-executable-${oneShot}`, '#!/bin/sh\nexit 0\n', 0o644);
      const started = Date.now();
      const err = await failure(executor.acquire(spec(oneShot)));
      assert.ok(isFaasError(err, 'FAAS_ERR_SANDBOX_FAILURE'), `expected FAAS_ERR_SANDBOX_FAILURE, got ${String(err)}`);
      assert.equal(faultStarted(err), false);
      assert.match((err as Error).message, /could not execute the guest agent \(exit 126: not executable\).*FAAS_AGENT_PATH/);
      assert.ok(Date.now() - started < 10_000, `took ${Date.now() - started} ms`);
    });

    it(`${transport}: an agent that dies before HELLO is a sandbox lost while starting, started false`, async () => {
      const executor = await withAgent(`dies-${oneShot}`, '#!/bin/sh\nkill -KILL $$\n', 0o755);
      const started = Date.now();
      const err = await failure(executor.acquire(spec(oneShot)));
      assert.ok(isFaasError(err, 'FAAS_ERR_SANDBOX_LOST'), `expected FAAS_ERR_SANDBOX_LOST, got ${String(err)}`);
      assert.equal(faultStarted(err), false);
      assert.ok(Date.now() - started < 10_000, `took ${Date.now() - started} ms: waited out the start bound`);
    });

    it(`${transport}: a container killed from outside before its agent's HELLO is a sandbox lost while starting`, async () => {
      // An agent that never answers: the kill below, not the start bound, must end the start.
      const executor = await withAgent(`silent-${oneShot}`, '#!/bin/sh\nexec sleep 60\n', 0o755);
      const wanted = spec(oneShot);
      const acquiring = failure(executor.acquire(wanted));
      const started = Date.now();
      const filters = encodeURIComponent(JSON.stringify({ label: [`${LABEL_FUNCTION}=${wanted.functionId}`], status: ['running'] }));
      let killed = false;
      while (!killed && Date.now() - started < 10_000) {
        const [container] = await engine.request<Array<{ Id: string }>>('GET', `/containers/json?filters=${filters}`);
        if (container) {
          await engine.request('POST', `/containers/${container.Id}/kill?signal=KILL`);
          killed = true;
        } else {
          await new Promise((r) => setTimeout(r, 20));
        }
      }
      assert.ok(killed, 'the container never ran');
      const err = await acquiring;
      assert.ok(isFaasError(err, 'FAAS_ERR_SANDBOX_LOST'), `expected FAAS_ERR_SANDBOX_LOST, got ${String(err)}`);
      assert.equal(faultStarted(err), false);
      assert.ok(Date.now() - started < 10_000, `took ${Date.now() - started} ms: waited out the start bound`);
    });
  }

  it('leaves no container behind', async () => {
    const filters = encodeURIComponent(JSON.stringify({ label: [`dev.faas.pid=${process.pid}`] }));
    const left = await engine.request<unknown[]>('GET', `/containers/json?all=1&filters=${filters}`);
    assert.deepEqual(left, []);
  });
});
