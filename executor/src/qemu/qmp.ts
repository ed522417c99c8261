/**
 * A minimal QEMU Machine Protocol client: line-delimited JSON over the Unix socket given with
 * `-qmp unix:PATH,server=on,wait=off`. Only the snapshot builder uses it (to migrate a booted VM
 * into a file), so it supports exactly one command in flight and ignores asynchronous events.
 */
import type { Socket } from 'node:net';
import { FaasError } from '@faas/common';
import { connectUnixSocket } from '../vm/connect.js';
import type { VmmProcess } from '../vm/process.js';

const MAX_LINE_BYTES = 1024 * 1024;

export class QmpClient {
  private buffered = '';
  private waiting: { resolve: (value: unknown) => void; reject: (err: Error) => void } | undefined;
  private closedError: Error | undefined;

  private constructor(
    private readonly socket: Socket,
    private readonly timeoutMs: number,
  ) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.onData(chunk));
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(new Error('QMP connection closed')));
  }

  /** Connects (retrying until QEMU listens), reads the greeting and enters command mode. */
  static async connect(path: string, vmm: VmmProcess, deadline: number, timeoutMs = 10_000): Promise<QmpClient> {
    const socket = await connectUnixSocket(path, { vmm, deadline, what: 'the QMP socket' });
    const client = new QmpClient(socket, timeoutMs);
    await client.next(); // the greeting
    await client.execute('qmp_capabilities');
    return client;
  }

  /** Runs one command; resolves to its `return` value, rejects with QEMU's error description. */
  async execute(command: string, args?: Record<string, unknown>): Promise<unknown> {
    const answer = this.next();
    this.socket.write(`${JSON.stringify(args ? { execute: command, arguments: args } : { execute: command })}\n`);
    const reply = (await answer) as { return?: unknown; error?: { desc?: string } };
    if (reply.error) throw new FaasError('FAAS_ERR_SANDBOX_FAILURE', `QMP ${command} failed: ${reply.error.desc ?? 'no reason'}`);
    return reply.return;
  }

  close(): void {
    this.socket.destroy();
  }

  private next(): Promise<unknown> {
    if (this.closedError) return Promise.reject(this.closedError);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.fail(new Error(`no QMP answer within ${this.timeoutMs} ms`)), this.timeoutMs);
      this.waiting = {
        resolve: (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      };
    });
  }

  private onData(chunk: string): void {
    this.buffered += chunk;
    if (this.buffered.length > MAX_LINE_BYTES) {
      this.fail(new Error('oversized QMP message'));
      return;
    }
    for (let newline = this.buffered.indexOf('\n'); newline >= 0; newline = this.buffered.indexOf('\n')) {
      const line = this.buffered.slice(0, newline).trim();
      this.buffered = this.buffered.slice(newline + 1);
      if (line === '') continue;
      let message: Record<string, unknown>;
      try {
        message = JSON.parse(line) as Record<string, unknown>;
      } catch {
        this.fail(new Error('QMP sent something that is not JSON'));
        return;
      }
      if ('event' in message) continue;
      const waiting = this.waiting;
      this.waiting = undefined;
      waiting?.resolve(message);
    }
  }

  private fail(err: Error): void {
    this.closedError ??= err;
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.reject(new FaasError('FAAS_ERR_SANDBOX_FAILURE', err.message, { cause: err }));
    this.socket.destroy();
  }
}
