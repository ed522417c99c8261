/**
 * Keeps the engine's event stream open for the executor's whole life: the events of the platform's
 * own containers (a container that dies, is killed or paused from outside, or is removed), and the
 * engine itself going away and coming back. A stream that ends means the engine is down until a
 * new one opens; reconnecting is a cheap local connect, tried every `retryMs`.
 */
import type { DockerEngine, EngineEvent } from './engine.js';

export interface EngineWatchHandlers {
  onEvent(event: EngineEvent): void;
  /** The stream ended: the engine stopped answering (or restarts). */
  onDown(reason: string): void;
  /** A stream is open again after onDown. */
  onUp(): void;
}

/** Container actions that mean the sandbox is gone or can no longer answer. */
export const FATAL_ACTIONS = ['die', 'kill', 'pause', 'destroy'] as const;

export class EngineWatch {
  private stream: { close(): void } | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private down = false;

  constructor(
    private readonly engine: DockerEngine,
    private readonly filters: Record<string, string[]>,
    private readonly handlers: EngineWatchHandlers,
    private readonly retryMs = 200,
  ) {}

  /** True from a stream's end until the next one opens. */
  get engineDown(): boolean {
    return this.down;
  }

  start(): void {
    this.connect();
  }

  private connect(): void {
    if (this.closed) return;
    this.stream = this.engine.events(this.filters, {
      onOpen: () => {
        if (!this.down || this.closed) return;
        this.down = false;
        this.handlers.onUp();
      },
      onEvent: (event) => {
        if (!this.closed) this.handlers.onEvent(event);
      },
      onEnd: (reason) => {
        if (this.closed) return;
        if (!this.down) {
          this.down = true;
          this.handlers.onDown(reason);
        }
        this.timer = setTimeout(() => this.connect(), this.retryMs);
        this.timer.unref();
      },
    });
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.stream?.close();
  }
}
