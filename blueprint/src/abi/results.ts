/**
 * Job results: what the operator posts with `submitResult`, and what `faas tangle submit` reads
 * back. Streams and texts are cut to the bounds of the spec (RESULT_MAX_*), which keeps a result
 * within one transaction's calldata; `truncated` says when output was cut (by the platform's
 * output cap or here).
 */
import { type AbiParameter, encodeAbiParameters, type Hex } from 'viem';
import { RESULT, RESULT_MAX_STREAM_BYTES, RESULT_MAX_TEXT_BYTES, RESULT_STATUSES, RESULT_VERSION, type ResultStatus } from '../jobs.js';
import { AbiDecodeError, readParams, readVersion } from './strict.js';

export interface JobResult {
  /** The invocation's id on this operator (its history record); empty when the input was refused unread. */
  invocationId: string;
  status: ResultStatus;
  /** The command's exit code; null when it was killed by a signal or never ran. */
  exitCode: number | null;
  /** The signal that killed it (SIGKILL, ...), or null. */
  signal: string | null;
  stdout: Uint8Array;
  stderr: Uint8Array;
  truncated: boolean;
  /** A registry code (FAAS_ERR_*) for `rejected` and `failed`; null otherwise. */
  errorCode: string | null;
  /** Null when the command ran and exited 0; otherwise what went wrong, in words. */
  error: string | null;
  durationMs: number;
}

/** The largest a result's bytes can be (streams and texts at their caps, plus the layout). */
export const RESULT_MAX_BYTES = 2 * RESULT_MAX_STREAM_BYTES + 5 * RESULT_MAX_TEXT_BYTES + 32 * 40;

type Abi = readonly AbiParameter[];

export function encodeResult(result: JobResult): Hex {
  const stdout = result.stdout.subarray(0, RESULT_MAX_STREAM_BYTES);
  const stderr = result.stderr.subarray(0, RESULT_MAX_STREAM_BYTES);
  const cut = stdout.length < result.stdout.length || stderr.length < result.stderr.length;
  return encodeAbiParameters(RESULT as unknown as Abi, [
    RESULT_VERSION,
    cutText(result.invocationId),
    RESULT_STATUSES.indexOf(result.status),
    result.exitCode ?? -1,
    cutText(result.signal ?? ''),
    `0x${Buffer.from(stdout).toString('hex')}`,
    `0x${Buffer.from(stderr).toString('hex')}`,
    result.truncated || cut,
    cutText(result.errorCode ?? ''),
    cutText(result.error ?? ''),
    Math.min(Math.max(0, Math.round(result.durationMs)), 0xffffffff),
  ]);
}

/** Cuts text to RESULT_MAX_TEXT_BYTES of UTF-8 without splitting a character. */
function cutText(text: string): string {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= RESULT_MAX_TEXT_BYTES) return text;
  let end = RESULT_MAX_TEXT_BYTES;
  while (end > 0 && ((bytes[end] as number) & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end).toString('utf8');
}

/** Decodes a result strictly; throws AbiDecodeError for anything but a canonical version-1 result. */
export function decodeResult(data: Uint8Array): JobResult {
  const version = readVersion(data);
  if (version !== RESULT_VERSION) {
    throw new AbiDecodeError(`the result is of layout version ${version}; this build reads version ${RESULT_VERSION}`);
  }
  const v = readParams(data, RESULT);
  const status = RESULT_STATUSES[v.status as number];
  if (status === undefined) throw new AbiDecodeError(`status ${v.status} is not one of 0-${RESULT_STATUSES.length - 1}`);
  const exitCode = v.exitCode as number;
  const text = (value: unknown) => ((value as string) === '' ? null : (value as string));
  return {
    invocationId: v.invocationId as string,
    status,
    exitCode: exitCode < 0 ? null : exitCode,
    signal: text(v.signal),
    stdout: v.stdout as Uint8Array,
    stderr: v.stderr as Uint8Array,
    truncated: v.truncated as boolean,
    errorCode: text(v.errorCode),
    error: text(v.errorMessage),
    durationMs: v.durationMs as number,
  };
}

/** The result as JSON for people and scripts: streams as UTF-8 text and base64. */
export function resultToJson(result: JobResult): Record<string, unknown> {
  return {
    invocation_id: result.invocationId,
    status: result.status,
    exit_code: result.exitCode,
    signal: result.signal,
    stdout: Buffer.from(result.stdout).toString('utf8'),
    stderr: Buffer.from(result.stderr).toString('utf8'),
    stdout_base64: Buffer.from(result.stdout).toString('base64'),
    stderr_base64: Buffer.from(result.stderr).toString('base64'),
    truncated: result.truncated,
    error_code: result.errorCode,
    error: result.error,
    duration_ms: result.durationMs,
  };
}
