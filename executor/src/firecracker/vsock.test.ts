import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isFaasError } from '@faas/common';
import { VmmProcess } from '../vm/process.js';
import { connectVsock } from './vsock.js';

/** A stand-in for Firecracker's vsock socket: `behaviour` decides how each connection is answered. */
async function withFakeVsock(behaviour: (socket: Socket, attempt: number) => void, body: (path: string, vmm: VmmProcess) => Promise<void>) {
  const dir = await mkdtemp(join(tmpdir(), 'fc-vsock-'));
  const path = join(dir, 'v.sock');
  let attempt = 0;
  const server: Server = createServer((socket) => {
    socket.once('data', (line) => {
      assert.equal(line.toString(), 'CONNECT 52\n');
      behaviour(socket, attempt++);
    });
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  // Any long-running process stands in for the VMM whose liveness connectVsock watches.
  const vmm = new VmmProcess('sleep', ['30']);
  try {
    await body(path, vmm);
  } finally {
    await vmm.stop(0);
    await new Promise((resolve) => server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  }
}

test('the handshake retries until the guest listens and keeps bytes after OK', async () => {
  await withFakeVsock(
    (socket, attempt) => {
      if (attempt < 2)
        socket.destroy(); // guest not listening yet: Firecracker hangs up
      else socket.write('OK 1073741824\nHELLO');
    },
    async (path, vmm) => {
      const socket = await connectVsock(path, 52, { vmm, deadline: Date.now() + 5000 });
      const first = await new Promise<Buffer>((resolve) => socket.once('data', resolve));
      assert.equal(first.toString(), 'HELLO');
      socket.destroy();
    },
  );
});

test('a garbled answer is retried and then reported when the deadline passes', async () => {
  await withFakeVsock(
    (socket) => socket.write('NOPE\n'),
    async (path, vmm) => {
      await assert.rejects(connectVsock(path, 52, { vmm, deadline: Date.now() + 300 }), (err: unknown) => {
        assert.ok(isFaasError(err, 'FAAS_ERR_SANDBOX_FAILURE'));
        assert.match((err as Error).message, /unexpected vsock handshake answer "NOPE"/);
        return true;
      });
    },
  );
});

test('a dead VMM ends the wait at once', async () => {
  await withFakeVsock(
    (socket) => socket.destroy(),
    async (path, vmm) => {
      await vmm.stop(0);
      await assert.rejects(connectVsock(path, 52, { vmm, deadline: Date.now() + 10_000 }), /the VMM was killed by SIGKILL/);
    },
  );
});
