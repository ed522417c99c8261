/**
 * The innermost dispatch: get a sandbox, run the resolved command in it, build the outcome, and
 * give the sandbox back after the answer. It knows nothing of HTTP, queues or shutdown; the layers
 * around it do. Only platform faults throw.
 *
 * A sandbox that turns out dead before the command started (FAAS_ERR_SANDBOX_LOST with `started`
 * false: a spare killed from outside, one that died with its engine, one that died or whose agent
 * hung up while it started) is replaced and the invocation run on a fresh one, transparently, up
 * to MAX_SANDBOX_ATTEMPTS sandboxes while the invocation is within its deadline: the caller never
 * sees a fault for a sandbox nothing of theirs ran in. A sandbox that cannot be started for a
 * reason another start would meet again (its agent cannot be executed, the runtime refuses the
 * spec: FAAS_ERR_SANDBOX_FAILURE) is reported at once. One that died while the command ran is
 * reported (`started` true); whether to run it again is the caller's decision. Every fault of a
 * sandbox (a 502) says `started`: false for any fault while getting one.
 */
import { type ExecutorKind, FaasError, type Invocation, type IsolationMode, isFaasError, type Logger } from '@faas/common';
import { type ExecResult, type Executor, failedBeforeStart, lostBeforeStart, withStarted } from '@faas/executor';
import type { Dispatch } from './dispatch.js';
import { type ExecPolicy, resolveExecRequest } from './exec-policy.js';
import { buildOutcome } from './outcome.js';
import type { SandboxLease, SandboxSource } from './sandboxes.js';

export interface CoreOptions {
  executors: ReadonlyMap<ExecutorKind, Executor>;
  sandboxes: SandboxSource;
  policy: ExecPolicy;
  defaultIsolation: IsolationMode;
  log: Logger;
}

/** Sandboxes one invocation may go through when each turns out dead before its command starts. */
export const MAX_SANDBOX_ATTEMPTS = 3;

const round = (ms: number): number => Math.round(ms * 1000) / 1000;

export function coreDispatch(options: CoreOptions): Dispatch {
  const { executors, sandboxes, policy, log } = options;
  return async (invocation: Invocation, context) => {
    const executor = executors.get(invocation.executor);
    if (!executor) throw new FaasError('FAAS_ERR_EXECUTOR_NOT_ALLOWED', `executor "${invocation.executor}" is not enabled`);
    const { signal, phases } = context;
    signal.throwIfAborted();
    const spec = { functionId: invocation.functionId, image: invocation.image, limits: invocation.limits, invocationId: invocation.id };
    const mode = invocation.isolation ?? options.defaultIsolation;
    // The deadline for finding a live sandbox: the invocation's own timeout, counted from when it
    // got its slot, so replacements never make a caller wait more than about twice that in all.
    const deadline = performance.now() + invocation.timeoutMs;
    const retryable = (err: unknown, attempt: number): boolean =>
      lostBeforeStart(err) && attempt < MAX_SANDBOX_ATTEMPTS && performance.now() < deadline && !signal.aborted;

    let lease: SandboxLease;
    let facts: ExecResult;
    let running = 0;
    phases.acquireMs = 0;
    for (let attempt = 1; ; attempt++) {
      const acquiring = performance.now();
      try {
        lease = await sandboxes.acquire(executor, mode, spec, signal);
      } catch (err) {
        // Nothing was sent to a sandbox yet, whichever executor failed and however.
        const fault = failedBeforeStart(err);
        if (!retryable(fault, attempt)) throw fault;
        log.info({ invocationId: invocation.id, attempt, err: (err as Error).message }, 'sandbox died while starting; trying another');
        continue;
      } finally {
        phases.acquireMs = round(phases.acquireMs + performance.now() - acquiring);
      }
      running = performance.now();
      try {
        facts = await executor.invoke(lease.sandbox, resolveExecRequest(invocation, lease.sandbox.image, policy, signal));
        break;
      } catch (err) {
        // A sandbox that failed is never handed out again; cleanup finishes before the fault is reported.
        await lease
          .release(false)
          .catch((e: Error) =>
            log.warn({ invocationId: invocation.id, functionId: invocation.functionId, err: e.message }, 'sandbox cleanup failed'),
          );
        // A fault of the sandbox (a 502) that does not say is taken as one that may have run the command.
        if (!retryable(err, attempt)) throw isFaasError(err) && err.status === 502 ? withStarted(err, true) : err;
        log.info(
          { invocationId: invocation.id, sandbox: lease.sandbox.id, attempt, err: (err as Error).message },
          'sandbox was dead before the command started; running it on another',
        );
        // The time spent on the dead sandbox was spent getting a sandbox.
        phases.acquireMs = round(phases.acquireMs + performance.now() - running);
      }
    }
    phases.runMs = round(performance.now() - running);

    // A killed invocation may have left anything behind: its sandbox is destroyed, never reset.
    // (An executor whose sandbox broke otherwise refuses release, which destroys it too.)
    const healthy = !facts.timedOut && !facts.cancelled;
    const held = lease;
    // The answer goes out before cleanup and refills compete for the CPU (setImmediate).
    const released = new Promise<void>((resolve) => setImmediate(resolve)).then(async () => {
      const releasing = performance.now();
      await held.release(healthy).catch((err: Error) => {
        log.warn(
          { invocationId: invocation.id, functionId: invocation.functionId, sandbox: held.sandbox.id, err: err.message },
          'sandbox cleanup failed',
        );
      });
      phases.releaseMs = round(performance.now() - releasing);
    });
    return buildOutcome(invocation, facts, { started: context.started, phases }, released);
  };
}
