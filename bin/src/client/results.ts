/**
 * A function's result on the terminal: its stdout and stderr written to ours byte for byte, and its
 * exit status as ours (128 + n for a signal, as shells report it). What is not the function's own
 * exit has codes of its own, as `docker run` and `timeout` use them: 124 the function ran past its
 * timeout, 125 faas could not run it (the gateway refused or failed; the message says why).
 */
import { constants } from 'node:os';
import { FunctionTimeoutError, type InvocationRecord, type InvokeResult } from '@faas/sdk';
import { printJson, reportError } from './output.js';

export const EXIT_TIMEOUT = 124;
export const EXIT_PLATFORM = 125;

export const TRUNCATED = 'the function wrote more than the platform keeps of a stream (FAAS_MAX_OUTPUT_BYTES): its output above was cut';

function write(stream: NodeJS.WriteStream, bytes: Uint8Array): Promise<void> {
  if (bytes.length === 0) return Promise.resolve();
  return new Promise((resolve, reject) => stream.write(bytes, (err) => (err ? reject(err) : resolve())));
}

/** Our exit status for the function's: its exit code, or 128 + the signal's number. */
export function exitStatusOf(result: Pick<InvokeResult, 'exit_code' | 'signal' | 'error'>): number {
  if (result.exit_code !== null) return result.exit_code;
  if (result.signal !== null) {
    const number = (constants.signals as Record<string, number | undefined>)[result.signal];
    return number === undefined ? EXIT_PLATFORM : 128 + number;
  }
  return result.error === null ? 0 : EXIT_PLATFORM;
}

/** Writes the result (its JSON with --json, else its streams) and answers the exit status. */
export async function emitResult(result: InvokeResult, json: boolean | undefined): Promise<number> {
  if (json) printJson(result);
  else {
    await write(process.stdout, result.stdout);
    await write(process.stderr, result.stderr);
    // The platform keeps at most FAAS_MAX_OUTPUT_BYTES of each stream: a cut output is never passed off as whole.
    if (result.truncated) {
      const lineStart = result.stderr.length === 0 || result.stderr[result.stderr.length - 1] === 0x0a;
      process.stderr.write(`${lineStart ? '' : '\n'}faas: ${TRUNCATED}\n`);
    }
  }
  return exitStatusOf(result);
}

/** A failed invoke: the output so far of a timeout, then one line; answers the exit status. */
export async function emitInvokeError(err: unknown, json: boolean | undefined): Promise<number> {
  if (err instanceof FunctionTimeoutError) {
    if (!json) await write(process.stderr, err.logs);
    reportError(err, json, EXIT_TIMEOUT);
    return EXIT_TIMEOUT;
  }
  reportError(err, json, EXIT_PLATFORM);
  return EXIT_PLATFORM;
}

/** An asynchronous invocation that ended: its result as a synchronous call's, or why it has none. */
export async function emitFinal(invocation: InvocationRecord, json: boolean | undefined): Promise<number> {
  if (json) {
    printJson(invocation);
    return invocation.result ? exitStatusOf(invocation.result) : EXIT_PLATFORM;
  }
  if (invocation.result) {
    if (invocation.result.exit_code === null && invocation.status === 'timed_out') {
      await write(process.stderr, invocation.result.logs);
      process.stderr.write(`faas: invocation ${invocation.id} ran past its timeout and was killed (FAAS_ERR_TIMEOUT)\n`);
      return EXIT_TIMEOUT;
    }
    return emitResult(invocation.result, false);
  }
  const why = invocation.error ? `: ${invocation.error}${invocation.error_code ? ` (${invocation.error_code})` : ''}` : '';
  process.stderr.write(`faas: invocation ${invocation.id} ended ${invocation.state ?? invocation.status} without a result${why}\n`);
  return EXIT_PLATFORM;
}
