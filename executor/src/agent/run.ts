/**
 * One EXEC on a guest agent, turned into raw facts the same way for every executor that has one
 * (Docker and gVisor containers, QEMU and Firecracker VMs). The host keeps its own deadline: when
 * the agent does not answer within the command's timeout plus `slackMs` (a starved or stuck
 * guest), the command is reported timed out and the sandbox must be destroyed. A transport that
 * dies is a platform fault, unless the sandbox's OOM record explains it: then the command was
 * killed at its memory limit (gVisor sandboxes die whole when they reach it).
 *
 * The fault classification every agent-backed executor shares (faults.ts):
 * - the sandbox is known dead, or its agent's connection is gone, before EXEC is written:
 *   FAAS_ERR_SANDBOX_LOST, started false (nothing ran);
 * - the agent hangs up, or the executor learns the sandbox died, after EXEC was written:
 *   FAAS_ERR_SANDBOX_LOST, started true, whatever the agent may have said;
 * - the agent misbehaves (garbage, a wrong answer): FAAS_ERR_SANDBOX_FAILURE, started true; a
 *   well-formed refusal (an ERROR frame) says started false.
 */
import { FaasError } from '@faas/common';
import type { ExecRequest, ExecResult } from '../executor.js';
import { sandboxLost, withStarted } from '../faults.js';
import { type AgentClient, MAX_OUTPUT_BYTES, toExecResult } from './client.js';

/** Tells whether the sandbox's kernel killed something for lack of memory since `mark()`. */
export interface OomProbe<Mark = unknown> {
  mark(): Promise<Mark>;
  killedSince(mark: Mark): Promise<boolean>;
}

export interface AgentRun {
  facts: ExecResult;
  /** False when the agent connection is no longer usable: the sandbox must be destroyed. */
  healthy: boolean;
}

const EMPTY = Buffer.alloc(0);

/**
 * How long an answer that a kill could explain waits for news of the sandbox's death (the agent's
 * hang-up, an engine event) before it is trusted. Only such endings pay it.
 */
const KILL_SETTLE_MS = 20;

function killed(extra: Partial<ExecResult>): ExecResult {
  return {
    stdout: EMPTY,
    stderr: EMPTY,
    combined: EMPTY,
    exitCode: null,
    signal: 'SIGKILL',
    truncated: false,
    timedOut: false,
    ...extra,
  };
}

export interface ExecOnAgentOptions {
  /** Time past the command's timeout before the host stops waiting for the agent. */
  slackMs: number;
  oom?: OomProbe;
  /**
   * The command's RLIMIT_NPROC, for sandboxes with a kernel of their own (VMs, gVisor), where it
   * counts the sandbox's processes alone: from `limits.pids`. Never for runc containers: the host
   * kernel would count every process of the sandbox user on the host (their pids cgroup already
   * counts the function's processes exactly). Needs an agent with the `max_processes` capability.
   */
  maxProcesses?: number;
  /** Why the executor knows the sandbox is dead (an engine event, the VMM's exit), if it does. */
  lost?: () => string | undefined;
}

/** Why the sandbox cannot be used: what the executor knows, else the agent's connection. */
function lossOf(agent: AgentClient, options: ExecOnAgentOptions): string | undefined {
  const known = options.lost?.();
  if (known) return known;
  if (agent.lost) return 'its guest agent hung up';
  return undefined;
}

export async function execOnAgent(agent: AgentClient, request: ExecRequest, options: ExecOnAgentOptions): Promise<AgentRun> {
  if (request.outputBytes > MAX_OUTPUT_BYTES) {
    throw new FaasError('FAAS_ERR_INTERNAL', `output cap ${request.outputBytes} exceeds the agent protocol's ${MAX_OUTPUT_BYTES} bytes`);
  }
  if (request.signal?.aborted) return { facts: killed({ cancelled: true }), healthy: true };
  const mark = options.oom ? await options.oom.mark() : undefined;
  // Checked just before EXEC is written (nothing can close the stream in between): past this
  // point the command may have started.
  const before = lossOf(agent, options) ?? (agent.closed ? 'its guest agent connection is closed' : undefined);
  if (before) throw sandboxLost(`the sandbox died before the command started: ${before}`, false);
  const local = new AbortController();
  let hostTimedOut = false;
  const timer = setTimeout(
    () => {
      hostTimedOut = true;
      local.abort();
    },
    Math.min(request.timeoutMs + options.slackMs, 0x7fff_ffff),
  );
  const onAbort = () => local.abort();
  request.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const result = await agent.exec(
      {
        command: request.command,
        env: request.env,
        cwd: request.cwd,
        uid: request.uid,
        gid: request.gid,
        stdin: request.stdin,
        timeoutMs: request.timeoutMs,
        maxOutputBytes: request.outputBytes,
        ...(options.maxProcesses !== undefined ? { maxProcesses: options.maxProcesses } : {}),
      },
      // The host deadline is ours (above); the client's own must never fire first.
      { signal: local.signal, deadlineMs: request.timeoutMs + options.slackMs + 60_000 },
    );
    const oomKilled =
      result.signal === 'SIGKILL' && !result.timedOut && options.oom ? await options.oom.killedSince(mark).catch(() => false) : false;
    // An ending an outside kill leaves (a signal, or a shell's 128 + n) is not trusted while the
    // sandbox is dying: a hang-up that arrived with the answer is let through first. Any other
    // ending is the command's own, even from a sandbox that died a moment later.
    const byKill = (result.signal !== null || (result.exitCode ?? 0) > 128) && !result.timedOut && !oomKilled;
    if (byKill) {
      await new Promise((resolve) => setTimeout(resolve, KILL_SETTLE_MS));
      const after = lossOf(agent, options);
      if (after) throw sandboxLost(`the sandbox was killed while the command ran: ${after}`, true);
    }
    const facts = toExecResult(result, { oomKilled });
    return { facts, healthy: true };
  } catch (err) {
    // Whatever happened, the client is failed for good: the sandbox is not reused.
    if (hostTimedOut) return { facts: killed({ timedOut: true }), healthy: false };
    if (request.signal?.aborted) return { facts: killed({ cancelled: true }), healthy: false };
    const lostOrFailed = err instanceof FaasError && (err.code === 'FAAS_ERR_SANDBOX_LOST' || err.code === 'FAAS_ERR_SANDBOX_FAILURE');
    if (!lostOrFailed) throw err;
    // A sandbox whose memory cgroup killed it while the command ran (under gVisor the whole
    // Sentry goes) ran out of the function's memory: that is the function's outcome, not a loss.
    if (options.oom && (await options.oom.killedSince(mark).catch(() => false))) {
      return { facts: killed({ oomKilled: true }), healthy: false };
    }
    if (err.code === 'FAAS_ERR_SANDBOX_LOST') throw err;
    const loss = lossOf(agent, options);
    if (loss) throw sandboxLost(`the sandbox died while the command ran: ${loss}`, true, err);
    // A well-formed refusal of the request means the agent did not run it.
    const refused = err instanceof FaasError && err.details?.agentCode !== undefined;
    throw withStarted(err, !refused);
  } finally {
    clearTimeout(timer);
    request.signal?.removeEventListener('abort', onAbort);
  }
}

/** A container sandbox served by the guest agent, as release() sees it. */
export interface AgentSandbox {
  id: string;
  agent?: AgentClient;
  broken: boolean;
  reusable: boolean;
}

/**
 * release() of a container executor: the agent kills every process the invocation left behind
 * and empties /tmp (and the IPC namespace). A sandbox that is broken, single-use or has no agent
 * is refused (FAAS_ERR_SANDBOX_FAILURE); a failed reset marks it broken and rethrows.
 */
export async function resetForReuse(box: AgentSandbox): Promise<void> {
  if (!box.agent || box.broken || !box.reusable) {
    throw new FaasError('FAAS_ERR_SANDBOX_FAILURE', `sandbox ${box.id} cannot be reused`);
  }
  try {
    await box.agent.reset({ scratchDir: '/tmp' });
  } catch (err) {
    box.broken = true;
    throw err;
  }
}
