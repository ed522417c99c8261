/**
 * Which block the operator has finished: every call in it and before it answered (or given up).
 * Calls run concurrently and finish out of order; the watermark is one below the oldest block that
 * still has a call in flight, or the last block scanned when none is. It is what gets persisted, so
 * a restart re-reads at most the blocks whose calls were unfinished (and skips the finished ones by
 * their records). A reorg deeper than the confirmation depth rewinds it to below the blocks read
 * again, and the saved block follows it back (SavedWatermark), so that a restart during the re-scan
 * still reads them.
 */
export class Watermark {
  private readonly pending = new Map<bigint, number>();

  constructor(private scannedTo: bigint) {}

  /** A call found in `block` is in flight. */
  add(block: bigint): void {
    this.pending.set(block, (this.pending.get(block) ?? 0) + 1);
  }

  /** A call of `block` is finished. */
  done(block: bigint): void {
    const left = (this.pending.get(block) ?? 1) - 1;
    if (left <= 0) this.pending.delete(block);
    else this.pending.set(block, left);
  }

  /** Every log up to `block` has been read (and its calls added). */
  scanned(block: bigint): void {
    if (block > this.scannedTo) this.scannedTo = block;
  }

  /** The blocks after `block` are to be read again (a reorg replaced them): nothing after it counts as finished. */
  rewind(block: bigint): void {
    if (block < this.scannedTo) this.scannedTo = block;
  }

  /** Calls in flight. */
  get inFlight(): number {
    let n = 0;
    for (const count of this.pending.values()) n += count;
    return n;
  }

  get lastScanned(): bigint {
    return this.scannedTo;
  }

  /** The last block whose calls are all finished. */
  get value(): bigint {
    let oldest: bigint | undefined;
    for (const block of this.pending.keys()) if (oldest === undefined || block < oldest) oldest = block;
    return oldest === undefined || oldest - 1n > this.scannedTo ? this.scannedTo : oldest - 1n;
  }
}

/**
 * Saves a watermark's value (the block a restart resumes after) whenever it changed, forward as
 * calls finish and back when a reorg rewinds it; writes are serial, and a failed one is tried again
 * at the next save.
 */
export class SavedWatermark {
  private saved: bigint | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    readonly watermark: Watermark,
    private readonly write: (block: bigint) => Promise<void>,
    saved: bigint | undefined,
    private readonly onError: (err: unknown) => void = () => undefined,
  ) {
    this.saved = saved;
  }

  /** The value last written. */
  get value(): bigint | undefined {
    return this.saved;
  }

  save(): Promise<void> {
    this.writing = this.writing.then(async () => {
      const value = this.watermark.value;
      if (value === this.saved) return;
      try {
        await this.write(value);
        this.saved = value;
      } catch (err) {
        this.onError(err);
      }
    });
    return this.writing;
  }
}
