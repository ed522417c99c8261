/**
 * The executor contract. An executor owns mechanism only: how to create a sandbox, run one command
 * in it, and take it down. Policy (which executor, validation, timeouts, limits, concurrency,
 * pools, retries) lives in the orchestrator. The lifecycle is explicit so that warm pools and
 * snapshots fit without changing executors:
 *
 *   acquire(spec) -> Sandbox          create or restore an isolated sandbox for one function
 *   invoke(sandbox, request)          run one command in it; never throws for the function's own faults
 *   release(sandbox)                  the invocation is over: reset for reuse, or throw to force destroy
 *   destroy(sandbox)                  remove every process, file and socket the sandbox owns
 *
 * Sandboxes can die on their own (killed from outside, their engine or VMM gone). Executors say so
 * as facts, never as the function's result: `alive` answers without a round trip, `watch` reports
 * a death as soon as the backend tells, and invoke throws FAAS_ERR_SANDBOX_LOST with `started`
 * (faults.ts). What to do about it (replace, retry, rebuild pools) is the orchestrator's policy.
 */
import type { ExecutorKind, ResourceLimits } from '@faas/common';

/** What a sandbox is created for. A sandbox never serves a different function or image. */
export interface SandboxSpec {
  functionId: string;
  image: string;
  limits: ResourceLimits;
  /**
   * The sandbox will run exactly one invocation and then be destroyed, and nothing was started
   * ahead of time: an executor may use a cheaper transport than for a sandbox kept warm.
   */
  oneShot?: boolean;
  /** For a one-shot sandbox: the invocation it is started for (containers are labelled with it). */
  invocationId?: string;
}

/** What the image itself asks for; policy merges it under the caller's settings. */
export interface ImageConfig {
  /** The image's `KEY=VALUE` environment (Docker's `Config.Env`). */
  env: string[];
  /** The image's working directory (Docker's `Config.WorkingDir`), if it sets one. */
  workingDir: string | undefined;
}

export interface Sandbox {
  /** Executor-specific id (container id, VM id); printed in logs and labels. */
  readonly id: string;
  readonly executor: ExecutorKind;
  readonly spec: SandboxSpec;
  /** True if, after release, the sandbox can run another invocation of the same function. */
  readonly reusable: boolean;
  /** The image's own settings, known once the sandbox exists. */
  readonly image: ImageConfig;
}

/**
 * One command to run, with everything already decided by policy: the executor applies these
 * values as given and adds nothing of its own (no env defaults, no working dir, no user).
 */
export interface ExecRequest {
  invocationId: string;
  command: string[];
  /** The complete environment of the command. */
  env: string[];
  /** Working directory of the command. */
  cwd: string;
  uid: number;
  gid: number;
  stdin: Buffer;
  /** The executor kills every process of the invocation when this elapses and reports timedOut. */
  timeoutMs: number;
  /** Cap on each captured stream (stdout, stderr; the combined stream gets twice this). */
  outputBytes: number;
  /** Aborting kills the invocation at once (shutdown, client gone); the facts say `cancelled`. */
  signal?: AbortSignal;
}

/**
 * Raw facts about how a command ended, as the sandbox saw them. Executors report; they never
 * interpret (the one result builder, orchestrator/src/outcome.ts, does that for every path).
 */
export interface ExecResult {
  stdout: Buffer;
  stderr: Buffer;
  /** stdout and stderr interleaved in the order they arrived. */
  combined: Buffer;
  /** The wait status's exit code; null when killed by a signal. */
  exitCode: number | null;
  /** The wait status's signal name (SIGKILL, ...) when the command was killed by one. */
  signal: string | null;
  truncated: boolean;
  /** The executor's timer fired and it killed the command. */
  timedOut: boolean;
  /** The request's signal aborted and the executor killed the command. */
  cancelled?: boolean;
  /** Set when the command could not be started at all (not found, not executable). */
  startError?: string;
  /** The sandbox's memory cgroup (or the guest kernel) recorded an OOM kill during the run. */
  oomKilled?: boolean;
}

/** What an executor can do beyond the lifecycle; pools and policy read it, never the executor's class. */
export interface ExecutorCapabilities {
  /**
   * acquire() starts a sandbox that invoke() then reaches directly (a running guest agent), so
   * keeping started spares in a pool saves the start.
   */
  warm: boolean;
}

/**
 * What an executor tells its watchers, as it learns it:
 * - `sandbox-lost`: a live sandbox died outside the platform's control (its container died or was
 *   killed, its VMM exited, its agent hung up). It is never handed out again; the holder destroys it.
 * - `backend-down`: the backend (the Docker engine) stopped answering; sandboxes that need it fail.
 * - `backend-up`: it answers again; every sandbox that did not survive was reported lost first.
 * - `image-changed`: the image name `image` now names another image than the one the executor's
 *   sandboxes of it were started from (re-tagged, rebuilt, pulled or loaded over, removed). Those
 *   sandboxes still work but run the old image's files: none is handed to a new invocation.
 */
export type ExecutorEvent =
  | { type: 'sandbox-lost'; sandbox: Sandbox; reason: string }
  | { type: 'backend-down'; reason: string }
  | { type: 'backend-up' }
  | { type: 'image-changed'; image: string };

export interface Executor {
  readonly kind: ExecutorKind;
  readonly capabilities: ExecutorCapabilities;
  /**
   * Start-up: connects to the backend, removes sandboxes a previous run left behind, and starts
   * watching (the engine's events, a periodic sweep of leftovers).
   */
  init(): Promise<void>;
  /** Cheap reachability probe used by /ready; throws FAAS_ERR_EXECUTOR_UNAVAILABLE. */
  ping(): Promise<void>;
  acquire(spec: SandboxSpec, signal?: AbortSignal): Promise<Sandbox>;
  /**
   * Runs one command. The function's own failure is a fact in the result; a sandbox that dies
   * under it throws FAAS_ERR_SANDBOX_LOST with `details.started` (false: the command certainly
   * did not start, so running it elsewhere is safe).
   */
  invoke(sandbox: Sandbox, request: ExecRequest): Promise<ExecResult>;
  release(sandbox: Sandbox): Promise<void>;
  destroy(sandbox: Sandbox): Promise<void>;
  /**
   * False once the sandbox is known dead or unusable, from what the executor already knows (events,
   * the VMM process, the agent's connection): no round trip, so a pool can ask before handing out.
   */
  alive(sandbox: Sandbox): boolean;
  /** Calls `listener` with every ExecutorEvent from now on; returns the function that stops it. */
  watch(listener: (event: ExecutorEvent) => void): () => void;
  /** Destroys everything the executor created and stops background work. */
  close(): Promise<void>;
}
