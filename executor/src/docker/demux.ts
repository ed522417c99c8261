/**
 * Splits Docker's multiplexed attach stream (used when the container has no TTY): each frame is an
 * 8-byte header [stream, 0, 0, 0, size (u32 big-endian)] followed by `size` bytes.
 */
export type DockerStream = 'stdout' | 'stderr';

export class DockerDemuxer {
  private pending: Buffer = Buffer.alloc(0);

  constructor(private readonly onFrame: (stream: DockerStream, data: Buffer) => void) {}

  write(chunk: Buffer): void {
    let buf = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    while (buf.length >= 8) {
      const size = buf.readUInt32BE(4);
      if (buf.length < 8 + size) break;
      const type = buf[0];
      // 1 = stdout, 2 = stderr; 0 (stdin echo) and anything else are dropped.
      if (type === 1 || type === 2) this.onFrame(type === 1 ? 'stdout' : 'stderr', buf.subarray(8, 8 + size));
      buf = buf.subarray(8 + size);
    }
    // Copy the tail so we do not pin the whole chunk while waiting for the rest of a frame.
    this.pending = buf.length > 0 ? Buffer.from(buf) : Buffer.alloc(0);
  }
}
