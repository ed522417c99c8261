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
   * The caller runs one invocation and then destroys the sandbox, and nothing was started ahead
   * of time: an executor may use a cheaper cold path than a sandbox built to be kept warm.
   */
  oneShot?: boolean;
}

export interface Sandbox {
  /** Executor-specific id (container id, VM id); printed in logs and labels. */
  readonly id: string;
  readonly executor: ExecutorKind;
  readonly spec: SandboxSpec;
  /** True if, after release, the sandbox can run another invocation of the same function. */
  readonly reusable: boolean;
}

export interface ExecRequest {
  invocationId: string;
  command: string[];
  env: string[];
  stdin: Buffer;
  /** The executor kills every process of the invocation when this elapses and reports timedOut. */
  timeoutMs: number;
  /** Aborting kills the invocation at once (shutdown, client gone). */
  signal?: AbortSignal;
}

export interface ExecResult {
  stdout: Buffer;
  stderr: Buffer;
  /** stdout and stderr interleaved in the order they arrived. */
  combined: Buffer;
  /** Null when killed by a signal or never started. */
  exitCode: number | null;
  /** Signal name (SIGKILL, ...) when the command was killed by one. */
  signal: string | null;
  truncated: boolean;
  timedOut: boolean;
  /** Set when the command could not be started at all (not found, not executable). */
  startError?: string;
  /** True if the kernel's OOM killer ended the command. */
  oomKilled?: boolean;
}

export interface Executor {
  readonly kind: ExecutorKind;
  /**
   * True if acquire() starts a sandbox that invoke() then reaches directly (a running guest agent),
   * so keeping started spares in a pool saves the start. False for executors whose acquire is
   * free and whose work all happens in invoke (one-shot containers).
   */
  readonly warmable?: boolean;
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
