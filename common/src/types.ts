/**
 * Wire types of the HTTP API. Field names follow the design document exactly (snake_case),
 * so existing clients keep working; everything beyond the document is optional on input and
 * additive on output.
 */

/** Names of the executors the platform can be built with. */
export const EXECUTOR_KINDS = ['docker', 'gvisor', 'qemu', 'firecracker', 'oci'] as const;
export type ExecutorKind = (typeof EXECUTOR_KINDS)[number];

export function isExecutorKind(value: unknown): value is ExecutorKind {
  return typeof value === 'string' && (EXECUTOR_KINDS as readonly string[]).includes(value);
}

/** Resource limits a request may ask for; each is bounded by the platform's configured maximum. */
export interface ResourceLimitsInput {
  memory_mb?: number;
  cpus?: number;
  pids?: number;
}

/** The request body of `POST /functions/{function_id}/invoke`. */
export interface SandboxConfig {
  image: string;
  command: string[];
  env_vars?: string[] | null;
  payload_base64?: string | null;
  /** Per-invocation timeout; defaults to FAAS_DEFAULT_TIMEOUT_MS, capped by FAAS_MAX_TIMEOUT_MS. */
  timeout_ms?: number;
  /** Executor override, honoured only if listed in FAAS_ALLOWED_EXECUTORS. */
  executor?: ExecutorKind;
  limits?: ResourceLimitsInput;
}

/** The response body of a completed invocation (HTTP 200), whether or not the function succeeded. */
export interface InvocationResult {
  /** The function id from the path, as the design document specifies. */
  request_id: string;
  /** Unique id of this invocation; also sent as the `x-faas-invocation-id` header. */
  invocation_id: string;
  /** Base64 of the command's stdout. */
  response_base64: string | null;
  /** Base64 of stdout and stderr interleaved in arrival order. */
  logs_base64: string | null;
  /** Base64 of stderr alone. */
  stderr_base64: string | null;
  /** Null when the command ran and exited 0; otherwise what went wrong, in words. */
  error: string | null;
  /** The command's exit status; null if it was killed by a signal or never started. */
  exit_code: number | null;
  /** Signal name if the command was killed by one (for example after running out of memory). */
  signal: string | null;
  /** True if any output stream hit FAAS_MAX_OUTPUT_BYTES and was cut. */
  truncated: boolean;
  /** Wall time from accepting the request to having the result, in milliseconds. */
  duration_ms: number;
  /** Executor that ran the function. */
  executor: ExecutorKind;
  /** The registered function's version that ran; null for an ad-hoc request. */
  function_version: number | null;
  /** Milliseconds spent in each phase of the invocation. */
  phases: InvocationResultPhases;
}

/** Where an invocation's time went: waiting for a slot, getting a sandbox, running the command. */
export interface InvocationResultPhases {
  queue_ms: number;
  acquire_ms: number;
  run_ms: number;
}

/** Limits resolved from the request and configuration: every field set, every value in range. */
export interface ResourceLimits {
  memoryBytes: number;
  /** CPU quota in units of one CPU (0.5 = half a core). */
  cpus: number;
  pids: number;
  /** Size cap of the writable /tmp. */
  tmpBytes: number;
  /** Cap on each captured output stream. */
  outputBytes: number;
}
