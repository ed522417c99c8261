/**
 * The cold path: one container per invocation, its stdio attached over one hijacked connection.
 * The attach comes before start so no output is lost; stdin is written after start and
 * half-closed; a timer kills the whole container at the timeout; the engine's wait gives the exit.
 */
import type { Duplex } from 'node:stream';
import { FaasError } from '@faas/common';
import type { ExecRequest, ExecResult } from '../executor.js';
import { OutputCollector } from '../output.js';
import { DockerDemuxer } from './demux.js';
import { type DockerEngine, EngineError } from './engine.js';

/** tini, the container's init, reports an exec failure on stderr and exits 127 / 126. */
const INIT_EXEC_FAILURE = /^\[FATAL tini \(\d+\)\] exec (.*) failed: (.*)$/m;

export async function runOneShot(engine: DockerEngine, id: string, request: ExecRequest, outputLimit: number): Promise<ExecResult> {
  const output = new OutputCollector(outputLimit);
  let stream: Duplex;
  try {
    stream = await engine.attach(id);
  } catch (err) {
    throw engineFault(err, 'attach');
  }
  const demux = new DockerDemuxer((which, data) => output.push(which, data));
  const streamDone = new Promise<void>((resolve) => {
    stream.on('data', (chunk: Buffer) => demux.write(chunk));
    stream.on('end', resolve);
    stream.on('close', resolve);
    stream.on('error', resolve);
  });

  let timedOut = false;
  let aborted = false;
  const kill = () => {
    engine.request('POST', `/containers/${id}/kill?signal=SIGKILL`).catch(() => {
      // Already stopped: nothing to kill.
    });
  };
  const timer = setTimeout(() => {
    timedOut = true;
    kill();
  }, request.timeoutMs);
  const onAbort = () => {
    aborted = true;
    kill();
  };
  request.signal?.addEventListener('abort', onAbort, { once: true });
  // An abort during create or attach fired before the listener existed.
  if (request.signal?.aborted) onAbort();

  try {
    try {
      await engine.request('POST', `/containers/${id}/start`);
    } catch (err) {
      stream.destroy();
      if (err instanceof EngineError && err.statusCode < 500) {
        return startFailure(err.message);
      }
      throw engineFault(err, 'start');
    }
    // Stdin goes in after start; half-closing tells the engine the payload is complete.
    stream.end(request.stdin);
    const waited = await engine.request<{ StatusCode: number; Error?: { Message?: string } | null }>(
      'POST',
      `/containers/${id}/wait?condition=not-running`,
      undefined,
      { timeoutMs: 0 },
    );
    await withTimeout(streamDone, 2000);
    stream.destroy();
    const stderr = output.stderr;
    const execFailure = waited.StatusCode >= 126 && waited.StatusCode <= 127 ? INIT_EXEC_FAILURE.exec(stderr.toString('utf8')) : null;
    const killed = timedOut || aborted;
    const oomKilled = !killed && waited.StatusCode === 137 ? await wasOomKilled(engine, id) : false;
    return {
      stdout: output.stdout,
      stderr,
      combined: output.combined,
      exitCode: killed || oomKilled ? null : waited.StatusCode,
      signal: killed || oomKilled ? 'SIGKILL' : null,
      truncated: output.truncated,
      timedOut,
      oomKilled,
      ...(execFailure
        ? {
            startError: execFailure[2]?.includes('No such file')
              ? `command not found: ${execFailure[1]}`
              : `cannot execute ${execFailure[1]}: ${execFailure[2]}`,
          }
        : {}),
    };
  } finally {
    clearTimeout(timer);
    request.signal?.removeEventListener('abort', onAbort);
  }
}

async function wasOomKilled(engine: DockerEngine, id: string): Promise<boolean> {
  try {
    const info = await engine.request<{ State?: { OOMKilled?: boolean } }>('GET', `/containers/${id}/json`);
    return info.State?.OOMKilled === true;
  } catch {
    return false;
  }
}

/** An engine failure outside the function's control, as the registry's sandbox fault. */
export function engineFault(err: unknown, step: string): FaasError {
  if (err instanceof FaasError) return err;
  return new FaasError('FAAS_ERR_SANDBOX_FAILURE', `Docker ${step} failed: ${(err as Error).message}`, { cause: err });
}

/** A start the engine refused for reasons of the request (bad command path, not executable). */
function startFailure(message: string): ExecResult {
  const notFound = /no such file|not found/i.test(message);
  return {
    stdout: Buffer.alloc(0),
    stderr: Buffer.from(message),
    combined: Buffer.from(message),
    exitCode: notFound ? 127 : 126,
    signal: null,
    truncated: false,
    timedOut: false,
    startError: message,
  };
}

function withTimeout(promise: Promise<void>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    promise.then(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
