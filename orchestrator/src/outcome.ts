/**
 * The one result builder. Every path (a warm or one-shot container, a gVisor sandbox, a QEMU or
 * Firecracker VM) reports raw facts (`ExecResult`); this turns them into an `Outcome` the same way
 * for all of them, so the same command ends the same way whatever ran it.
 */
import type { Invocation, InvocationPhases, Outcome, OutcomeStatus } from '@faas/common';
import type { ExecResult } from '@faas/executor';

const MIB = 1024 * 1024;

/**
 * How the facts classify: a kill by the platform's own timer or an abort wins over what the
 * command's wait status says; an OOM record counts only when the command itself died of SIGKILL
 * (a child killed for memory under a shell that carried on is the shell's business).
 */
export function classify(facts: ExecResult): OutcomeStatus {
  if (facts.cancelled) return 'cancelled';
  if (facts.timedOut) return 'timed_out';
  if (facts.oomKilled && facts.signal === 'SIGKILL') return 'out_of_memory';
  return 'completed';
}

/** The `error` text of an outcome: null for a clean exit, otherwise how it ended, in words. */
export function describe(status: OutcomeStatus, facts: ExecResult, invocation: Invocation): string | null {
  switch (status) {
    case 'cancelled':
      return 'Command was killed: the invocation was cancelled';
    case 'timed_out':
      return `Command was killed: it did not finish within its timeout of ${invocation.timeoutMs} ms`;
    case 'out_of_memory':
      return `Command was killed: it exceeded its memory limit of ${Math.round(invocation.limits.memoryBytes / MIB)} MiB`;
    case 'completed':
      if (facts.startError) return facts.startError;
      if (facts.signal) return `Command was killed by signal ${facts.signal}`;
      if (facts.exitCode !== 0) return `Command exited with non-zero status: ${facts.exitCode}`;
      return null;
  }
}

export function buildOutcome(
  invocation: Invocation,
  facts: ExecResult,
  timing: { started: number; phases: InvocationPhases },
  released: Promise<void>,
): Outcome {
  const status = classify(facts);
  // A kill by the platform is reported as such, whatever wait status the sandbox saw.
  const killedByPlatform = status !== 'completed';
  return {
    invocationId: invocation.id,
    functionId: invocation.functionId,
    executor: invocation.executor,
    status,
    exitCode: killedByPlatform ? null : facts.exitCode,
    signal: killedByPlatform ? 'SIGKILL' : facts.signal,
    ...(status === 'completed' && facts.startError !== undefined ? { startError: facts.startError } : {}),
    error: describe(status, facts, invocation),
    stdout: facts.stdout,
    stderr: facts.stderr,
    combined: facts.combined,
    truncated: facts.truncated,
    durationMs: Math.round((performance.now() - timing.started) * 1000) / 1000,
    phases: timing.phases,
    released,
  };
}
