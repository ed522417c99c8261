/**
 * A complete ExecRequest from a command and a few overrides, with the values the platform's policy
 * would give by default (orchestrator/src/exec-policy.ts). For tests, benchmarks and tools that
 * drive an executor directly; the orchestrator resolves its own.
 */
import { randomUUID } from 'node:crypto';
import type { ExecRequest } from './executor.js';

export function execRequest(command: string[], extra: Partial<Omit<ExecRequest, 'command'>> = {}): ExecRequest {
  return {
    invocationId: randomUUID(),
    command,
    env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'HOME=/tmp', ...(extra.env ?? [])],
    cwd: '/tmp',
    uid: 65534,
    gid: 65534,
    stdin: Buffer.alloc(0),
    timeoutMs: 30_000,
    outputBytes: 1024 * 1024,
    ...extra,
    ...(extra.env ? { env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'HOME=/tmp', ...extra.env] } : {}),
  };
}
