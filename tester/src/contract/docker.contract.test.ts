/**
 * The executor contract for DockerExecutor with runc (executor kind `docker`), in both of its
 * mechanisms: one-shot containers (the agent over the attached stdio) and warm, agent-backed, reusable containers.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { DEFAULT_AGENT_PATH, REPO_ROOT } from '@faas/common';
import { DockerExecutor } from '@faas/executor';
import { DOCKER_HOST, dockerUnavailableReason } from '../support/docker.js';
import { dockerLeftovers, killContainerOf, oneShotView } from './docker-support.js';
import { runExecutorContract } from './executor-contract.js';

const unavailable = await dockerUnavailableReason();
const agentPath = resolve(REPO_ROOT, DEFAULT_AGENT_PATH);
const base = { kind: 'docker', dockerHost: DOCKER_HOST, imagePull: 'never' } as const;
const skipReason = () => `${unavailable}: start dockerd (scripts/setup-host.sh)`;

await runExecutorContract(
  'docker one-shot',
  async () => (unavailable || !existsSync(agentPath) ? undefined : oneShotView(new DockerExecutor({ ...base, agentPath }))),
  {
    skipReason,
    leftovers: dockerLeftovers('docker'),
    killFromOutside: killContainerOf,
    concurrency: 4,
  },
);

await runExecutorContract(
  'docker warm (guest agent)',
  async () => (unavailable || !existsSync(agentPath) ? undefined : new DockerExecutor({ ...base, agentPath })),
  {
    skipReason: () => unavailable ?? `no guest agent at ${agentPath}: build it with \`bash guest-agent/build.sh\``,
    leftovers: dockerLeftovers('docker'),
    killFromOutside: killContainerOf,
    concurrency: 4,
  },
);
