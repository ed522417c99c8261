/**
 * The innermost dispatch: get a sandbox, run the resolved command in it, build the outcome, and
 * give the sandbox back after the answer. It knows nothing of HTTP, queues or shutdown; the layers
 * around it do. Only platform faults throw.
 */
import { type ExecutorKind, FaasError, type Invocation, type IsolationMode, type Logger } from '@faas/common';
import type { ExecResult, Executor } from '@faas/executor';
import type { Dispatch } from './dispatch.js';
import { type ExecPolicy, resolveExecRequest } from './exec-policy.js';
import { buildOutcome } from './outcome.js';
import type { SandboxSource } from './sandboxes.js';

export interface CoreOptions {
  executors: ReadonlyMap<ExecutorKind, Executor>;
  sandboxes: SandboxSource;
  policy: ExecPolicy;
  defaultIsolation: IsolationMode;
  log: Logger;
}

const round = (ms: number): number => Math.round(ms * 1000) / 1000;

export function coreDispatch(options: CoreOptions): Dispatch {
  const { executors, sandboxes, policy, log } = options;
  return async (invocation: Invocation, context) => {
    const executor = executors.get(invocation.executor);
    if (!executor) throw new FaasError('FAAS_ERR_EXECUTOR_NOT_ALLOWED', `executor "${invocation.executor}" is not enabled`);
    const { signal, phases } = context;
    signal.throwIfAborted();
    const spec = { functionId: invocation.functionId, image: invocation.image, limits: invocation.limits, invocationId: invocation.id };
    const acquiring = performance.now();
    const lease = await sandboxes.acquire(executor, invocation.isolation ?? options.defaultIsolation, spec, signal);
    phases.acquireMs = round(performance.now() - acquiring);

    const running = performance.now();
    let facts: ExecResult;
    try {
      facts = await executor.invoke(lease.sandbox, resolveExecRequest(invocation, lease.sandbox.image, policy, signal));
    } catch (err) {
      // A sandbox that failed is never handed out again; cleanup finishes before the fault is reported.
      await lease
        .release(false)
        .catch((e: Error) =>
          log.warn({ invocationId: invocation.id, functionId: invocation.functionId, err: e.message }, 'sandbox cleanup failed'),
        );
      throw err;
    }
    phases.runMs = round(performance.now() - running);

    // A killed invocation may have left anything behind: its sandbox is destroyed, never reset.
    // (An executor whose sandbox broke otherwise refuses release, which destroys it too.)
    const healthy = !facts.timedOut && !facts.cancelled;
    // The answer goes out before cleanup and refills compete for the CPU (setImmediate).
    const released = new Promise<void>((resolve) => setImmediate(resolve)).then(async () => {
      const releasing = performance.now();
      await lease.release(healthy).catch((err: Error) => {
        log.warn(
          { invocationId: invocation.id, functionId: invocation.functionId, sandbox: lease.sandbox.id, err: err.message },
          'sandbox cleanup failed',
        );
      });
      phases.releaseMs = round(performance.now() - releasing);
    });
    return buildOutcome(invocation, facts, { started: context.started, phases }, released);
  };
}
