/**
 * Job inputs: encoded with viem (the customer side, `faas tangle submit`, and tests), decoded by
 * the strict reader (the operator side, where anyone on chain chose the bytes). Decoding checks
 * the layout only; what the values mean (image grammar, env limits, timeouts) is checked by the
 * gateway's validators when the call becomes an invocation (operator/invocation.ts).
 */
import { type AbiParameter, encodeAbiParameters, type Hex } from 'viem';
import { EXECUTE_INPUTS, INPUT_VERSION, INVOKE_INPUTS, JOB_EXECUTE, JOB_INVOKE, type JobParam } from '../jobs.js';
import { AbiDecodeError, readParams, readVersion } from './strict.js';

/** Job 0's inputs. Zero or empty means "the platform's default" for the optional fields. */
export interface ExecuteInputs {
  image: string;
  command: string[];
  env: string[];
  stdin: Uint8Array;
  timeoutMs: number;
  executor: string;
  memoryMb: number;
  cpuMillis: number;
  pids: number;
}

/** Job 1's inputs. */
export interface InvokeInputs {
  functionId: string;
  stdin: Uint8Array;
  env: string[];
  timeoutMs: number;
}

export type JobInputs = { job: typeof JOB_EXECUTE; inputs: ExecuteInputs } | { job: typeof JOB_INVOKE; inputs: InvokeInputs };

/** Inputs refused before they meant anything: too large, malformed, another version, an unknown job. */
export class JobInputError extends Error {
  override readonly name = 'JobInputError';
  constructor(
    message: string,
    readonly code: 'FAAS_ERR_INVALID_JOB_INPUT' | 'FAAS_ERR_UNKNOWN_JOB',
  ) {
    super(message);
  }
}

type Abi = readonly AbiParameter[];
const abiOf = (params: readonly JobParam[]): Abi => params as unknown as Abi;

export function encodeExecuteInputs(inputs: Partial<ExecuteInputs> & Pick<ExecuteInputs, 'image' | 'command'>): Hex {
  return encodeAbiParameters(abiOf(EXECUTE_INPUTS), [
    INPUT_VERSION,
    inputs.image,
    inputs.command,
    inputs.env ?? [],
    toHex(inputs.stdin),
    inputs.timeoutMs ?? 0,
    inputs.executor ?? '',
    inputs.memoryMb ?? 0,
    inputs.cpuMillis ?? 0,
    inputs.pids ?? 0,
  ]);
}

export function encodeInvokeInputs(inputs: Partial<InvokeInputs> & Pick<InvokeInputs, 'functionId'>): Hex {
  return encodeAbiParameters(abiOf(INVOKE_INPUTS), [
    INPUT_VERSION,
    inputs.functionId,
    toHex(inputs.stdin),
    inputs.env ?? [],
    inputs.timeoutMs ?? 0,
  ]);
}

function toHex(bytes: Uint8Array | undefined): Hex {
  return `0x${Buffer.from(bytes ?? new Uint8Array()).toString('hex')}`;
}

/**
 * Decodes the inputs of job `job`. `maxBytes` bounds what is read at all (see INPUT_ROOM_BYTES);
 * throws JobInputError with the reason, which the operator answers as a `rejected` result.
 */
export function decodeJobInputs(job: number, data: Uint8Array, maxBytes: number): JobInputs {
  if (job !== JOB_EXECUTE && job !== JOB_INVOKE) {
    throw new JobInputError(`job ${job} is not a job of this blueprint: use 0 (execute) or 1 (invoke)`, 'FAAS_ERR_UNKNOWN_JOB');
  }
  if (data.length > maxBytes) {
    throw new JobInputError(`the inputs are ${data.length} bytes; at most ${maxBytes} are read`, 'FAAS_ERR_INVALID_JOB_INPUT');
  }
  try {
    const version = readVersion(data);
    if (version !== INPUT_VERSION) {
      throw new JobInputError(
        `the inputs are of layout version ${version}; this operator reads version ${INPUT_VERSION} (docs/tangle-jobs.md)`,
        'FAAS_ERR_INVALID_JOB_INPUT',
      );
    }
    if (job === JOB_EXECUTE) {
      const v = readParams(data, EXECUTE_INPUTS);
      return {
        job,
        inputs: {
          image: v.image as string,
          command: v.command as string[],
          env: v.env as string[],
          stdin: v.stdin as Uint8Array,
          timeoutMs: v.timeoutMs as number,
          executor: v.executor as string,
          memoryMb: v.memoryMb as number,
          cpuMillis: v.cpuMillis as number,
          pids: v.pids as number,
        },
      };
    }
    const v = readParams(data, INVOKE_INPUTS);
    return {
      job,
      inputs: {
        functionId: v.functionId as string,
        stdin: v.stdin as Uint8Array,
        env: v.env as string[],
        timeoutMs: v.timeoutMs as number,
      },
    };
  } catch (err) {
    if (err instanceof AbiDecodeError) {
      throw new JobInputError(`the inputs of job ${job} are not a valid encoding: ${err.message}`, 'FAAS_ERR_INVALID_JOB_INPUT');
    }
    throw err;
  }
}
