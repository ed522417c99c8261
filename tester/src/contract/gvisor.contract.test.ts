/** The executor contract for DockerExecutor with gVisor's runsc runtime (executor kind `gvisor`). */
import { DockerExecutor } from '@faas/executor';
import { DOCKER_HOST, runtimeUnavailableReason } from '../support/docker.js';
import { dockerLeftovers, ONE_SHOT_KNOWN_ISSUES } from './docker-support.js';
import { runExecutorContract } from './executor-contract.js';

const unavailable = await runtimeUnavailableReason('runsc');

await runExecutorContract(
  'gvisor',
  async () =>
    unavailable
      ? undefined
      : new DockerExecutor({
          kind: 'gvisor',
          runtime: 'runsc',
          dockerHost: DOCKER_HOST,
          user: '65534:65534',
          imagePull: 'never',
          outputLimitBytes: 1024 * 1024,
        }),
  // gVisor under ptrace takes about a second per container; three at a time suits two cores.
  {
    skipReason: () => `${unavailable}: install gVisor (scripts/setup-host.sh)`,
    leftovers: dockerLeftovers('gvisor'),
    todo: ONE_SHOT_KNOWN_ISSUES,
    concurrency: 3,
  },
);
