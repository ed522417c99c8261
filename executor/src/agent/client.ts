/**
 * Host side of the guest agent protocol over any connected duplex stream (unix socket, a
 * Firecracker vsock proxy, a QEMU virtio-serial chardev). Requests go one at a time. Anything
 * the guest does wrong (garbage, a frame too large for the request, a wrong answer, silence past
 * the deadline) fails the client for good and closes the stream; the agent kills whatever it
 * was running when the host hangs up, so a failed client never leaves a command behind.
 */
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { FaasError } from '@faas/common';
import type { ExecResult } from '../executor.js';
import { sandboxLost } from '../faults.js';
import { Connection, failure, SMALL_RESPONSE_BYTES } from './connection.js';
import { type ExecFrame, type ExecResultFrame, type Frame, PROTOCOL_VERSION } from './protocol.js';

/** What an EXEC asks: the EXEC frame's fields. */
export type AgentExecRequest = Omit<ExecFrame, 'type'>;

/** What an EXEC answers: the EXEC_RESULT frame's fields. */
export type AgentExecResult = Omit<ExecResultFrame, 'type'>;

export interface AgentConnectOptions {
  helloTimeoutMs: number;
  /** Largest frame the host accepts from the guest (default 64 MiB, the protocol maximum). */
  maxFrameBytes?: number;
  /** Host-side bound for RESET and SHUTDOWN answers (default 10 s). */
  controlTimeoutMs?: number;
}

/** The agent refuses larger output caps, so the worst-case EXEC_RESULT fits in one frame. */
export const MAX_OUTPUT_BYTES = 8 * 1024 * 1024;
/** The capability of an agent that applies EXEC's `max_processes`; no other agent is sent one. */
export const MAX_PROCESSES_CAPABILITY = 'max_processes';
/** Time the guest gets beyond the command's own timeout to kill it and send the result. */
export const DEFAULT_EXEC_GRACE_MS = 5_000;
/** JSON keys, integers, start_error and escapes around the three base64 fields. */
const EXEC_RESULT_OVERHEAD_BYTES = 16 * 1024;

const REBUILD_HINT =
  'rebuild the guest agent (guest-agent/build.sh) and the images or VM rootfs that embed it, so that host and agent come from the same version';

const base64Length = (n: number): number => 4 * Math.ceil(n / 3);

/** The largest EXEC_RESULT body a well-behaved agent can produce for this output cap. */
export function execResultLimit(maxOutputBytes: number): number {
  return 2 * base64Length(maxOutputBytes) + base64Length(2 * maxOutputBytes) + EXEC_RESULT_OVERHEAD_BYTES;
}

export class AgentClient {
  readonly agentVersion: string;
  readonly protocolVersion: number;
  readonly capabilities: readonly string[];
  private readonly conn: Connection;
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(conn: Connection, hello: Extract<Frame, { type: 'HELLO_OK' }>) {
    this.conn = conn;
    this.agentVersion = hello.agentVersion;
    this.protocolVersion = hello.protocolVersion;
    this.capabilities = Object.freeze([...hello.capabilities]);
  }

  /**
   * Performs HELLO; rejects with FAAS_ERR_SANDBOX_FAILURE on timeout, garbage or a version
   * mismatch, and with FAAS_ERR_SANDBOX_LOST, `started` false, when the agent hangs up before it
   * answers (it, or the sandbox around it, died while starting: nothing ran there).
   */
  static async connect(stream: Duplex, options: AgentConnectOptions): Promise<AgentClient> {
    const conn = new Connection(stream, options);
    let answer: Frame;
    try {
      answer = await conn.request(
        { type: 'HELLO', protocolVersions: [PROTOCOL_VERSION] },
        'HELLO_OK',
        options.helloTimeoutMs,
        SMALL_RESPONSE_BYTES,
      );
    } catch (err) {
      conn.close();
      if (err instanceof FaasError && err.details?.agentCode === 'unsupported_version') {
        throw failure(`guest agent does not speak protocol version ${PROTOCOL_VERSION} (${err.message}); ${REBUILD_HINT}`, err);
      }
      if (conn.peerGone) {
        throw sandboxLost(
          `the sandbox died while starting: its guest agent hung up before answering HELLO (${(err as Error).message})`,
          false,
          err,
        );
      }
      throw err;
    }
    if (answer.type !== 'HELLO_OK' || answer.protocolVersion !== PROTOCOL_VERSION) {
      conn.close();
      const got = answer.type === 'HELLO_OK' ? `${answer.protocolVersion} (agent ${answer.agentVersion})` : '?';
      throw failure(`guest agent protocol mismatch: agent speaks ${got}, host speaks ${PROTOCOL_VERSION}; ${REBUILD_HINT}`);
    }
    return new AgentClient(conn, answer);
  }

  exec(request: AgentExecRequest, options: { signal?: AbortSignal; deadlineMs?: number } = {}): Promise<AgentExecResult> {
    const { maxOutputBytes, timeoutMs } = request;
    if (!Number.isSafeInteger(maxOutputBytes) || maxOutputBytes < 0 || maxOutputBytes > MAX_OUTPUT_BYTES) {
      return Promise.reject(new FaasError('FAAS_ERR_INTERNAL', `maxOutputBytes must be an integer in 0..${MAX_OUTPUT_BYTES}`));
    }
    if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 0x7fff_ffff) {
      return Promise.reject(new FaasError('FAAS_ERR_INTERNAL', 'timeoutMs must be an integer in 1..2147483647'));
    }
    const { maxProcesses } = request;
    if (maxProcesses !== undefined) {
      if (!Number.isSafeInteger(maxProcesses) || maxProcesses < 0 || maxProcesses > 0xffff_ffff) {
        return Promise.reject(new FaasError('FAAS_ERR_INTERNAL', 'maxProcesses must be an integer in 0..4294967295'));
      }
      // An older agent would refuse the unknown field; worse, a limit silently dropped is no
      // limit. Refused here, before anything is sent: the sandbox needs a current agent.
      if (!this.capabilities.includes(MAX_PROCESSES_CAPABILITY)) {
        return Promise.reject(
          failure(
            `guest agent ${this.agentVersion} cannot limit a command's processes (no "${MAX_PROCESSES_CAPABILITY}" capability); ${REBUILD_HINT}`,
          ),
        );
      }
    }
    const deadline = options.deadlineMs ?? timeoutMs + DEFAULT_EXEC_GRACE_MS;
    const limit = execResultLimit(maxOutputBytes);
    return this.serial(async () => {
      const frame = { type: 'EXEC', ...request } as const;
      const answer = await this.conn.request(frame, 'EXEC_RESULT', deadline, limit, options.signal);
      return checkExecResult(answer as ExecResultFrame, maxOutputBytes);
    });
  }

  async reset(options: { scratchDir?: string } = {}): Promise<void> {
    const frame: Frame = options.scratchDir === undefined ? { type: 'RESET' } : { type: 'RESET', scratchDir: options.scratchDir };
    await this.serial(() => this.conn.request(frame, 'RESET_OK', this.conn.controlTimeoutMs, SMALL_RESPONSE_BYTES));
  }

  /**
   * Gives a VM restored from a snapshot its own identity: `entropy` is mixed into the guest
   * kernel's CRNG, which is reseeded at once, and the guest clock is set to `unixTimeMs`.
   * Needs the agent capability `refresh`; the agent answers `refresh_failed` if it cannot.
   */
  async refresh(options: { entropy: Buffer; unixTimeMs?: number }): Promise<void> {
    const frame: Frame =
      options.unixTimeMs === undefined
        ? { type: 'REFRESH', entropy: options.entropy }
        : { type: 'REFRESH', entropy: options.entropy, unixTimeMs: options.unixTimeMs };
    await this.serial(() => this.conn.request(frame, 'REFRESH_OK', this.conn.controlTimeoutMs, SMALL_RESPONSE_BYTES));
  }

  /** Resolves once the agent confirmed, or once it hung up after receiving the request (powering off). */
  async shutdown(): Promise<void> {
    await this.serial(async () => {
      try {
        await this.conn.request({ type: 'SHUTDOWN' }, 'SHUTDOWN_OK', this.conn.controlTimeoutMs, SMALL_RESPONSE_BYTES);
      } catch (err) {
        if (!this.conn.closedByPeer) throw err;
      }
    });
    this.close();
  }

  close(): void {
    this.conn.close();
  }

  get closed(): boolean {
    return this.conn.closed;
  }

  /** The agent's end went away (it died, or the sandbox around it did), not the host's. */
  get lost(): boolean {
    return this.conn.peerGone;
  }

  /** Calls `listener` once when the agent's end goes away; never after the host closed the client. */
  whenLost(listener: () => void): void {
    this.conn.whenPeerGone(listener);
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

function checkExecResult(frame: ExecResultFrame, cap: number): AgentExecResult {
  const { stdout, stderr, combined } = frame;
  if (stdout.length > cap || stderr.length > cap || combined.length !== stdout.length + stderr.length) {
    throw failure(`guest agent sent output that breaks the cap of ${cap} bytes or the combined-stream invariant`);
  }
  // Exactly one way of ending: an exit code, a signal, or a start error (which may carry 126/127).
  const ended = frame.startError !== undefined ? frame.signal === null : (frame.exitCode === null) !== (frame.signal === null);
  if (!ended) throw failure('guest agent sent an EXEC_RESULT with a contradictory exit_code, signal and start_error');
  const result: AgentExecResult = {
    stdout,
    stderr,
    combined,
    exitCode: frame.exitCode,
    signal: frame.signal,
    truncated: frame.truncated,
    timedOut: frame.timedOut,
    durationMs: frame.durationMs,
  };
  if (frame.startError !== undefined) result.startError = frame.startError;
  return result;
}

/**
 * Connects to an agent listening on a unix socket, retrying while the socket is missing or
 * refuses (the agent or its VM may still be starting) until `connectTimeoutMs`, or until `gone`
 * says the sandbox died, then says HELLO.
 */
export async function connectUnix(
  path: string,
  options: AgentConnectOptions & {
    connectTimeoutMs: number;
    retryIntervalMs?: number;
    /** Why the sandbox is known dead, if it is: the wait for its socket ends then, as a loss before the start. */
    gone?: () => string | undefined;
  },
): Promise<AgentClient> {
  const until = Date.now() + options.connectTimeoutMs;
  let lastError: unknown;
  for (;;) {
    const gone = options.gone?.();
    if (gone !== undefined) {
      throw sandboxLost(`the sandbox died while starting, before its guest agent listened at ${path}: ${gone}`, false, lastError);
    }
    try {
      const socket = await openSocket(path);
      return await AgentClient.connect(socket, options);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ECONNREFUSED' && code !== 'EAGAIN') throw err;
      lastError = err;
    }
    if (Date.now() >= until) {
      throw failure(`guest agent socket ${path} did not accept a connection within ${options.connectTimeoutMs} ms`, lastError);
    }
    await new Promise((r) => setTimeout(r, options.retryIntervalMs ?? 20));
  }
}

function openSocket(path: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.createConnection({ path });
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/** The executor-facing result of an EXEC: the same fields, without the agent's own timing. */
export function toExecResult(result: AgentExecResult, extra: { oomKilled?: boolean } = {}): ExecResult {
  return {
    stdout: result.stdout,
    stderr: result.stderr,
    combined: result.combined,
    exitCode: result.exitCode,
    signal: result.signal,
    truncated: result.truncated,
    timedOut: result.timedOut,
    ...(result.startError !== undefined ? { startError: result.startError } : {}),
    ...(extra.oomKilled ? { oomKilled: true } : {}),
  };
}
