/**
 * Builds the executors a configuration enables. The only place that knows which class serves
 * which executor kind.
 */
import { type Config, type ExecutorKind, FaasError, type LoggerFactory } from '@faas/common';
import { DockerExecutor, type Executor, FirecrackerExecutor, OciExecutor, QemuExecutor } from '@faas/executor';

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
        imagePull: config.imagePull,
        agentPath: requireAgent(config, kind),
        sweepIntervalMs: config.pool.sweepMs,
        logger: logs.for(kind),
      });
    case 'oci':
      return new OciExecutor({
        runtimePath: config.oci.runtimePath,
        runtimeArgs: config.oci.runtimeArgs,
        dockerHost: config.dockerHost,
        imagePull: config.imagePull,
        agentPath: requireAgent(config, kind),
        cacheDir: config.oci.rootfsCacheDir,
        userns: config.oci.userns,
        ...(config.oci.imageLayout ? { imageLayout: config.oci.imageLayout } : {}),
        logger: logs.for(kind),
      });
    case 'qemu':
      return new QemuExecutor({
        qemuBinary: config.qemu.binaryPath,
        kernelPath: config.qemu.kernelPath,
        rootfsDir: config.qemu.rootfsDir,
        agentPath: requireAgent(config, kind),
        dockerHost: config.dockerHost,
        ...(config.vmSnapshots !== undefined ? { snapshots: config.vmSnapshots } : {}),
        sweepIntervalMs: config.pool.sweepMs,
        logger: logs.for(kind),
      });
    case 'firecracker': {
      const fc = config.firecracker;
      if (!fc)
        throw new FaasError(
          'FAAS_ERR_CONFIG',
          'the firecracker executor needs FAAS_FC_BINARY_PATH, FAAS_FC_KERNEL_PATH and FAAS_FC_ROOTFS_PATH: see docs/microvm.md "Running with Firecracker (KVM hosts)"',
        );
      return new FirecrackerExecutor({
        binaryPath: fc.binaryPath,
        kernelPath: fc.kernelPath,
        rootfsPath: fc.rootfsPath,
        ...(config.agentPath ? { agentPath: config.agentPath, rootfsDir: config.qemu.rootfsDir, dockerHost: config.dockerHost } : {}),
        ...(fc.jailerPath ? { jailer: { path: fc.jailerPath } } : {}),
        ...(config.vmSnapshots !== undefined ? { snapshots: config.vmSnapshots } : {}),
        sweepIntervalMs: config.pool.sweepMs,
        logger: logs.for(kind),
      });
    }
  }
}

function requireAgent(config: Readonly<Config>, kind: ExecutorKind): string {
  if (!config.agentPath) {
    throw new FaasError(
      'FAAS_ERR_CONFIG',
      `the ${kind} executor needs the guest agent: build it with \`bash guest-agent/build.sh\` or set FAAS_AGENT_PATH`,
    );
  }
  return config.agentPath;
}
