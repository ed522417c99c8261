/**
 * `faas serve` as a spawned process: it refuses a bad configuration with exit 2 naming the
 * variable, refuses to start without a Docker engine, and otherwise serves and drains on SIGTERM.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type RunningServer, runCli, startServe } from '../support/cli.js';
import { describeContainers, waitForNoContainers } from '../support/docker.js';
import { HttpClient } from '../support/http.js';
import { BUSYBOX } from '../support/images.js';

describe('faas serve', { concurrency: 4 }, () => {
  it('exits 2 naming a variable with a bad value', async () => {
    const run = await runCli(['serve'], { FAAS_GATEWAY_PORT: 'abc' });
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /FAAS_GATEWAY_PORT/);
  });

  it('exits 2 naming an unknown FAAS_* variable', async () => {
    const run = await runCli(['serve'], { FAAS_FOO: '1' });
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /FAAS_FOO/);
  });

  it('exits 2 for a renamed variable and names its replacement', async () => {
    const run = await runCli(['serve'], { FAAS_PORT: '8080' });
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /FAAS_PORT/);
    assert.match(run.stderr, /FAAS_GATEWAY_PORT/);
  });

  it('exits non-zero with a clear message when no Docker engine answers', async () => {
    const run = await runCli(['serve'], { DOCKER_HOST: 'unix:///tmp/faas-no-engine.sock', FAAS_GATEWAY_PORT: '0' });
    assert.notEqual(run.code, 0, run.stderr);
    assert.equal(run.signal, null, 'it must exit by itself, not hang');
    assert.match(run.stderr, /cannot start/);
    assert.match(run.stderr, /Docker/i);
    assert.match(run.stderr, /faas-no-engine\.sock/);
  });

  it('serves invocations, then drains on SIGTERM, exits 0 and leaves no container', async () => {
    let server: RunningServer | undefined;
    try {
      server = await startServe({ FAAS_GATEWAY_PORT: '0' });
      const client = new HttpClient(server.url);
      assert.equal((await client.request('/ready')).status, 200);
      const result = await client.run('from-cli', { image: BUSYBOX, command: ['echo', 'served by faas serve'] });
      assert.equal(result.stdout.toString(), 'served by faas serve\n');
      const { pid } = server;
      const exit = await server.stop('SIGTERM');
      server = undefined;
      assert.equal(exit.code, 0, exit.stderr);
      // Its containers carry its pid; warm spares included, every one must be gone.
      const left = await waitForNoContainers({ 'dev.faas.pid': String(pid) }, 10_000);
      assert.deepEqual(left, [], describeContainers(left));
    } finally {
      await server?.stop('SIGKILL');
    }
  });
});
