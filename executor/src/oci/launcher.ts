/**
 * Starts the oci executor's runtime processes from a worker thread (launcher-worker.ts).
 *
 * Why: starting a process from Node blocks the event loop for the fork and exec of the child
 * (libuv's uv_spawn waits until the child has exec'd, to report exec errors), and the fork copies
 * the page tables of the whole platform process. Under sustained single-use load (a sandbox start
 * per invocation) that was most of the gateway's main thread: a CPU profile at 105 invocations/s
 * showed ChildProcess.spawn and the bundle's synchronous file work taking about 45 % of it, and
 * every invocation's answer waited behind them. From a worker the same work blocks only the
 * worker; the child's stdio is relayed to this thread as messages.
 *
 * A LaunchedProcess looks like the part of a ChildProcess the executor uses: stdin, stdout and
 * stderr streams, `kill`, and the `error` and `close` events (close always comes last, after all
 * output). If the worker itself dies, every process it started is reported closed (code and signal
 * null) and the next spawn starts a new worker.
 */
import { EventEmitter } from 'node:events';
import { rmSync } from 'node:fs';
import { PassThrough, type Readable, Writable } from 'node:stream';
import { Worker } from 'node:worker_threads';

/** Messages to the worker. */
export type ToWorker =
  | {
      t: 'spawn';
      id: number;
      path: string;
      args: string[];
      /** Folders to make first (mode), then files to write (mode 0600). */
      dirs?: { path: string; mode: number }[];
      files?: { path: string; data: string }[];
    }
  | { t: 'in'; id: number; chunk: Uint8Array }
  | { t: 'end'; id: number }
  | { t: 'kill'; id: number; signal: NodeJS.Signals }
  | { t: 'rm'; call: number; path: string };

/** Messages from the worker. */
export type FromWorker =
  | { t: 'spawned'; id: number; pid: number }
  | { t: 'out' | 'err'; id: number; chunk: Uint8Array }
  | { t: 'error'; id: number; message: string }
  | { t: 'close'; id: number; code: number | null; signal: NodeJS.Signals | null }
  | { t: 'done'; call: number; error?: string };

export interface LaunchedProcess extends EventEmitter {
  readonly stdin: Writable;
  readonly stdout: Readable;
  readonly stderr: Readable;
  /** The host pid, once the worker has started it. */
  readonly pid?: number | undefined;
  kill(signal?: NodeJS.Signals): void;
}

export interface SpawnFiles {
  dirs?: { path: string; mode: number }[];
  files?: { path: string; data: string }[];
}

class RemoteProcess extends EventEmitter implements LaunchedProcess {
  readonly stdout = new PassThrough();
  readonly stderr = new PassThrough();
  readonly stdin: Writable;
  pid: number | undefined;
  closed = false;

  constructor(
    private readonly id: number,
    private readonly post: (message: ToWorker) => void,
  ) {
    super();
    let ended = false;
    const end = () => {
      if (ended || this.closed) return;
      ended = true;
      post({ t: 'end', id });
    };
    this.stdin = new Writable({
      write: (chunk: Buffer, _encoding, callback) => {
        if (!this.closed) post({ t: 'in', id, chunk });
        callback();
      },
      final: (callback) => {
        end();
        callback();
      },
      destroy: (err, callback) => {
        end();
        callback(err);
      },
    });
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (!this.closed) this.post({ t: 'kill', id: this.id, signal });
  }

  /** The process ended (or its worker did): streams end, then `close`. */
  finish(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.closed) return;
    this.closed = true;
    this.stdout.end();
    this.stderr.end();
    this.stdin.destroy();
    this.emit('close', code, signal);
  }
}

export class Launcher {
  private worker: Worker | undefined;
  private nextId = 0;
  private readonly procs = new Map<number, RemoteProcess>();
  private readonly calls = new Map<number, { resolve: () => void; reject: (err: Error) => void }>();
  private closed = false;

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(new URL('./launcher-worker.js', import.meta.url));
    // The platform's exit is not held up by the thread; close() ends it.
    worker.unref();
    worker.on('message', (message: FromWorker) => this.receive(message));
    const lost = (why: string) => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      for (const proc of this.procs.values()) {
        // Its stdio went with the thread; the runtime process itself is killed here, and the
        // executor's destroy then removes the container (`delete --force`).
        if (proc.pid) {
          try {
            process.kill(proc.pid, 'SIGKILL');
          } catch {
            // gone already
          }
        }
        proc.emit('error', new Error(`the oci launcher thread ${why}`));
        proc.finish(null, null);
      }
      this.procs.clear();
      for (const call of this.calls.values()) call.reject(new Error(`the oci launcher thread ${why}`));
      this.calls.clear();
    };
    worker.on('error', (err) => lost(`failed: ${err.message}`));
    worker.on('exit', (code) => lost(`exited (code ${code})`));
    this.worker = worker;
    return worker;
  }

  private receive(message: FromWorker): void {
    if (message.t === 'done') {
      const call = this.calls.get(message.call);
      this.calls.delete(message.call);
      if (message.error) call?.reject(new Error(message.error));
      else call?.resolve();
      return;
    }
    const proc = this.procs.get(message.id);
    if (!proc) return;
    switch (message.t) {
      case 'spawned':
        proc.pid = message.pid;
        return;
      case 'out':
        proc.stdout.write(Buffer.from(message.chunk.buffer, message.chunk.byteOffset, message.chunk.byteLength));
        return;
      case 'err':
        proc.stderr.write(Buffer.from(message.chunk.buffer, message.chunk.byteOffset, message.chunk.byteLength));
        return;
      case 'error':
        proc.emit('error', new Error(message.message));
        return;
      case 'close':
        this.procs.delete(message.id);
        proc.finish(message.code, message.signal);
        return;
    }
  }

  /** Makes `files`' folders and files, then starts `path args` with piped stdio, all in the worker. */
  spawn(path: string, args: string[], files: SpawnFiles = {}): LaunchedProcess {
    if (this.closed) throw new Error('the oci launcher is closed');
    const worker = this.ensureWorker();
    const id = ++this.nextId;
    const proc = new RemoteProcess(id, (message) => worker.postMessage(message));
    this.procs.set(id, proc);
    worker.postMessage({ t: 'spawn', id, path, args, ...files } satisfies ToWorker);
    return proc;
  }

  /** Removes a folder and everything in it, in the worker (here, once the launcher is closed). */
  rm(path: string): Promise<void> {
    if (this.closed) {
      rmSync(path, { recursive: true, force: true });
      return Promise.resolve();
    }
    const worker = this.ensureWorker();
    const call = ++this.nextId;
    return new Promise((resolve, reject) => {
      this.calls.set(call, { resolve, reject });
      worker.postMessage({ t: 'rm', call, path } satisfies ToWorker);
    });
  }

  /**
   * Ends the worker; processes it still ran are reported closed (without an error: the platform
   * is closing). Their pipes close with the thread, which is what ends a runtime's container.
   */
  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    this.worker = undefined;
    if (worker) await worker.terminate();
    for (const proc of this.procs.values()) proc.finish(null, null);
    this.procs.clear();
    for (const call of this.calls.values()) call.reject(new Error('the oci launcher is closed'));
    this.calls.clear();
  }
}
