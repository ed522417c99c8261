/**
 * Results with their output decoded: the gateway's JSON as it is (so JSON.stringify gives it back
 * unchanged), plus the bytes of stdout, stderr and the interleaved log as non-enumerable fields and
 * text helpers. Bytes are decoded on first use.
 */
import { base64ToBytes, bytesToText } from './base64.js';
import type { InvocationOutput, InvocationResult } from './types.js';

export interface DecodedStreams {
  /** What the function wrote to stdout, byte for byte. */
  readonly stdout: Uint8Array;
  /** What the function wrote to stderr, byte for byte. */
  readonly stderr: Uint8Array;
  /** stdout as UTF-8 text (invalid sequences become U+FFFD). */
  stdoutText(): string;
  /** stderr as UTF-8 text. */
  stderrText(): string;
}

export interface InvokeResult extends InvocationResult, DecodedStreams {
  /** stdout and stderr interleaved in the order the function wrote them. */
  readonly logs: Uint8Array;
  logsText(): string;
  /** The function exited 0 (no error, no signal). */
  readonly ok: boolean;
}

export type DecodedOutput = InvocationOutput & DecodedStreams;

function lazyBytes(base64: () => string | null | undefined): () => Uint8Array {
  let bytes: Uint8Array | undefined;
  return () => {
    bytes ??= base64ToBytes(base64());
    return bytes;
  };
}

function hidden<T extends object>(target: T, fields: Record<string, () => unknown>, methods: Record<string, () => unknown>): void {
  for (const [name, get] of Object.entries(fields)) Object.defineProperty(target, name, { get, enumerable: false });
  for (const [name, value] of Object.entries(methods)) Object.defineProperty(target, name, { value, enumerable: false });
}

export function decodeResult(raw: InvocationResult): InvokeResult {
  const result = { ...raw } as InvokeResult;
  const stdout = lazyBytes(() => raw.response_base64);
  const stderr = lazyBytes(() => raw.stderr_base64);
  const logs = lazyBytes(() => raw.logs_base64);
  hidden(
    result,
    { stdout, stderr, logs, ok: () => raw.exit_code === 0 && raw.error === null && raw.signal === null },
    { stdoutText: () => bytesToText(stdout()), stderrText: () => bytesToText(stderr()), logsText: () => bytesToText(logs()) },
  );
  return result;
}

export function decodeOutput(raw: InvocationOutput): DecodedOutput {
  const output = { ...raw } as DecodedOutput;
  const stdout = lazyBytes(() => raw.stdout_base64);
  const stderr = lazyBytes(() => raw.stderr_base64);
  hidden(output, { stdout, stderr }, { stdoutText: () => bytesToText(stdout()), stderrText: () => bytesToText(stderr()) });
  return output;
}
