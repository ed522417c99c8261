/**
 * Warm sandboxes. Sandboxes are started ahead of demand and handed out through the executor
 * lifecycle, so an invocation that finds one ready costs a request to the guest agent instead of a
 * container or VM start.
 *
 * Two modes, with isolation rules users can rely on:
 * - single-use: a sandbox runs exactly one invocation and is destroyed after it. Spares are keyed by
 *   (executor, image, limits) only, because a sandbox that never ran anything carries nothing of any
 *   function.
 * - reuse: after an invocation, the executor's release() kills every process the invocation started
 *   and resets writable scratch; the sandbox then serves later invocations of the SAME function only
 *   (keyed by function id as well). If release fails, the sandbox is destroyed instead.
 *
 * The pool keeps `minIdle` sandboxes per recently used key, refills in the background, expires spares
 * idle for longer than `idleMs`, and never holds more than `maxIdle` idle sandboxes in total: when
 * the cap is reached, the idle sandbox of the least recently used other key is destroyed to make
 * room, so a busy function is never starved by spares nobody calls. What counts toward `minIdle`
 * differs by mode: in single-use mode every invocation consumes its sandbox, so a key keeps
 * `minIdle` spares besides those in use; in reuse mode a sandbox in use or being reset comes back
 * to its key, so it counts, and a function called serially holds `minIdle` sandboxes in all (no
 * spare is started for a sandbox that is about to come back).
 *
 * Spares can die while they wait (killed from outside, their engine restarted). The sandbox source
 * tells the pool as soon as the executor knows (`onLost`, `onBackendDown`, `onBackendUp`), and the
 * pool asks the executor's `alive` before handing one out, for deaths no event reported: a dead
 * spare is destroyed and replaced, never handed out. After an outage or a loss the pool says it is
 * `rebuilding` until every key in use has its spares again.
 *
 * An image name can come to name another image (re-tagged, rebuilt, pulled over, removed): the
 * executor says so (`onImageChanged`), and from then on no sandbox started from the old image is
 * handed out. Its idle spares are destroyed at once, spares being started are destroyed when they
 * are ready, and a sandbox in use is destroyed after its invocation instead of being kept (the pool
 * counts each name's changes; a sandbox carries the count it was started at).
 */
import type { Logger } from '@faas/common';
import type { Executor, Sandbox, SandboxSpec } from '@faas/executor';

export type PoolMode = 'single-use' | 'reuse';

export interface PoolOptions {
  mode: PoolMode;
  /**
   * Sandboxes kept per key that was used within `idleMs`: single-use, spares ready besides those in
   * use; reuse, the key's sandboxes in all (idle, starting, in use or being reset).
   */
  minIdle: number;
  /** Idle sandboxes across all keys; beyond it, the least recently used key's idle sandbox is evicted. */
  maxIdle: number;
  /** A spare unused for this long is destroyed; a key unused for this long is no longer refilled. */
  idleMs: number;
  /** Sandboxes being started at once per key, so refills cannot starve invocations. */
  refillConcurrency: number;
  logger: Logger;
}

interface Idle {
  sandbox: Sandbox;
  since: number;
}

interface KeyState {
  spec: SandboxSpec;
  idle: Idle[];
  starting: number;
  /** Sandboxes of this key being reset after an invocation (reuse mode). */
  resetting: number;
  /**
   * Sandboxes of this key handed out and not yet released, and invocations waiting for one (their
   * sandbox is on its way). In reuse mode they come back to the key, so refills count them.
   */
  inUse: number;
  /** Invocations waiting for a sandbox that is being reset. */
  waiters: Array<(sandbox: Sandbox | undefined) => void>;
  lastUsed: number;
  /** After a spare failed to start (an image that cannot be had, an engine fault): no refill until then. */
  refillAfter: number;
  /** How long a spare of this key takes to start, ms (moving average; undefined before the first). */
  startMs?: number;
}

/** How long a key whose spare failed to start gets no refill; the invocation path still tries on demand. */
const REFILL_BACKOFF_MS = 30_000;

/** How long an invocation waits for a sandbox being reset before starting a new one. */
const RESET_WAIT_MS = 1000;
/** The longest a miss waits for a spare already being started (VMs that boot slowly). */
const MAX_START_WAIT_MS = 10_000;

export interface PoolStats {
  idle: number;
  starting: number;
  keys: number;
  hits: number;
  misses: number;
  /** Idle sandboxes destroyed to make room for a more recently used key. */
  evictions: number;
  /** Idle sandboxes found dead (killed from outside, lost with their engine) and replaced. */
  lost: number;
  /** True from an engine outage or a lost spare until every key in use has its spares again. */
  rebuilding: boolean;
  /** Sandboxes destroyed, never handed out again, because their image name came to name another image. */
  stale: number;
}

export class SandboxPool {
  private readonly keys = new Map<string, KeyState>();
  private readonly timer: NodeJS.Timeout;
  private closed = false;
  private hits = 0;
  private misses = 0;
  private evictions = 0;
  private lost = 0;
  /** Set by an outage or a loss; cleared once every key in use has `minIdle` spares. */
  private rebuildingSince: number | undefined;
  /** The executor's backend is down: spares cannot be started, so none are tried. */
  private backendDown = false;
  private readonly pending = new Set<Promise<unknown>>();
  /**
   * Per image name, how many times it came to name another image (see `onImageChanged`), and the
   * count each sandbox was started at: a sandbox whose count is behind its image's is stale. Kept
   * per name, not per key, so a key forgotten and made again meanwhile cannot hide a change.
   */
  private readonly imageGenerations = new Map<string, number>();
  private readonly generations = new WeakMap<Sandbox, number>();
  /** Sandboxes destroyed because their image name came to name another image. */
  private stale = 0;

  constructor(
    private readonly executor: Executor,
    private readonly options: PoolOptions,
  ) {
    this.timer = setInterval(() => this.sweep(), Math.max(250, Math.min(options.idleMs / 4, 10_000)));
    this.timer.unref();
  }

  get stats(): PoolStats {
    let idle = 0;
    let starting = 0;
    for (const state of this.keys.values()) {
      idle += state.idle.length;
      starting += state.starting;
    }
    return {
      idle,
      starting,
      keys: this.keys.size,
      hits: this.hits,
      misses: this.misses,
      evictions: this.evictions,
      lost: this.lost,
      rebuilding: this.isRebuilding(),
      stale: this.stale,
    };
  }

  /** Whether the pool is still refilling after an outage or a loss (and clears the flag once full). */
  private isRebuilding(): boolean {
    if (this.rebuildingSince === undefined) return false;
    if (this.backendDown || this.closed) return !this.closed;
    const now = Date.now();
    for (const state of this.keys.values()) {
      if (now - state.lastUsed > this.options.idleMs) continue;
      // A key whose spares cannot be started now (its image is gone, say) is not being rebuilt.
      if (now < state.refillAfter) continue;
      if (state.idle.length + this.comingBack(state) < this.options.minIdle) return true;
    }
    this.rebuildingSince = undefined;
    return false;
  }

  /** A sandbox died: if it is a spare, it is dropped and replaced at once. */
  onLost(sandbox: Sandbox): void {
    for (const state of this.keys.values()) {
      const index = state.idle.findIndex((entry) => entry.sandbox.id === sandbox.id);
      if (index < 0) continue;
      const [entry] = state.idle.splice(index, 1);
      if (entry) this.dropDead(entry.sandbox);
      // The replacement is not held back by an earlier failure to start one.
      state.refillAfter = 0;
      this.refill(state);
      return;
    }
  }

  /**
   * `image` names another image now: idle spares of it are destroyed (and replaced, for keys in
   * use), spares being started and sandboxes in use are destroyed once they come back.
   */
  onImageChanged(image: string): void {
    this.imageGenerations.set(image, this.generationOf(image) + 1);
    const now = Date.now();
    for (const state of this.keys.values()) {
      if (state.spec.image !== image) continue;
      const idle = state.idle.splice(0);
      this.stale += idle.length;
      for (const entry of idle) this.track(this.executor.destroy(entry.sandbox).catch(() => undefined));
      // The image that could not be had may be there now.
      state.refillAfter = 0;
      if (now - state.lastUsed <= this.options.idleMs) this.refill(state);
    }
  }

  private generationOf(image: string): number {
    return this.imageGenerations.get(image) ?? 0;
  }

  /** True when the sandbox was started from an image its name no longer names. */
  private isStale(sandbox: Sandbox): boolean {
    const generation = this.generations.get(sandbox);
    return generation !== undefined && generation !== this.generationOf(sandbox.spec.image);
  }

  /** The backend went away: no spare is started until it is back. */
  onBackendDown(): void {
    this.backendDown = true;
    this.rebuildingSince ??= Date.now();
  }

  /** The backend is back (dead spares were reported first): every key in use is refilled now. */
  onBackendUp(): void {
    this.backendDown = false;
    this.rebuildingSince ??= Date.now();
    const now = Date.now();
    for (const state of this.keys.values()) {
      state.refillAfter = 0;
      if (now - state.lastUsed <= this.options.idleMs) this.refill(state);
    }
  }

  private dropDead(sandbox: Sandbox): void {
    this.lost++;
    this.rebuildingSince ??= Date.now();
    this.options.logger.info({ sandbox: sandbox.id }, 'dropped a dead spare sandbox');
    this.track(this.executor.destroy(sandbox).catch(() => undefined));
  }

  /** The newest idle spare of a key that is still alive; dead ones met on the way are dropped. */
  private takeIdle(state: KeyState): Idle | undefined {
    for (let entry = state.idle.pop(); entry; entry = state.idle.pop()) {
      if (this.executor.alive(entry.sandbox)) return entry;
      this.dropDead(entry.sandbox);
    }
    return undefined;
  }

  private keyOf(spec: SandboxSpec): string {
    const { limits } = spec;
    const base = `${spec.image}|${limits.memoryBytes}|${limits.cpus}|${limits.pids}|${limits.tmpBytes}|${limits.outputBytes}`;
    return this.options.mode === 'reuse' ? `${spec.functionId}|${base}` : base;
  }

  /** Hands out a ready sandbox for `spec`, or starts one if none is ready. */
  async acquire(spec: SandboxSpec, signal?: AbortSignal): Promise<Sandbox> {
    const key = this.keyOf(spec);
    let state = this.keys.get(key);
    if (!state) {
      state = this.newKey(spec);
      this.keys.set(key, state);
    }
    state.lastUsed = Date.now();
    // Counted from here: in reuse mode the sandbox this invocation gets, wherever it comes from,
    // is one of the key's, and no refill starts a spare for it.
    state.inUse++;
    let handedOut = false;
    try {
      const ready = this.takeIdle(state);
      if (ready) {
        // The refill waits for release(): starting a container now would compete for the CPU with
        // the invocation it is meant to speed up.
        this.hits++;
        handedOut = true;
        return ready.sandbox;
      }
      this.refill(state);
      // A sandbox being reset (reuse mode: the function's own, usually a millisecond away) or a
      // spare already being started is nearer than one started now: wait for it. Under sustained
      // load a miss that started its own sandbox would compete for the CPU with the refills that
      // are about to serve it, and every later invocation would pay for both.
      const nearer = state.resetting + (state.startMs === undefined ? 0 : state.starting);
      if (nearer > state.waiters.length) {
        // A start that takes twice as long as usual is not waited for any longer.
        const waitMs = Math.max(RESET_WAIT_MS, Math.min(2 * (state.startMs ?? 0), MAX_START_WAIT_MS));
        const ready = await this.waitFor(state, waitMs);
        if (ready) {
          this.hits++;
          handedOut = true;
          return ready;
        }
      }
      this.misses++;
      // A single-use miss gains nothing from a sandbox built to stay warm: take the cold path.
      const generation = this.generationOf(spec.image);
      const sandbox = await this.executor.acquire(this.options.mode === 'single-use' ? { ...spec, oneShot: true } : spec, signal);
      this.generations.set(sandbox, generation);
      handedOut = true;
      return sandbox;
    } finally {
      // None came (the start failed, the caller gave up): the next acquire or sweep refills the key.
      if (!handedOut) state.inUse--;
    }
  }

  private newKey(spec: SandboxSpec): KeyState {
    // Spares are started for the key, not for the invocation that created it.
    const { invocationId: _invocation, oneShot: _oneShot, ...shared } = spec;
    return { spec: shared, idle: [], starting: 0, resetting: 0, inUse: 0, waiters: [], lastUsed: Date.now(), refillAfter: 0 };
  }

  private waitFor(state: KeyState, timeoutMs: number): Promise<Sandbox | undefined> {
    return new Promise((resolve) => {
      const waiter = (sandbox: Sandbox | undefined) => {
        clearTimeout(timer);
        resolve(sandbox);
      };
      const timer = setTimeout(() => {
        const index = state.waiters.indexOf(waiter);
        if (index >= 0) state.waiters.splice(index, 1);
        resolve(undefined);
      }, timeoutMs);
      state.waiters.push(waiter);
    });
  }

  /** Gives a reset or newly started sandbox to the oldest waiter, or parks it as idle. */
  private returnSandbox(state: KeyState, sandbox: Sandbox): boolean {
    if (!this.executor.alive(sandbox)) {
      // Whoever waited for it starts a new one now instead of waiting out the timer.
      state.waiters.shift()?.(undefined);
      return false;
    }
    const waiter = state.waiters.shift();
    if (waiter) {
      waiter(sandbox);
      return true;
    }
    if (this.closed || !this.makeRoom(state)) return false;
    state.idle.push({ sandbox, since: Date.now() });
    return true;
  }

  /**
   * Takes a sandbox back after an invocation. `healthy` is false when the invocation failed in the
   * platform (timeout, agent fault): such a sandbox is always destroyed.
   */
  async release(sandbox: Sandbox, healthy: boolean): Promise<void> {
    // A key is never forgotten while one of its sandboxes is out (sweep), so this is its owner.
    const state = this.keys.get(this.keyOf(sandbox.spec));
    if (state) state.inUse = Math.max(0, state.inUse - 1);
    const stale = this.isStale(sandbox);
    const keep = this.options.mode === 'reuse' && healthy && sandbox.reusable && !this.closed && !stale;
    // Counted before the refill: a sandbox being reset is about to be ready again (reuse mode), so
    // no spare is started for it. One that is not kept (every single-use sandbox) is replaced now.
    if (keep && state) state.resetting++;
    if (state) this.refill(state);
    if (!keep) {
      if (stale && this.options.mode === 'reuse') this.stale++;
      await this.executor.destroy(sandbox);
      return;
    }
    let reset = false;
    try {
      await this.executor.release(sandbox);
      reset = true;
    } catch (err) {
      this.options.logger.warn({ sandbox: sandbox.id, err: (err as Error).message }, 'reset failed; destroying sandbox');
      // Whoever waited for this sandbox starts a new one now instead of waiting out the timer.
      state?.waiters.shift()?.(undefined);
    } finally {
      if (state) state.resetting--;
    }
    const stillStale = reset && this.isStale(sandbox);
    if (stillStale) {
      this.stale++;
      state?.waiters.shift()?.(undefined);
    }
    if (reset && !stillStale && state && this.returnSandbox(state, sandbox)) return;
    // It did not come back after all (reset failed, stale, dead, no room): the key is short of it.
    if (state) this.refill(state);
    await this.executor.destroy(sandbox);
  }

  /**
   * True if one more idle sandbox fits for `state`, evicting the oldest idle sandbox of the least
   * recently used other key when the total cap is reached.
   */
  private makeRoom(state: KeyState): boolean {
    if (this.totalIdle() < this.options.maxIdle) return true;
    let victim: KeyState | undefined;
    for (const other of this.keys.values()) {
      if (other === state || other.idle.length === 0) continue;
      if (!victim || other.lastUsed < victim.lastUsed) victim = other;
    }
    // Only a key used less recently than this one gives up its sandbox.
    if (!victim || victim.lastUsed > state.lastUsed) return false;
    const evicted = victim.idle.shift();
    if (!evicted) return false;
    this.evictions++;
    this.track(this.executor.destroy(evicted.sandbox).catch(() => undefined));
    return true;
  }

  private totalIdle(): number {
    let total = 0;
    for (const state of this.keys.values()) total += state.idle.length + state.starting;
    return total;
  }

  /**
   * Sandboxes of a key that are neither idle nor being started and will come back to it: in reuse
   * mode, those in use (and invocations waiting for one) and those being reset; none in
   * single-use mode, where every sandbox handed out is destroyed after its invocation.
   */
  private comingBack(state: KeyState): number {
    return this.options.mode === 'reuse' ? state.inUse + state.resetting : 0;
  }

  /**
   * Starts spares in the background until the key has `minIdle`: single-use, ready or starting;
   * reuse, in all (ready, starting, in use or being reset).
   */
  private refill(state: KeyState): void {
    if (Date.now() < state.refillAfter || this.backendDown) return;
    while (
      !this.closed &&
      // Counting the sandboxes that come back keeps a busy reuse-mode function's pool from growing
      // by a container per invocation.
      state.idle.length + state.starting + this.comingBack(state) < this.options.minIdle &&
      state.starting < this.options.refillConcurrency &&
      this.makeRoom(state)
    ) {
      state.starting++;
      const since = performance.now();
      const generation = this.generationOf(state.spec.image);
      const started = this.executor
        .acquire(state.spec)
        .then(
          async (sandbox) => {
            if (this.closed) return this.executor.destroy(sandbox);
            if (generation !== this.generationOf(state.spec.image)) {
              // Started from the image the name named before: the refill that follows starts anew,
              // and whoever waited for this spare starts its own now.
              this.stale++;
              state.waiters.shift()?.(undefined);
              return this.executor.destroy(sandbox);
            }
            this.generations.set(sandbox, generation);
            const took = performance.now() - since;
            state.startMs = state.startMs === undefined ? took : 0.8 * state.startMs + 0.2 * took;
            const waiter = state.waiters.shift();
            if (waiter) waiter(sandbox);
            else state.idle.unshift({ sandbox, since: Date.now() });
          },
          (err: unknown) => {
            if (Date.now() >= state.refillAfter) {
              this.options.logger.warn(
                { image: state.spec.image, err: (err as Error).message, retryInMs: REFILL_BACKOFF_MS },
                'could not start a spare sandbox; no more spares for this image for a while',
              );
            }
            state.refillAfter = Date.now() + REFILL_BACKOFF_MS;
            // Whoever waited for this spare starts its own now instead of waiting out the timer.
            state.waiters.shift()?.(undefined);
          },
        )
        .finally(() => {
          state.starting--;
          // Keep going until the key has its spares: a refill starts at most refillConcurrency
          // at once, and nothing else may come along to start the rest (an idle platform).
          if (!this.closed && Date.now() - state.lastUsed <= this.options.idleMs) this.refill(state);
        });
      this.track(started);
    }
  }

  /** Expires idle spares and forgets keys nobody used for `idleMs`. */
  private sweep(): void {
    const now = Date.now();
    for (const [key, state] of this.keys) {
      // Spares that died without a word (an event the backend never sent) are replaced now, not
      // when an invocation happens to draw them.
      const dead = state.idle.filter((entry) => !this.executor.alive(entry.sandbox));
      if (dead.length > 0) {
        state.idle = state.idle.filter((entry) => !dead.includes(entry));
        for (const entry of dead) this.dropDead(entry.sandbox);
      }
      const expired = state.idle.filter((entry) => now - entry.since > this.options.idleMs);
      if (expired.length > 0) {
        state.idle = state.idle.filter((entry) => !expired.includes(entry));
        for (const entry of expired) this.track(this.executor.destroy(entry.sandbox).catch(() => undefined));
      }
      if (now - state.lastUsed > this.options.idleMs) {
        // Never while a sandbox of the key is out: its release counts it back to this key.
        const out = state.inUse + state.resetting + state.waiters.length;
        if (state.idle.length === 0 && state.starting === 0 && out === 0) this.keys.delete(key);
      } else {
        this.refill(state);
      }
    }
  }

  /** Starts `minIdle` spares for a spec now, e.g. for images named at start-up. */
  prewarm(spec: SandboxSpec): void {
    const key = this.keyOf(spec);
    let state = this.keys.get(key);
    if (!state) {
      state = this.newKey(spec);
      this.keys.set(key, state);
    }
    this.refill(state);
  }

  private track(promise: Promise<unknown>): void {
    this.pending.add(promise);
    promise.finally(() => this.pending.delete(promise)).catch(() => undefined);
  }

  /** Destroys every idle sandbox and waits for spares being started. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await Promise.allSettled([...this.pending]);
    for (const state of this.keys.values()) for (const waiter of state.waiters.splice(0)) waiter(undefined);
    const idle = [...this.keys.values()].flatMap((state) => state.idle.splice(0));
    await Promise.allSettled(idle.map((entry) => this.executor.destroy(entry.sandbox)));
    this.keys.clear();
  }
}
