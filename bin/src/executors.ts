/**
 * Builds the executors a configuration enables. The only place that knows which class serves
 * which executor kind.
 */
import type { Config, ExecutorKind, LoggerFactory } from '@faas/common';
import { DockerExecutor, type Executor } from '@faas/executor';

export function createExecutors(config: Readonly<Config>, logs: LoggerFactory): Map<ExecutorKind, Executor> {
  const executors = new Map<ExecutorKind, Executor>();
  for (const kind of config.allowedExecutors) {
    executors.set(kind, createExecutor(kind, config, logs));
  }
  return executors;
}

function createExecutor(kind: ExecutorKind, config: Readonly<Config>, logs: LoggerFactory): Executor {
  switch (kind) {
    case 'docker':
    case 'gvisor':
      return new DockerExecutor({
        kind,
        dockerHost: config.dockerHost,
        runtime: kind === 'gvisor' ? config.gvisorRuntime : 'runc',
        user: config.sandboxUser,
        imagePull: config.imagePull,
        outputLimitBytes: config.defaultLimits.outputBytes,
        agentPath: config.agentPath,
        logger: logs.for(kind),
      });
    case 'qemu':
    case 'firecracker':
      throw new Error(`executor "${kind}" is not available in this build`);
  }
}
