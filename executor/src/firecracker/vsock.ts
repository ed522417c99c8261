/**
 * Host-initiated vsock connections through Firecracker's Unix socket: the host connects to
 * `uds_path`, writes `CONNECT <port>\n`, and Firecracker answers `OK <host port>\n` once the guest
 * accepted, or closes the connection if nothing listens on that port yet. While the guest boots
 * nothing listens, so we retry until the boot deadline.
 */
import type { Socket } from 'node:net';
import { FaasError } from '@faas/common';
import { connectUnixSocket } from '../vm/connect.js';
import type { VmmProcess } from '../vm/process.js';

/** Longest acceptable handshake answer ("OK 4294967295\n" is 14 bytes). */
const MAX_ANSWER_BYTES = 32;
const RETRY_MS = 20;
/** Bound on one handshake; the guest answers within microseconds once it listens. */
const HANDSHAKE_TIMEOUT_MS = 2000;

export async function connectVsock(
  udsPath: string,
  port: number,
  options: { vmm: VmmProcess; deadline: number; signal?: AbortSignal },
): Promise<Socket> {
  let lastReason = 'no attempt';
  for (;;) {
    const socket = await connectUnixSocket(udsPath, { ...options, what: 'the Firecracker vsock socket' });
    try {
      await handshake(socket, port);
      return socket;
    } catch (err) {
      socket.destroy();
      lastReason = (err as Error).message;
    }
    options.signal?.throwIfAborted();
    if (Date.now() >= options.deadline) {
      throw new FaasError('FAAS_ERR_SANDBOX_FAILURE', `the guest agent did not accept vsock port ${port} in time (${lastReason})`);
    }
    await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
  }
}

/**
 * Sends CONNECT and consumes exactly the answer line; bytes after it stay in the socket. Reads in
 * paused mode ('readable'), so that once our listener is gone the socket returns to its initial
 * state and the next reader (the agent client) gets every byte, whenever it attaches.
 */
export function handshake(socket: Socket, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let buffered = Buffer.alloc(0);
    const finish = (err: Error | undefined, hostPort?: number, rest?: Buffer) => {
      clearTimeout(timer);
      socket.off('readable', onReadable);
      socket.off('close', onClose);
      socket.off('error', onError);
      // Bytes past the answer belong to the agent protocol: give them back to the next reader.
      if (rest && rest.length > 0) socket.unshift(rest);
      if (err) reject(err);
      else resolve(hostPort as number);
    };
    const onReadable = () => {
      for (let chunk = socket.read() as Buffer | null; chunk !== null; chunk = socket.read() as Buffer | null) {
        buffered = Buffer.concat([buffered, chunk]);
        const newline = buffered.indexOf(0x0a);
        if (newline < 0) {
          if (buffered.length <= MAX_ANSWER_BYTES) continue;
          finish(new Error('oversized vsock handshake answer'));
          return;
        }
        const line = buffered.subarray(0, newline).toString('latin1');
        const match = /^OK (\d{1,10})$/.exec(line);
        if (!match) finish(new Error(`unexpected vsock handshake answer ${JSON.stringify(line.slice(0, MAX_ANSWER_BYTES))}`));
        else finish(undefined, Number(match[1]), buffered.subarray(newline + 1));
        return;
      }
    };
    const onClose = () => finish(new Error('connection closed during the vsock handshake (guest not listening yet)'));
    const onError = (err: Error) => finish(err);
    const timer = setTimeout(() => finish(new Error('no vsock handshake answer')), HANDSHAKE_TIMEOUT_MS);
    socket.on('readable', onReadable);
    socket.once('close', onClose);
    socket.once('error', onError);
    socket.write(`CONNECT ${port}\n`);
  });
}
