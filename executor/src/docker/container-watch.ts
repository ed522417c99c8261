/**
 * How the Docker executor learns that its sandboxes died, apart from their agents hanging up: the
 * engine's event stream for the containers of one executor object (engine-watch.ts), and a
 * periodic sweep of the platform's labelled containers (sweep.ts), which also removes leftovers
 * while the platform runs. The stream's end and return are the engine going down and coming back;
 * after it comes back, a sweep reports every sandbox that did not survive before the executor
 * says the engine is back. What a death means for the sandbox is the executor's (`onLost`).
 */
import type { Logger } from '@faas/common';
import { LABEL_INSTANCE } from './container-spec.js';
import type { DockerEngine, EngineEvent } from './engine.js';
import { EngineWatch, FATAL_ACTIONS } from './engine-watch.js';
import { listManaged, planSweep } from './sweep.js';

/** What the watch reads of a sandbox. */
export interface WatchedSandbox {
  readonly id: string;
  containerId: string | undefined;
  /** When it was found dead (Date.now()), once it is. */
  lostAt?: number;
  /** The engine reported an OOM kill in the container (its `oom` event). */
  oomReported?: boolean;
}

export interface ContainerWatchOptions<B extends WatchedSandbox> {
  engine: DockerEngine;
  /** The host label and the executor object's instance label its containers carry. */
  host: string;
  instance: string;
  /** The executor's live sandboxes, by sandbox id. */
  live: ReadonlyMap<string, B>;
  /** How often to sweep (0: only at start-up and after the engine comes back). */
  sweepIntervalMs: number;
  log: Logger;
  onLost(sandbox: B, reason: string): void;
  onEngineDown(reason: string): void;
  onEngineUp(): void;
  removeContainer(id: string): Promise<void>;
}

/**
 * How long a lost sandbox's container is left to its holder, which destroys it, before a sweep
 * removes it anyway (the holder may still be reading the engine's OOM record there).
 */
const LOST_REMOVAL_GRACE_MS = 2_000;

export class ContainerWatch<B extends WatchedSandbox> {
  /** Container id -> sandbox, for the engine's events. */
  private readonly byContainer = new Map<string, B>();
  private stream: EngineWatch | undefined;
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<void> | undefined;
  private closed = false;

  constructor(private readonly options: ContainerWatchOptions<B>) {}

  /** Starts the event stream and the periodic sweep. */
  start(): void {
    if (this.stream || this.closed) return;
    const { options } = this;
    const filters = { type: ['container'], event: [...FATAL_ACTIONS, 'oom'], label: [`${LABEL_INSTANCE}=${options.instance}`] };
    this.stream = new EngineWatch(options.engine, filters, {
      onEvent: (event) => this.onEvent(event),
      onDown: (reason) => options.onEngineDown(reason),
      onUp: () => {
        void this.sweep()
          .catch((err: Error) => options.log.warn({ err: err.message }, 'sandbox sweep failed'))
          .finally(() => options.onEngineUp());
      },
    });
    this.stream.start();
    if (options.sweepIntervalMs > 0) {
      this.timer = setInterval(() => {
        if (this.stream?.engineDown) return;
        this.sweep().catch((err: Error) => options.log.debug({ err: err.message }, 'sandbox sweep failed'));
      }, options.sweepIntervalMs);
      this.timer.unref();
    }
  }

  /** The container now exists (created): its events are the sandbox's. */
  register(containerId: string, sandbox: B): void {
    this.byContainer.set(containerId, sandbox);
  }

  forget(containerId: string): void {
    this.byContainer.delete(containerId);
  }

  /** True when the engine reported an OOM kill in the container. */
  oomReported(containerId: string): boolean {
    return this.byContainer.get(containerId)?.oomReported === true;
  }

  private onEvent(event: EngineEvent): void {
    const sandbox = this.byContainer.get(event.Actor?.ID ?? '');
    if (!sandbox || !event.Action) return;
    if (event.Action === 'oom') {
      // Not a death by itself (runc: the function's own process was killed); the OOM record for
      // a sandbox that dies of it (gVisor), should the engine's State trail.
      sandbox.oomReported = true;
      return;
    }
    const attributes = event.Actor?.Attributes ?? {};
    const reason =
      event.Action === 'die'
        ? `its container exited (code ${attributes.exitCode ?? '?'})`
        : event.Action === 'kill'
          ? `its container was sent signal ${attributes.signal ?? '?'} from outside`
          : event.Action === 'pause'
            ? 'its container was paused'
            : 'its container was removed';
    this.options.onLost(sandbox, reason);
  }

  /**
   * Lists the platform's containers once: removes leftovers (this executor's containers that no
   * sandbox holds, a dead platform process's), and reports sandboxes whose container stopped or
   * vanished as lost, removing the container if its holder has not. Returns how many leftovers
   * it removed.
   */
  sweep(): Promise<number> {
    const running = this.sweeping;
    if (running) return running.then(() => 0);
    const { options } = this;
    const pass = (async () => {
      const started = Date.now();
      // Containers that existed before the listing was asked for: one missing from it is gone.
      const known = new Set(this.byContainer.keys());
      const list = await listManaged(options.engine, options.host);
      const plan = planSweep(list, options.instance, (id) => options.live.has(id));
      for (const [id, state] of plan.dead) {
        const sandbox = options.live.get(id);
        if (sandbox) options.onLost(sandbox, `its container is ${state}`);
      }
      for (const sandbox of options.live.values()) {
        if (sandbox.containerId && known.has(sandbox.containerId) && !plan.present.has(sandbox.id)) {
          options.onLost(sandbox, 'its container is gone');
        }
      }
      // Dead containers whose holder has had time to destroy them and has not.
      const dead = [...plan.dead.keys()]
        .map((id) => options.live.get(id))
        .filter((sandbox) => sandbox?.lostAt !== undefined && sandbox.lostAt < started - LOST_REMOVAL_GRACE_MS)
        .map((sandbox) => sandbox?.containerId)
        .filter((c): c is string => !!c);
      await Promise.all([...plan.leftovers, ...dead].map((id) => options.removeContainer(id)));
      if (plan.leftovers.length > 0) options.log.info({ removed: plan.leftovers.length }, 'removed leftover containers');
      return plan.leftovers.length;
    })();
    this.sweeping = pass.then(
      () => undefined,
      () => undefined,
    );
    return pass.finally(() => {
      this.sweeping = undefined;
    });
  }

  /** Stops the stream and the sweeps, and waits for a sweep under way. */
  async close(): Promise<void> {
    this.closed = true;
    this.stream?.close();
    clearInterval(this.timer);
    await this.sweeping;
  }
}
