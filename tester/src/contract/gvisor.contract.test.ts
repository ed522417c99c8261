/**
 * The executor contract for DockerExecutor with gVisor's runsc runtime (executor kind `gvisor`), in
 * both of its mechanisms: one-shot containers (the agent over the attached stdio) and warm, agent-backed, reusable
 * containers whose agent speaks over the attached stdio (runsc keeps its sockets out of view).
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { DEFAULT_AGENT_PATH, REPO_ROOT } from '@faas/common';
import { DockerExecutor } from '@faas/executor';
import { DOCKER_HOST, runtimeUnavailableReason } from '../support/docker.js';
import { dockerLeftovers, killContainerOf, oneShotView } from './docker-support.js';
import { runExecutorContract } from './executor-contract.js';

const unavailable = await runtimeUnavailableReason('runsc');
const agentPath = resolve(REPO_ROOT, DEFAULT_AGENT_PATH);
const base = {
  kind: 'gvisor',
  runtime: 'runsc',
  dockerHost: DOCKER_HOST,
  imagePull: 'never',
} as const;
const skipReason = () => `${unavailable}: install gVisor (scripts/setup-host.sh)`;

// gVisor under ptrace takes about a second per container; three at a time suits two cores.
await runExecutorContract(
  'gvisor',
  async () => (unavailable || !existsSync(agentPath) ? undefined : oneShotView(new DockerExecutor({ ...base, agentPath }))),
  {
    skipReason,
    leftovers: dockerLeftovers('gvisor'),
    killFromOutside: killContainerOf,
    concurrency: 3,
  },
);

await runExecutorContract(
  'gvisor warm (guest agent)',
  async () => (unavailable || !existsSync(agentPath) ? undefined : new DockerExecutor({ ...base, agentPath })),
  {
    skipReason: () => (unavailable ? skipReason() : `no guest agent at ${agentPath}: build it with \`bash guest-agent/build.sh\``),
    leftovers: dockerLeftovers('gvisor'),
    killFromOutside: killContainerOf,
    concurrency: 3,
  },
);
