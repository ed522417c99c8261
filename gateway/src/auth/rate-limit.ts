/**
 * Per-key request rate limits: a token bucket per API key id, in memory. A bucket holds up to
 * `burst` tokens and refills at `perSecond`; each request takes one. A bucket that has been idle
 * long enough to be full again is indistinguishable from a new one, so it is dropped: memory grows
 * with the keys in use right now, never with every key ever seen. A hard cap bounds it even then
 * (the least recently used buckets go first). One gateway process, one set of buckets: a fleet of
 * gateways would share them through the store.
 */

/**
 * The largest `Retry-After` answered: 2^31 seconds (about 68 years), the value RFC 9111 §1.2.2 has
 * caches use for a delta-seconds too large to represent. A key allowed, say, one request per
 * 10^300 seconds still gets a header of digits rather than `Infinity` or `1e+300`.
 */
export const MAX_RETRY_AFTER_S = 2 ** 31;

export interface RateLimit {
  /** Tokens added per second (> 0). */
  perSecond: number;
  /** The bucket's size: requests allowed at once (≥ 1). */
  burst: number;
}

interface Bucket {
  tokens: number;
  /** When `tokens` was last brought up to date (milliseconds, the limiter's clock). */
  at: number;
  /** When the bucket is full again if nothing takes from it. */
  fullAt: number;
}

export interface RateLimiterOptions {
  /** Most buckets kept at once. */
  maxBuckets?: number;
  /** How often full buckets are swept out (milliseconds). */
  sweepEveryMs?: number;
  /** Milliseconds; monotonic by default, so wall-clock jumps neither refill nor drain buckets. */
  now?: () => number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly maxBuckets: number;
  private readonly sweepEveryMs: number;
  private readonly now: () => number;
  private nextSweep: number;

  constructor(options: RateLimiterOptions = {}) {
    this.maxBuckets = options.maxBuckets ?? 100_000;
    this.sweepEveryMs = options.sweepEveryMs ?? 60_000;
    this.now = options.now ?? (() => performance.now());
    this.nextSweep = this.now() + this.sweepEveryMs;
  }

  /** Buckets held now (for tests and metrics). */
  get size(): number {
    return this.buckets.size;
  }

  /**
   * Takes one token from `id`'s bucket. Returns 0 when the request may go ahead, otherwise the
   * whole seconds (≥ 1, at most MAX_RETRY_AFTER_S) until a token is there: the answer's `Retry-After`.
   */
  take(id: string, limit: RateLimit): number {
    const now = this.now();
    if (now >= this.nextSweep) this.sweep(now);
    let bucket = this.buckets.get(id);
    if (bucket) {
      // Re-inserted on use, so the map's order is least recently used first.
      this.buckets.delete(id);
      bucket.tokens = Math.min(limit.burst, bucket.tokens + ((now - bucket.at) / 1000) * limit.perSecond);
      bucket.at = now;
    } else {
      if (this.buckets.size >= this.maxBuckets) this.evictOldest();
      bucket = { tokens: limit.burst, at: now, fullAt: now };
    }
    this.buckets.set(id, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      bucket.fullAt = now + ((limit.burst - bucket.tokens) / limit.perSecond) * 1000;
      return 0;
    }
    return Math.min(MAX_RETRY_AFTER_S, Math.max(1, Math.ceil((1 - bucket.tokens) / limit.perSecond)));
  }

  /** Forgets `id`'s bucket (a revoked key). */
  forget(id: string): void {
    this.buckets.delete(id);
  }

  /** Drops every bucket that is full again: a fresh one would behave the same. */
  private sweep(now: number): void {
    this.nextSweep = now + this.sweepEveryMs;
    for (const [id, bucket] of this.buckets) {
      if (bucket.fullAt <= now) this.buckets.delete(id);
    }
  }

  /**
   * Makes room for one bucket at the hard cap: the least recently used goes (in O(1); the periodic
   * sweep removes full ones). Only reached with more keys busy at once than the cap.
   */
  private evictOldest(): void {
    const oldest = this.buckets.keys().next();
    if (!oldest.done) this.buckets.delete(oldest.value);
  }
}
