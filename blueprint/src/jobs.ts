/**
 * The blueprint's jobs and the ABI of their inputs and results: the code form of the one written
 * spec, docs/tangle-jobs.md (a test keeps the two in step, and the end-to-end tests check real
 * traffic against the document).
 *
 * Inputs and results are opaque bytes to Tangle; by convention they are ABI-encoded parameter
 * lists, here with a version as the first parameter, so that a decoder reads one static word to
 * learn which layout follows, and a later version can add fields without breaking old callers.
 */

/** Job indexes, as `submitJob(serviceId, jobIndex, inputs)` names them. */
export const JOB_EXECUTE = 0;
export const JOB_INVOKE = 1;
export type JobIndex = typeof JOB_EXECUTE | typeof JOB_INVOKE;

/** The layout version this build writes and reads, for inputs and for results. */
export const INPUT_VERSION = 1;
export const RESULT_VERSION = 1;

/** One ABI parameter: the subset of Solidity types the jobs use. */
export interface JobParam {
  readonly name: string;
  readonly type: 'uint8' | 'uint32' | 'int16' | 'bool' | 'string' | 'bytes' | 'string[]';
}

/** Job 0, `execute`: an ad-hoc SandboxConfig, the same fields as the HTTP body's (0 or "" means the default). */
export const EXECUTE_INPUTS = [
  { name: 'version', type: 'uint8' },
  { name: 'image', type: 'string' },
  { name: 'command', type: 'string[]' },
  { name: 'env', type: 'string[]' },
  { name: 'stdin', type: 'bytes' },
  { name: 'timeoutMs', type: 'uint32' },
  { name: 'executor', type: 'string' },
  { name: 'memoryMb', type: 'uint32' },
  { name: 'cpuMillis', type: 'uint32' },
  { name: 'pids', type: 'uint32' },
] as const satisfies readonly JobParam[];

/** Job 1, `invoke`: a registered function by id, with what an HTTP invocation of it may add. */
export const INVOKE_INPUTS = [
  { name: 'version', type: 'uint8' },
  { name: 'functionId', type: 'string' },
  { name: 'stdin', type: 'bytes' },
  { name: 'env', type: 'string[]' },
  { name: 'timeoutMs', type: 'uint32' },
] as const satisfies readonly JobParam[];

/** The result of either job: what `submitResult` carries. */
export const RESULT = [
  { name: 'version', type: 'uint8' },
  { name: 'invocationId', type: 'string' },
  { name: 'status', type: 'uint8' },
  { name: 'exitCode', type: 'int16' },
  { name: 'signal', type: 'string' },
  { name: 'stdout', type: 'bytes' },
  { name: 'stderr', type: 'bytes' },
  { name: 'truncated', type: 'bool' },
  { name: 'errorCode', type: 'string' },
  { name: 'errorMessage', type: 'string' },
  { name: 'durationMs', type: 'uint32' },
] as const satisfies readonly JobParam[];

/**
 * A result's `status`. The first four are how the function ended (the invocation core's outcome);
 * `rejected` is an input the operator refused (malformed, oversized, unknown job or function, a
 * validation rule: `errorCode` says which); `failed` is a platform fault (`errorCode` from the
 * registry, docs/ERRORS.md).
 */
export const RESULT_STATUSES = ['completed', 'out_of_memory', 'timed_out', 'cancelled', 'rejected', 'failed'] as const;
export type ResultStatus = (typeof RESULT_STATUSES)[number];

/**
 * Each output stream is cut to this many bytes in a result (`truncated` is then set): a result is
 * calldata of one transaction, and nodes refuse transactions much over 128 KiB.
 */
export const RESULT_MAX_STREAM_BYTES = 16 * 1024;
/** Text fields of a result (error message, signal, codes) are cut to this many bytes. */
export const RESULT_MAX_TEXT_BYTES = 1024;

/**
 * The largest inputs the operator decodes: the platform's payload limit plus room for the other
 * fields, as the HTTP body limit has (FAAS_MAX_BODY_BYTES); anything larger is rejected unread.
 */
export const INPUT_ROOM_BYTES = 448 * 1024;

export interface JobDefinition {
  readonly index: JobIndex;
  readonly name: string;
  readonly description: string;
  readonly inputs: readonly JobParam[];
  readonly result: readonly JobParam[];
}

export const JOBS: readonly JobDefinition[] = [
  {
    index: JOB_EXECUTE,
    name: 'execute',
    description:
      'Run a command in a fresh sandbox: an ad-hoc SandboxConfig (image, command, env, stdin, timeout, executor, limits), validated as the HTTP gateway validates it.',
    inputs: EXECUTE_INPUTS,
    result: RESULT,
  },
  {
    index: JOB_INVOKE,
    name: 'invoke',
    description:
      "Invoke a function registered on this operator by its id, with stdin, extra env and a shorter timeout, merged into the function's definition as an HTTP invocation is.",
    inputs: INVOKE_INPUTS,
    result: RESULT,
  },
];

/** The job with this index, or undefined. */
export function jobOf(index: number): JobDefinition | undefined {
  return JOBS.find((job) => job.index === index);
}

/** `(uint8 version, string image, ...)`: a parameter list as the spec writes it. */
export function signatureOf(params: readonly JobParam[]): string {
  return `(${params.map((p) => `${p.type} ${p.name}`).join(', ')})`;
}
