/**
 * The launcher's thread (launcher.ts): writes bundles, starts runtime processes and relays their
 * stdio, so that none of the blocking work of a sandbox start (fork and exec of the runtime,
 * which wait for the child in uv_spawn; the bundle's files) stalls the platform's event loop.
 * Messages: see `ToWorker` and `FromWorker` in launcher.ts.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import type { FromWorker, ToWorker } from './launcher.js';

const port = parentPort;
if (!port) throw new Error('launcher-worker.js runs as a worker thread');
const children = new Map<number, ChildProcessWithoutNullStreams>();
const post = (message: FromWorker) => port.postMessage(message);

port.on('message', (message: ToWorker) => {
  switch (message.t) {
    case 'spawn': {
      const { id } = message;
      try {
        for (const dir of message.dirs ?? []) mkdirSync(dir.path, { mode: dir.mode, recursive: true });
        for (const file of message.files ?? []) writeFileSync(file.path, file.data, { mode: 0o600 });
      } catch (err) {
        post({ t: 'error', id, message: (err as Error).message });
        post({ t: 'close', id, code: null, signal: null });
        return;
      }
      const child = spawn(message.path, message.args, { stdio: ['pipe', 'pipe', 'pipe'] });
      children.set(id, child);
      post({ t: 'spawned', id, pid: child.pid ?? 0 });
      child.stdout.on('data', (chunk: Buffer) => post({ t: 'out', id, chunk }));
      child.stderr.on('data', (chunk: Buffer) => post({ t: 'err', id, chunk }));
      child.stdin.on('error', () => {});
      child.once('error', (err) => post({ t: 'error', id, message: err.message }));
      child.once('close', (code, signal) => {
        children.delete(id);
        post({ t: 'close', id, code, signal });
      });
      return;
    }
    case 'in':
      children.get(message.id)?.stdin.write(message.chunk);
      return;
    case 'end':
      children.get(message.id)?.stdin.destroy();
      return;
    case 'kill':
      children.get(message.id)?.kill(message.signal);
      return;
    case 'rm':
      try {
        rmSync(message.path, { recursive: true, force: true });
        post({ t: 'done', call: message.call });
      } catch (err) {
        post({ t: 'done', call: message.call, error: (err as Error).message });
      }
      return;
  }
});
