/**
 * Captures a command's output with a hard cap per stream. Past the cap we keep draining (so the
 * command never blocks on a full pipe) but drop the bytes and remember that we did.
 */
export class OutputCollector {
  private readonly parts = { stdout: [] as Buffer[], stderr: [] as Buffer[], combined: [] as Buffer[] };
  private readonly sizes = { stdout: 0, stderr: 0, combined: 0 };
  truncated = false;

  constructor(private readonly limitBytes: number) {}

  push(stream: 'stdout' | 'stderr', chunk: Buffer): void {
    this.append(stream, chunk);
    this.append('combined', chunk);
  }

  private append(key: 'stdout' | 'stderr' | 'combined', chunk: Buffer): void {
    const room = this.limitBytes - this.sizes[key];
    if (room <= 0) {
      if (chunk.length > 0) this.truncated = true;
      return;
    }
    const kept = chunk.length > room ? chunk.subarray(0, room) : chunk;
    if (kept.length < chunk.length) this.truncated = true;
    this.parts[key].push(kept);
    this.sizes[key] += kept.length;
  }

  get stdout(): Buffer {
    return Buffer.concat(this.parts.stdout, this.sizes.stdout);
  }

  get stderr(): Buffer {
    return Buffer.concat(this.parts.stderr, this.sizes.stderr);
  }

  get combined(): Buffer {
    return Buffer.concat(this.parts.combined, this.sizes.combined);
  }
}
