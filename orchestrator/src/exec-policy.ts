/**
 * Everything about how a command runs is decided here, once, before any executor sees it: the
 * environment, the working directory, the user, the output cap and the timeout. Executors apply
 * the resolved request as given, so the same invocation runs the same way in every sandbox.
 */
import type { Invocation } from '@faas/common';
import type { ExecRequest, ImageConfig } from '@faas/executor';

/** What every command starts with before the image's and the caller's variables. */
export const PLATFORM_ENV: readonly string[] = ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'HOME=/tmp'];

/** The writable scratch folder, and the working directory when the image names none. */
export const SCRATCH_DIR = '/tmp';

export interface ExecPolicy {
  uid: number;
  gid: number;
}

/** Parses FAAS_SANDBOX_USER (`uid[:gid]`, numeric; validated by the config). */
export function execPolicy(sandboxUser: string): ExecPolicy {
  const [uid, gid] = sandboxUser.split(':').map(Number);
  const u = Number.isInteger(uid) ? (uid as number) : 65534;
  return { uid: u, gid: Number.isInteger(gid) ? (gid as number) : u };
}

/** Platform defaults, then the image's environment, then the caller's; a later key wins. */
export function mergeEnv(...layers: ReadonlyArray<readonly string[]>): string[] {
  const merged = new Map<string, string>();
  for (const layer of layers) {
    for (const entry of layer) {
      const eq = entry.indexOf('=');
      merged.set(eq < 0 ? entry : entry.slice(0, eq), entry);
    }
  }
  return [...merged.values()];
}

export function resolveExecRequest(invocation: Invocation, image: ImageConfig, policy: ExecPolicy, signal: AbortSignal): ExecRequest {
  return {
    invocationId: invocation.id,
    command: invocation.command,
    // HOME stays the platform's: images often set it to a folder the sandbox user cannot write.
    env: mergeEnv(
      PLATFORM_ENV,
      image.env.filter((e) => !e.startsWith('HOME=')),
      invocation.env,
    ),
    cwd: image.workingDir ?? SCRATCH_DIR,
    uid: policy.uid,
    gid: policy.gid,
    stdin: invocation.stdin,
    timeoutMs: invocation.timeoutMs,
    outputBytes: invocation.limits.outputBytes,
    signal,
  };
}
