/**
 * Load shedding and shutdown, each on its own platform so that "no container left" covers
 * exactly what that platform created: saturation (429), queueing, graceful drain, and the kill
 * when the shutdown grace runs out.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import type { InvocationResult } from '@faas/common';
import { describeContainers, waitForNoContainers } from '../support/docker.js';
import { assertError, type HttpClient, type HttpResponse } from '../support/http.js';
import { BUSYBOX } from '../support/images.js';
import { OWN_CONTAINERS, startPlatform, waitForRunning, withPlatform } from '../support/platform.js';

afterEach(async () => {
  const left = await waitForNoContainers(OWN_CONTAINERS, 10_000);
  assert.deepEqual(left, [], `containers left after stop:\n${describeContainers(left)}`);
});

/** Sends a request and reports a refused connection as undefined (the listener is closed). */
async function tryInvoke(client: HttpClient, body: Record<string, unknown>): Promise<HttpResponse | undefined> {
  try {
    return await client.invoke('late', body);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ECONNREFUSED' || code === 'ECONNRESET') return undefined;
    throw err;
  }
}

const stdoutOf = (res: HttpResponse) => Buffer.from(res.json<InvocationResult>().response_base64 ?? '', 'base64').toString();

describe('saturation', () => {
  it('with every slot busy and no queue, a request is 429 FAAS_ERR_SATURATED; later ones run', async () => {
    await withPlatform({ FAAS_MAX_CONCURRENCY: '1', FAAS_MAX_QUEUE: '0' }, async ({ client }) => {
      const slow = client.invoke('slow', { image: BUSYBOX, command: ['sleep', '3'] });
      await waitForRunning(client, 1);
      assertError(await client.invoke('second', { image: BUSYBOX, command: ['true'] }), 429, 'FAAS_ERR_SATURATED');
      const first = await slow;
      assert.equal(first.status, 200, first.text);
      await waitForRunning(client, 0);
      const later = await client.run('third', { image: BUSYBOX, command: ['echo', 'served'] });
      assert.equal(later.stdout.toString(), 'served\n');
    });
  });

  it('a queued request waits for the slot instead of failing', async () => {
    await withPlatform({ FAAS_MAX_CONCURRENCY: '1', FAAS_MAX_QUEUE: '1' }, async ({ client }) => {
      const slow = client.invoke('slow', { image: BUSYBOX, command: ['sleep', '2'] });
      await waitForRunning(client, 1);
      const queued = await client.run('queued', { image: BUSYBOX, command: ['echo', 'queued'] });
      assert.equal(queued.stdout.toString(), 'queued\n');
      assert.equal((await slow).status, 200);
    });
  });
});

describe('graceful shutdown', () => {
  it('stop() lets an in-flight invocation finish, refuses new ones, and removes every sandbox', async () => {
    const { platform, client } = await startPlatform();
    let stopped: Promise<void> | undefined;
    try {
      const inflight = client.invoke('draining', { image: BUSYBOX, command: ['sh', '-c', 'sleep 2; echo finished'] });
      await waitForRunning(client, 1);
      stopped = platform.stop();
      const late = await tryInvoke(client, { image: BUSYBOX, command: ['echo', 'too late'] });
      if (late) assertError(late, 503, 'FAAS_ERR_SHUTTING_DOWN');
      const res = await inflight;
      assert.equal(res.status, 200, res.text);
      assert.equal(stdoutOf(res), 'finished\n');
      await stopped;
    } finally {
      await (stopped ?? platform.stop());
    }
  });

  it('an invocation still running when the grace ends is killed and answered 503 FAAS_ERR_SHUTTING_DOWN', async () => {
    const { platform, client } = await startPlatform();
    let stopped: Promise<void> | undefined;
    try {
      const inflight = client.invoke('overstaying', { image: BUSYBOX, command: ['sleep', '3133'] });
      await waitForRunning(client, 1);
      stopped = platform.stop(500);
      assertError(await inflight, 503, 'FAAS_ERR_SHUTTING_DOWN');
      await stopped;
    } finally {
      await (stopped ?? platform.stop(0));
    }
  });
});
