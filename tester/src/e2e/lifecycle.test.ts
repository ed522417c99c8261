/**
 * The platform's life around invocations: health, readiness and the served spec; timeouts (504)
 * with nothing left running; an unreachable engine. Saturation and shutdown: shutdown.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeContainers, waitForNoContainers, waitForNoSurvivor } from '../support/docker.js';
import { assertError, HttpClient } from '../support/http.js';
import { BUSYBOX } from '../support/images.js';
import { openApiDocument } from '../support/openapi.js';
import { buildPlatform, OWN_CONTAINERS, usePlatform } from '../support/platform.js';

const p = usePlatform();

describe('health, readiness and the spec', { concurrency: 3 }, () => {
  it('GET /health is 200 ok', async () => {
    const res = await p.client.request('/health');
    assert.equal(res.status, 200);
    assert.equal(res.json().status, 'ok');
  });

  it('GET /ready is 200 ready naming the executor', async () => {
    const res = await p.client.request('/ready');
    assert.equal(res.status, 200);
    const body = res.json<{ status: string; executor: string }>();
    assert.equal(body.status, 'ready');
    assert.equal(body.executor, 'docker');
  });

  it('GET /openapi.json serves gateway/openapi.json as it is', async () => {
    const res = await p.client.request('/openapi.json');
    assert.equal(res.status, 200);
    assert.deepEqual(res.json(), openApiDocument);
  });
});

describe('timeouts', () => {
  it('a function past its timeout_ms is 504 FAAS_ERR_TIMEOUT, its output so far kept, nothing left running', async () => {
    const res = await p.client.invoke('sleeper', {
      image: BUSYBOX,
      command: ['sh', '-c', 'echo before; sleep 3131 & sleep 3131; wait'],
      timeout_ms: 1000,
    });
    const body = assertError(res, 504, 'FAAS_ERR_TIMEOUT');
    assert.equal(body.invocation_id, res.headers['x-faas-invocation-id']);
    assert.equal(Buffer.from(body.logs_base64 ?? '', 'base64').toString(), 'before\n');
    const survivors = await waitForNoSurvivor('sleep 3131', OWN_CONTAINERS);
    assert.deepEqual(survivors, [], 'a process of the timed-out function still runs');
    const own = await waitForNoContainers({ 'dev.faas.invocation': String(body.invocation_id) });
    assert.deepEqual(own, [], `the invocation's container is still there:\n${describeContainers(own)}`);
  });
});

describe('an unreachable Docker engine', () => {
  it('makes /ready 503 FAAS_ERR_EXECUTOR_UNAVAILABLE and invocations 503, while /health stays 200', async () => {
    // start() refuses to run without an engine (see cli.test.ts); the gateway alone still answers.
    const platform = buildPlatform({ DOCKER_HOST: 'unix:///tmp/faas-no-engine.sock' });
    try {
      const address = await platform.gateway.listen({ host: '127.0.0.1', port: 0 });
      const client = new HttpClient(address);
      assert.equal((await client.request('/health')).status, 200);
      assertError(await client.request('/ready'), 503, 'FAAS_ERR_EXECUTOR_UNAVAILABLE');
      assertError(await client.invoke('fn', { image: BUSYBOX, command: ['true'] }), 503, 'FAAS_ERR_EXECUTOR_UNAVAILABLE');
    } finally {
      await platform.stop(0);
    }
  });
});
