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

export interface Executor {
  readonly kind: ExecutorKind;
  readonly capabilities: ExecutorCapabilities;
  /** Start-up: connects to the backend and removes sandboxes a previous run left behind. */
  init(): Promise<void>;
  /** Cheap reachability probe used by /ready; throws FAAS_ERR_EXECUTOR_UNAVAILABLE. */
  ping(): Promise<void>;
  acquire(spec: SandboxSpec, signal?: AbortSignal): Promise<Sandbox>;
  invoke(sandbox: Sandbox, request: ExecRequest): Promise<ExecResult>;
  release(sandbox: Sandbox): Promise<void>;
  destroy(sandbox: Sandbox): Promise<void>;
  /** Destroys everything the executor created and stops background work. */
  close(): Promise<void>;
}
