/**
 * One stream to a guest agent: a decoder, at most one request in flight, and the rule that any
 * misbehaviour (garbage, an unexpected frame, silence past a deadline) fails the connection for
 * good and destroys the stream. A failed stream is never reused: the agent may be mid-answer.
 */
import type { Duplex } from 'node:stream';
import { FaasError } from '@faas/common';
import { DEFAULT_MAX_FRAME_BYTES, encodeFrame, type Frame, FrameDecoder, type FrameTypeName, ProtocolError } from './protocol.js';

/** Bound for answers that carry no output (HELLO_OK, RESET_OK, SHUTDOWN_OK, ERROR). */
export const SMALL_RESPONSE_BYTES = 64 * 1024;

export interface ConnectionOptions {
  maxFrameBytes?: number;
  controlTimeoutMs?: number;
}

export function failure(message: string, cause?: unknown): FaasError {
  return new FaasError('FAAS_ERR_SANDBOX_FAILURE', message, cause === undefined ? undefined : { cause });
}

interface Pending {
  expect: FrameTypeName;
  resolve: (frame: Frame) => void;
  reject: (err: Error) => void;
}

/** One stream, one decoder, at most one request in flight. */
export class Connection {
  readonly controlTimeoutMs: number;
  failed: Error | undefined;
  closedByPeer = false;
  /**
   * The other end went away (the stream ended, closed or broke) while the host still used it: the
   * agent, or the sandbox around it, is gone. False when the host failed the stream itself.
   */
  peerGone = false;
  private readonly onPeerGone: Array<() => void> = [];
  private readonly stream: Duplex;
  private readonly decoder: FrameDecoder;
  private readonly maxFrameBytes: number;
  private pending: Pending | undefined;

  constructor(stream: Duplex, options: ConnectionOptions) {
    this.stream = stream;
    this.maxFrameBytes = Math.min(options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES, DEFAULT_MAX_FRAME_BYTES);
    this.controlTimeoutMs = options.controlTimeoutMs ?? 10_000;
    this.decoder = new FrameDecoder(SMALL_RESPONSE_BYTES);
    stream.on('data', (chunk: Buffer) => this.onData(chunk));
    stream.on('error', (err) => {
      this.gone();
      this.fail(failure(`guest agent connection error: ${err.message}`, err));
    });
    stream.on('close', () => {
      this.closedByPeer = this.failed === undefined;
      this.gone();
      this.fail(failure('guest agent closed the connection'));
    });
    stream.on('end', () => {
      this.closedByPeer = this.failed === undefined;
      this.gone();
      try {
        this.decoder.end();
        this.fail(failure('guest agent closed the connection'));
      } catch (err) {
        this.fail(failure(`guest agent closed the connection inside a frame (${(err as Error).message})`, err));
      }
    });
  }

  request(frame: Frame, expect: FrameTypeName, timeoutMs: number, responseLimit: number, signal?: AbortSignal): Promise<Frame> {
    if (this.failed) return Promise.reject(this.failed);
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    const bytes = encodeFrame(frame);
    if (bytes.length - 5 > DEFAULT_MAX_FRAME_BYTES) {
      return Promise.reject(new FaasError('FAAS_ERR_PAYLOAD_TOO_LARGE', 'the request does not fit in one agent frame'));
    }
    this.decoder.maxFrameBytes = Math.min(responseLimit, this.maxFrameBytes);
    return new Promise<Frame>((resolve, reject) => {
      const onAbort = (): void => this.fail(failure(`${frame.type} was aborted; connection closed`), abortReason(signal as AbortSignal));
      // setTimeout turns anything above 2^31-1 ms into 1 ms; clamp so a huge deadline stays huge.
      const delay = Math.max(0, Math.min(timeoutMs, 0x7fff_ffff));
      const timer = setTimeout(() => this.fail(failure(`guest agent did not answer ${frame.type} within ${timeoutMs} ms`)), delay);
      const settle = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.pending = undefined;
      };
      this.pending = {
        expect,
        resolve: (f) => {
          settle();
          resolve(f);
        },
        reject: (err) => {
          settle();
          reject(err);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.stream.write(bytes);
    });
  }

  close(): void {
    this.fail(failure('guest agent client closed'));
  }

  /** True once nothing more can be sent: failed, or the stream is already torn down. */
  get closed(): boolean {
    return this.failed !== undefined || this.stream.destroyed;
  }

  /** Calls `listener` once if the peer goes away (never when the host closes the stream itself). */
  whenPeerGone(listener: () => void): void {
    if (this.peerGone) listener();
    else if (this.failed === undefined) this.onPeerGone.push(listener);
  }

  private gone(): void {
    if (this.failed !== undefined || this.peerGone) return;
    this.peerGone = true;
    for (const listener of this.onPeerGone.splice(0)) {
      try {
        listener();
      } catch {
        // A listener's fault must not keep the connection from failing.
      }
    }
  }

  private onData(chunk: Buffer): void {
    if (this.failed) return;
    let frames: Frame[];
    try {
      frames = this.decoder.push(chunk);
    } catch (err) {
      const detail = err instanceof ProtocolError ? err.message : String(err);
      this.fail(failure(`guest agent sent an invalid frame (${detail})`, err));
      return;
    }
    for (const frame of frames) {
      const pending = this.pending;
      if (pending === undefined) {
        this.fail(failure(`guest agent sent an unsolicited ${frame.type} frame`));
        return;
      }
      if (frame.type === 'ERROR') {
        // A well-formed refusal: the stream is still in step, so only this request fails.
        pending.reject(
          new FaasError('FAAS_ERR_SANDBOX_FAILURE', `guest agent refused the request: ${frame.code}: ${frame.message}`, {
            details: { agentCode: frame.code },
          }),
        );
      } else if (frame.type !== pending.expect) {
        this.fail(failure(`guest agent answered with ${frame.type} where ${pending.expect} was expected`));
        return;
      } else {
        pending.resolve(frame);
      }
    }
  }

  /** `err` is what later requests get; the request in flight gets `pendingErr` when given. */
  private fail(err: Error, pendingErr: Error = err): void {
    if (this.failed === undefined) {
      this.failed = err;
      this.stream.destroy();
    }
    this.pending?.reject(pendingErr);
  }
}

function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : failure('the request was aborted');
}
