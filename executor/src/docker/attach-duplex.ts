/**
 * A container's hijacked attach stream (Tty false) as a plain byte stream to the process inside:
 * writes go to the container's stdin unchanged; Docker's multiplexed output (8-byte headers,
 * demux.ts) is split so that only stdout reaches the reader. stderr frames are handed to
 * `onStderr` up to a byte budget and dropped after it, so a chatty or hostile process cannot
 * grow host memory. Used for guest agents started with `--stdio` (gVisor sandboxes, whose
 * sockets the host cannot see).
 */
import net from 'node:net';
import { Duplex } from 'node:stream';
import { DockerDemuxer } from './demux.js';

export interface AttachDuplexOptions {
  /** Receives stderr bytes (agent logs) until `maxStderrBytes` have been passed on. */
  onStderr?: (data: Buffer) => void;
  /** stderr bytes passed to `onStderr` over the stream's life; the rest are dropped (default 64 KiB). */
  maxStderrBytes?: number;
}

export const DEFAULT_MAX_STDERR_BYTES = 64 * 1024;

export class AttachDuplex extends Duplex {
  private readonly raw: Duplex;
  private stderrLeft: number;
  /** stderr bytes dropped after the budget ran out. */
  stderrDropped = 0;

  constructor(raw: Duplex, options: AttachDuplexOptions = {}) {
    super({ allowHalfOpen: false });
    this.raw = raw;
    this.stderrLeft = options.maxStderrBytes ?? DEFAULT_MAX_STDERR_BYTES;
    const onStderr = options.onStderr;
    if (raw instanceof net.Socket) {
      // The socket came out of an HTTP request whose timeout must not end an idle sandbox, and
      // requests are small frames that must not wait for Nagle.
      raw.setTimeout(0);
      raw.setNoDelay(true);
    }
    const demux = new DockerDemuxer((stream, data) => {
      if (stream === 'stdout') {
        if (!this.push(data)) raw.pause();
        return;
      }
      const keep = Math.min(data.length, this.stderrLeft);
      this.stderrLeft -= keep;
      this.stderrDropped += data.length - keep;
      if (keep > 0) onStderr?.(data.subarray(0, keep));
    });
    raw.on('data', (chunk: Buffer) => {
      try {
        demux.write(chunk);
      } catch (err) {
        this.destroy(err as Error);
      }
    });
    let ended = false;
    raw.on('end', () => {
      ended = true;
      this.push(null);
    });
    raw.on('error', (err) => this.destroy(err));
    // A close without a clean end (the engine dropped the connection) ends this stream at once.
    raw.on('close', () => {
      if (!ended) this.destroy();
    });
  }

  override _read(): void {
    this.raw.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    this.raw.write(chunk, callback);
  }

  override _final(callback: (err?: Error | null) => void): void {
    this.raw.end();
    callback();
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    this.raw.destroy();
    callback(err);
  }
}
