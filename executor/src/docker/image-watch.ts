/**
 * Tells an executor when an image name it started sandboxes from now names a different image:
 * re-tagged, rebuilt (`docker build -t` moves the tag), pulled, loaded or imported over it, or
 * removed. Sandboxes started before keep the old image's files, so spares of that name are stale
 * from then on (the pool drops them: orchestrator/src/pool.ts).
 *
 * The executor reports each name with the image id it resolved when it started a sandbox
 * (`seen`). Names are compared by id, never by the event's own fields: the engine's image events
 * say little and differently per action (`tag` names the new reference, `untag` and `delete` only
 * an id), so any of them makes the watch resolve every name it knows again (`recheck`, one image
 * inspect each), and a name whose id differs, that no longer resolves or that resolves again, is
 * reported once (`onChanged`). Each event first tells the executor to drop what it remembers of
 * image names (`onEvent`), so that no sandbox started after the event comes from a stale lookup;
 * a sandbox whose lookup was already under way is caught by the comparison that follows. Events come from the engine's stream (`GET /events`, type image: Docker Engine
 * API, "Monitor events"); when the stream comes back after the engine was down, every name is
 * checked again, since events were missed meanwhile. Names the executor resolves elsewhere (an
 * OCI image layout) are checked when it calls `recheck` itself.
 */
import type { Logger } from '@faas/common';
import type { DockerEngine } from './engine.js';
import { EngineWatch } from './engine-watch.js';

/** Image actions after which a name may resolve to another image (pushes and saves do not). */
export const IMAGE_CHANGE_ACTIONS = ['tag', 'untag', 'delete', 'pull', 'load', 'import'] as const;

/** A burst of events (a build tags, untags and deletes) costs one round of inspects. */
const DEBOUNCE_MS = 20;
/** A name no live sandbox uses and nobody asked for this long is forgotten. */
const FORGET_AFTER_MS = 60 * 60_000;

export interface ImageWatchOptions {
  /** The engine whose image events are followed; without one, only `recheck` calls check. */
  engine?: DockerEngine;
  /**
   * The id `name` resolves to now; undefined when it no longer resolves (removed). Throws when it
   * cannot tell (the engine is down): the name is then kept as it was and checked again later.
   */
  resolve(name: string): Promise<string | undefined>;
  /** True while a live sandbox of the executor was started from `name`. */
  inUse(name: string): boolean;
  /** `name` names another image than the one reported by `seen`, or none, or one again. */
  onChanged(name: string): void;
  /**
   * An image event arrived: what the executor remembers of image names (ids, settings) may be
   * stale from now on, before the names are resolved again. Called at once, for every event.
   */
  onEvent?(): void;
  log: Logger;
}

interface Known {
  /** The image id the name resolved to last; undefined: it resolved to none (removed). */
  id: string | undefined;
  at: number;
}

export class ImageWatch {
  private readonly known = new Map<string, Known>();
  private stream: EngineWatch | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  /** An event arrived while a check ran: one more round once it ends. */
  private again = false;
  private closed = false;

  constructor(private readonly options: ImageWatchOptions) {}

  /** Follows the engine's image events (a no-op without an engine). */
  start(): void {
    const { engine } = this.options;
    if (!engine || this.stream || this.closed) return;
    this.stream = new EngineWatch(
      engine,
      { type: ['image'], event: [...IMAGE_CHANGE_ACTIONS] },
      {
        onEvent: () => {
          this.options.onEvent?.();
          this.soon();
        },
        onDown: () => undefined,
        // Events were missed while the stream was down.
        onUp: () => {
          this.options.onEvent?.();
          this.soon();
        },
      },
      1000,
    );
    this.stream.start();
  }

  /**
   * A sandbox of `name` was started from image `id`. A different id than the one known means the
   * name changed and nobody said so yet (no event stream, or it trails): reported now.
   */
  seen(name: string, id: string): void {
    const known = this.known.get(name);
    this.known.set(name, { id, at: Date.now() });
    if (known && known.id !== id) this.report(name);
  }

  /** Resolves every known name (or those `which` picks) again and reports the ones that changed. */
  recheck(which: (name: string) => boolean = () => true): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    const pass = (async () => {
      do {
        this.again = false;
        await this.checkAll(which);
      } while (this.again && !this.closed);
    })();
    this.running = pass.finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private soon(): void {
    if (this.timer || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.recheck();
    }, DEBOUNCE_MS);
    this.timer.unref();
  }

  private async checkAll(which: (name: string) => boolean): Promise<void> {
    const now = Date.now();
    const names = [...this.known.keys()].filter(which);
    await Promise.all(
      names.map(async (name) => {
        const known = this.known.get(name);
        if (!known) return;
        let id: string | undefined;
        try {
          id = await this.options.resolve(name);
        } catch (err) {
          this.options.log.debug({ image: name.slice(0, 200), err: (err as Error).message }, 'could not check an image name');
          return;
        }
        // What the name resolves to now is compared with the latest id a sandbox was started from,
        // which may have been reported while the lookup ran (from an image resolved before the
        // change): that one is stale as well, and is reported.
        const current = this.known.get(name);
        if (!current) return;
        if (id === current.id) {
          if (now - current.at > FORGET_AFTER_MS && !this.options.inUse(name)) this.known.delete(name);
          return;
        }
        // A name that no longer resolves is kept, so that its return (a re-tag, a load) is news too.
        this.known.set(name, { id, at: current.at });
        this.report(name);
      }),
    );
  }

  private report(name: string): void {
    if (this.closed) return;
    this.options.log.info({ image: name.slice(0, 200) }, 'image name now names another image; its warm sandboxes are stale');
    this.options.onChanged(name);
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.stream?.close();
  }
}
