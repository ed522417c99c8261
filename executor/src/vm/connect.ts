/**
 * Connecting to a Unix socket that a VMM creates a moment after it starts. The VMM gives no
 * readiness signal we could wait on, so we retry until the socket accepts, the VMM dies, the
 * deadline passes or the caller gives up, whichever comes first, and say which one it was.
 */
import { createConnection, type Socket } from 'node:net';
import { FaasError } from '@faas/common';
import type { VmmProcess } from './process.js';

const RETRY_MS = 10;

export async function connectUnixSocket(
  path: string,
  options: { vmm: VmmProcess; deadline: number; signal?: AbortSignal; what: string },
): Promise<Socket> {
  for (;;) {
    options.signal?.throwIfAborted();
    if (!options.vmm.running) {
      throw new FaasError('FAAS_ERR_SANDBOX_FAILURE', `the VMM ${options.vmm.describeExit()} before ${options.what} was reachable`);
    }
    try {
      return await tryConnect(path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ECONNREFUSED' && code !== 'EAGAIN') {
        throw new FaasError('FAAS_ERR_SANDBOX_FAILURE', `cannot connect to ${options.what} at ${path}: ${(err as Error).message}`, {
          cause: err,
        });
      }
    }
    if (Date.now() >= options.deadline) {
      throw new FaasError('FAAS_ERR_SANDBOX_FAILURE', `${options.what} did not appear at ${path} in time`);
    }
    await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
  }
}

function tryConnect(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(path);
    const onError = (err: Error) => {
      socket.destroy();
      reject(err);
    };
    socket.once('error', onError);
    socket.once('connect', () => {
      socket.off('error', onError);
      resolve(socket);
    });
  });
}
