/**
 * What the oci executor's tests need on the host, for their one-line skip: the OCI runtime, the
 * default seccomp profile, the guest agent and the Docker image store.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { DEFAULT_SECCOMP_PROFILE } from '@faas/executor';
import { dockerUnavailableReason } from './docker.js';

const run = promisify(execFile);

/** Why the oci executor cannot run here with `runtime` and the agent at `agentPath`, or undefined. */
export async function ociUnavailableReason(runtime: string, agentPath: string): Promise<string | undefined> {
  try {
    await run(runtime, ['--version']);
  } catch {
    return `no OCI runtime ${runtime}: install runc`;
  }
  if (!existsSync(DEFAULT_SECCOMP_PROFILE)) return `no seccomp profile at ${DEFAULT_SECCOMP_PROFILE}: run scripts/setup-host.sh`;
  if (!existsSync(agentPath)) return `no guest agent at ${agentPath}: build it with \`bash guest-agent/build.sh\``;
  const docker = await dockerUnavailableReason();
  return docker ? `${docker}: start dockerd (scripts/setup-host.sh)` : undefined;
}
