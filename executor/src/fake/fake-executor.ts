/**
 * An in-memory executor for testing policy (pools, limits, the core, outcomes) in milliseconds,
 * in the manner of undici's MockAgent. It starts nothing: `run` decides the facts of each
 * invocation, and every lifecycle call is recorded so tests can assert what policy did.
 */
import type { ExecutorKind } from '@faas/common';
import type { ExecRequest, ExecResult, Executor, ExecutorCapabilities, ExecutorEvent, Sandbox, SandboxSpec } from '../executor.js';
import { ExecutorWatchers, sandboxLost } from '../faults.js';

export interface FakeExecutorOptions {
  kind?: ExecutorKind;
  warm?: boolean;
  /** The facts of one invocation; default: exit 0 with the command echoed on stdout. */
  run?: (request: ExecRequest, sandbox: Sandbox) => Promise<ExecResult> | ExecResult;
  /** Delay of acquire, in ms. */
  acquireMs?: number;
  /** Makes acquire fail with what it returns, when it returns something (an engine that is down). */
  acquireFault?: (spec: SandboxSpec) => Error | undefined;
}

export interface FakeEvent {
  op: 'acquire' | 'invoke' | 'release' | 'destroy';
  sandbox: string;
  functionId: string;
  oneShot?: boolean;
}

export function facts(extra: Partial<ExecResult> = {}): ExecResult {
  const empty = Buffer.alloc(0);
  return { stdout: empty, stderr: empty, combined: empty, exitCode: 0, signal: null, truncated: false, timedOut: false, ...extra };
}

export class FakeExecutor implements Executor {
  readonly kind: ExecutorKind;
  readonly capabilities: ExecutorCapabilities;
  readonly events: FakeEvent[] = [];
  readonly live = new Map<string, Sandbox>();
  readonly requests: ExecRequest[] = [];
  /** Sandboxes that died, with why (see `kill`). */
  readonly lost = new Map<string, string>();
  private readonly watchers = new ExecutorWatchers();
  private next = 0;
  /** How many times each image name was made to name another image (`retag`). */
  private readonly imageVersions = new Map<string, number>();
  /** The image version each sandbox was started from. */
  private readonly startedFrom = new Map<string, number>();

  constructor(private readonly options: FakeExecutorOptions = {}) {
    this.kind = options.kind ?? 'docker';
    this.capabilities = { warm: options.warm ?? true };
  }

  async init(): Promise<void> {}
  async ping(): Promise<void> {}

  async acquire(spec: SandboxSpec, signal?: AbortSignal): Promise<Sandbox> {
    if (this.options.acquireMs) await new Promise((r) => setTimeout(r, this.options.acquireMs));
    signal?.throwIfAborted();
    const fault = this.options.acquireFault?.(spec);
    if (fault) throw fault;
    const sandbox: Sandbox = {
      id: `fake-${++this.next}`,
      executor: this.kind,
      spec,
      reusable: !spec.oneShot,
      image: { env: ['IMAGE=1', 'HOME=/root'], workingDir: undefined },
    };
    this.live.set(sandbox.id, sandbox);
    this.startedFrom.set(sandbox.id, this.imageVersion(spec.image));
    this.events.push({ op: 'acquire', sandbox: sandbox.id, functionId: spec.functionId, ...(spec.oneShot ? { oneShot: true } : {}) });
    return sandbox;
  }

  async invoke(sandbox: Sandbox, request: ExecRequest): Promise<ExecResult> {
    this.events.push({ op: 'invoke', sandbox: sandbox.id, functionId: sandbox.spec.functionId });
    const lost = this.lost.get(sandbox.id);
    if (lost) throw sandboxLost(`sandbox ${sandbox.id} died before the command started: ${lost}`, false);
    this.requests.push(request);
    if (this.options.run) return this.options.run(request, sandbox);
    const out = Buffer.from(request.command.join(' '));
    return facts({ stdout: out, combined: out });
  }

  async release(sandbox: Sandbox): Promise<void> {
    this.events.push({ op: 'release', sandbox: sandbox.id, functionId: sandbox.spec.functionId });
  }

  async destroy(sandbox: Sandbox): Promise<void> {
    if (!this.live.delete(sandbox.id)) return;
    this.lost.delete(sandbox.id);
    this.events.push({ op: 'destroy', sandbox: sandbox.id, functionId: sandbox.spec.functionId });
  }

  alive(sandbox: Sandbox): boolean {
    return this.live.has(sandbox.id) && !this.lost.has(sandbox.id);
  }

  watch(listener: (event: ExecutorEvent) => void): () => void {
    return this.watchers.add(listener);
  }

  /**
   * Kills a sandbox from outside, as an engine or the host's OOM killer would: it is reported
   * lost, and an invocation sent to it afterwards fails as lost before its start. `silent`
   * reports nothing (an event the backend never sent): only `alive` tells.
   */
  kill(sandbox: Sandbox | string, options: { reason?: string; silent?: boolean } = {}): void {
    const id = typeof sandbox === 'string' ? sandbox : sandbox.id;
    const found = this.live.get(id);
    if (!found || this.lost.has(id)) return;
    const reason = options.reason ?? 'killed from outside';
    this.lost.set(id, reason);
    if (!options.silent) this.watchers.emit({ type: 'sandbox-lost', sandbox: found, reason });
  }

  /** How many times `image` was re-tagged: 0 until `retag`. */
  imageVersion(image: string): number {
    return this.imageVersions.get(image) ?? 0;
  }

  /** The image version a sandbox was started from (see `retag`). */
  startedFromVersion(sandbox: Sandbox): number | undefined {
    return this.startedFrom.get(sandbox.id);
  }

  /**
   * `image` comes to name another image (a re-tag, a rebuild): sandboxes started from now on get
   * the new version, and `image-changed` is reported, as the engine's image events make a real
   * executor do.
   */
  retag(image: string): void {
    this.imageVersions.set(image, this.imageVersion(image) + 1);
    this.watchers.emit({ type: 'image-changed', image });
  }

  /** The backend goes away (`backend-down`), and every live sandbox dies with it (reported). */
  backendDown(reason = 'the engine stopped'): void {
    this.watchers.emit({ type: 'backend-down', reason });
    for (const sandbox of this.live.values()) this.kill(sandbox, { reason });
  }

  backendUp(): void {
    this.watchers.emit({ type: 'backend-up' });
  }

  async close(): Promise<void> {
    this.watchers.clear();
    for (const sandbox of [...this.live.values()]) await this.destroy(sandbox);
  }
}
