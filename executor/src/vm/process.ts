/**
 * Supervision of a VMM process (qemu-system-x86_64, firecracker, jailer). The executor must always
 * know whether the VMM still runs, must be able to end it within a bounded time, and must have its
 * last words (stderr) at hand when it dies early, because "the VM failed" is useless to an operator
 * while "qemu: could not open kernel file" is not.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { processEnding } from '../pids.js';

/** How the VMM ended: an exit code, a signal, or a spawn failure (ENOENT, EACCES). */
export interface VmmExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  spawnError?: Error;
}

const STDERR_TAIL_BYTES = 4096;

export class VmmProcess {
  readonly pid: number | undefined;
  /** Settles exactly once, when the process is gone (or never started); never rejects. */
  readonly exited: Promise<VmmExit>;
  private exit: VmmExit | undefined;
  private stderrTail = Buffer.alloc(0);
  private readonly child: ChildProcess;

  /**
   * @param options.stdoutFd where the VMM's stdout goes (Firecracker writes the guest console there);
   *   the caller may close its copy once the constructor returns.
   * @param options.extraFds passed on as fds 3, 4, ... (QEMU's `-incoming fd:3` reads a snapshot
   *   this way, so the VMM needs no path to it and no permission to open it); closable likewise.
   */
  constructor(
    binary: string,
    args: string[],
    options: { cwd?: string; env?: NodeJS.ProcessEnv; stdoutFd?: number; extraFds?: number[] } = {},
  ) {
    this.child = spawn(binary, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      // stdin closed so the VMM never reads the terminal; stderr kept for error messages.
      stdio: ['ignore', options.stdoutFd ?? 'ignore', 'pipe', ...(options.extraFds ?? [])],
    });
    this.pid = this.child.pid;
    this.child.stderr?.on('data', (chunk: Buffer) => {
      const joined = Buffer.concat([this.stderrTail, chunk]);
      this.stderrTail = joined.length > STDERR_TAIL_BYTES ? joined.subarray(joined.length - STDERR_TAIL_BYTES) : joined;
    });
    this.exited = new Promise<VmmExit>((resolve) => {
      // 'error' fires instead of 'exit' when the binary cannot be spawned; unhandled it would crash us.
      this.child.once('error', (err) => {
        if (this.child.pid !== undefined && this.child.exitCode === null && this.child.signalCode === null) return;
        this.exit = { code: null, signal: null, spawnError: err };
        resolve(this.exit);
      });
      this.child.once('close', (code, signal) => {
        this.exit ??= { code, signal };
        resolve(this.exit);
      });
    });
  }

  get running(): boolean {
    return this.exit === undefined;
  }

  /**
   * True when the process is gone, exiting or killed, even before Node has reaped it: a
   * synchronous look at /proc (microseconds), so that a VMM killed a moment ago is never taken
   * for a live one.
   */
  get gone(): boolean {
    if (!this.running || this.pid === undefined) return true;
    return processEnding(this.pid);
  }

  /** The last few KiB the VMM wrote to stderr, trimmed, for error messages. */
  get stderr(): string {
    return this.stderrTail.toString('utf8').trim();
  }

  /** Describes how the process ended, for error messages; undefined while it runs. */
  describeExit(): string | undefined {
    const exit = this.exit;
    if (!exit) return undefined;
    if (exit.spawnError) return `could not be started: ${exit.spawnError.message}`;
    const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
    return this.stderr ? `${how}: ${this.stderr}` : how;
  }

  signal(signal: NodeJS.Signals): void {
    if (!this.running) return;
    try {
      this.child.kill(signal);
    } catch {
      // Already gone between the check and the kill.
    }
  }

  /**
   * Ends the process: waits up to `graceMs` for it to leave on its own (after a clean guest
   * shutdown), then SIGKILLs it and waits for the kernel to reap it, so that no caller ever
   * returns while the VMM still holds files or sockets.
   */
  async stop(graceMs: number): Promise<VmmExit> {
    if (!this.running) return this.exited;
    if (graceMs > 0) {
      const timer = new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), graceMs).unref());
      const done = await Promise.race([this.exited, timer]);
      if (done) return done;
    }
    this.signal('SIGKILL');
    return this.exited;
  }
}
