/**
 * The platform's configuration, read from the environment in exactly one place. `loadConfig` is a
 * pure function of the variables it is given: it validates every FAAS_* variable, names the bad
 * one and the fix, rejects unknown FAAS_* names (a typo must not silently fall back to a default),
 * and returns a frozen object.
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FaasError } from './errors.js';
import { EXECUTOR_KINDS, type ExecutorKind, isExecutorKind, type ResourceLimits } from './types.js';
import type { ValidationPolicy } from './validation.js';

export interface FirecrackerConfig {
  binaryPath: string;
  kernelPath: string;
  rootfsPath: string;
  jailerPath: string | undefined;
}

export interface Config {
  executorType: ExecutorKind;
  allowedExecutors: readonly ExecutorKind[];
  gateway: {
    host: string;
    port: number;
    maxBodyBytes: number;
    requestTimeoutMs: number;
    headersTimeoutMs: number;
    keepAliveTimeoutMs: number;
  };
  logFilter: string;
  dockerHost: string;
  imagePull: 'auto' | 'never';
  sandboxUser: string;
  gvisorRuntime: string;
  firecracker: FirecrackerConfig | undefined;
  qemu: { binaryPath: string; kernelPath: string; rootfsDir: string };
  timeouts: { defaultMs: number; maxMs: number };
  /** Static guest agent binary; bind-mounted into containers and baked into VM rootfs images. */
  agentPath: string | undefined;
  /** Start VMs by restoring a per-image snapshot instead of booting (undefined: executor default). */
  vmSnapshots: boolean | undefined;
  pool: {
    mode: 'off' | 'single-use' | 'reuse';
    minIdle: number;
    maxIdle: number;
    idleMs: number;
    prewarmImages: readonly string[];
  };
  maxConcurrency: number;
  maxQueue: number;
  shutdownGraceMs: number;
  maxPayloadBytes: number;
  defaultLimits: ResourceLimits;
  maxLimits: { memoryBytes: number; cpus: number; pids: number };
}

const MIB = 1024 * 1024;
/** The repository root (common/dist/config.js -> ../..), for defaults that name build outputs. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Every variable the platform reads, with a one-line description (also rendered into docs). */
export const CONFIG_VARIABLES: Record<string, string> = {
  FAAS_EXECUTOR_TYPE: 'default executor: docker, gvisor, qemu or firecracker (default docker)',
  FAAS_ALLOWED_EXECUTORS: 'comma-separated executors a request may pick with "executor" (default: only FAAS_EXECUTOR_TYPE)',
  FAAS_GATEWAY_HOST: 'address the gateway binds (default 127.0.0.1)',
  FAAS_GATEWAY_PORT: 'port the gateway listens on (default 8080; 0 picks a free port)',
  FAAS_MAX_BODY_BYTES: 'largest accepted request body (default 8 MiB)',
  FAAS_REQUEST_TIMEOUT_MS: 'time a client has to send a whole request (headers and body); slower clients get 408 (default 10000)',
  FAAS_LOG_LEVEL: 'log filter, RUST_LOG syntax: "info" or "warn,gateway=debug" (default info; RUST_LOG is read too)',
  FAAS_IMAGE_PULL: '"auto" pulls images missing locally when a registry is reachable, "never" does not (default auto)',
  FAAS_SANDBOX_USER: 'uid:gid that functions run as inside containers (default 65534:65534, nobody)',
  FAAS_GVISOR_RUNTIME: 'Docker runtime name of gVisor for the gvisor executor (default runsc)',
  FAAS_FC_BINARY_PATH: 'path of the firecracker binary (firecracker executor)',
  FAAS_FC_KERNEL_PATH:
    'path of the guest kernel, an uncompressed vmlinux (firecracker and qemu executors; qemu defaults to .cache/kernel/vmlinux from build-kernel.sh)',
  FAAS_FC_ROOTFS_PATH: 'path of the default rootfs.ext4 (firecracker executor)',
  FAAS_FC_JAILER_PATH: 'path of the jailer binary; when set, VMs start inside it (firecracker executor)',
  FAAS_QEMU_BINARY_PATH: 'qemu-system-x86_64 binary (qemu executor; default from PATH)',
  FAAS_ROOTFS_DIR: 'folder of rootfs images built per image by the rootfs builder (default .cache/rootfs in the repository)',
  FAAS_AGENT_PATH:
    'static guest agent binary (default guest-agent/target/x86_64-unknown-linux-gnu/release/faas-guest-agent when built); without it containers run cold only',
  FAAS_VM_SNAPSHOTS:
    'on: start microVMs by restoring a snapshot taken once per image at agent-ready; off: boot every VM (default on for qemu, off for firecracker until verified on KVM)',
  FAAS_POOL_MODE:
    'warm sandboxes: "single-use" (a fresh pre-started sandbox per invocation, default), "reuse" (a sandbox serves later invocations of the same function, reset in between) or "off"',
  FAAS_POOL_MIN_IDLE: 'spare sandboxes kept ready per recently used image and limits (default 2)',
  FAAS_POOL_MAX_IDLE: 'idle sandboxes across all functions (default 32)',
  FAAS_POOL_IDLE_MS: 'an idle sandbox older than this is removed, and a function unused this long gets no spares (default 300000)',
  FAAS_POOL_PREWARM: 'comma-separated images to start spares for at start-up, with default limits (default none)',
  FAAS_DEFAULT_TIMEOUT_MS: 'timeout of an invocation that names none (default 30000)',
  FAAS_MAX_TIMEOUT_MS: 'largest timeout_ms a request may ask for (default 300000)',
  FAAS_MAX_CONCURRENCY: 'invocations running at once (default 16)',
  FAAS_MAX_QUEUE: 'invocations waiting for a slot before 429 (default 64)',
  FAAS_SHUTDOWN_GRACE_MS: 'time in-flight invocations get to finish on SIGTERM (default 30000)',
  FAAS_MAX_PAYLOAD_BYTES: 'largest decoded stdin payload (default 6 MiB)',
  FAAS_MAX_OUTPUT_BYTES: 'cap on each captured output stream, stdout and stderr (default 1 MiB)',
  FAAS_DEFAULT_MEMORY_MB: 'memory limit of a sandbox (default 256)',
  FAAS_MAX_MEMORY_MB: 'largest limits.memory_mb a request may ask for (default 2048)',
  FAAS_DEFAULT_CPUS: 'CPU quota of a sandbox in cores (default 1)',
  FAAS_MAX_CPUS: 'largest limits.cpus a request may ask for (default: number of host cores)',
  FAAS_DEFAULT_PIDS: 'process limit of a sandbox (default 128)',
  FAAS_MAX_PIDS: 'largest limits.pids a request may ask for (default 1024)',
  FAAS_TMP_SIZE_MB: 'size of the writable /tmp in a sandbox (default 64)',
};

/** Variables that were renamed or never existed under a plausible name: say what to use instead. */
const RENAMED: Record<string, string> = {
  FAAS_PORT: 'FAAS_GATEWAY_PORT',
  FAAS_EXECUTOR: 'FAAS_EXECUTOR_TYPE',
  FAAS_TIMEOUT_MS: 'FAAS_DEFAULT_TIMEOUT_MS',
  FAAS_CONCURRENCY: 'FAAS_MAX_CONCURRENCY',
};

function configError(message: string): never {
  throw new FaasError('FAAS_ERR_CONFIG', message);
}

function readInt(env: Record<string, string | undefined>, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw.trim());
  if (!Number.isInteger(value) || value < min || value > max) {
    configError(`${name}="${raw}" is invalid: use an integer from ${min} to ${max}`);
  }
  return value;
}

function readNumber(env: Record<string, string | undefined>, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw.trim());
  if (!Number.isFinite(value) || value < min || value > max) {
    configError(`${name}="${raw}" is invalid: use a number from ${min} to ${max}`);
  }
  return value;
}

function requireFile(name: string, path: string | undefined, howToBuild: string): string {
  if (!path) configError(`${name} is required when FAAS_EXECUTOR_TYPE=firecracker: ${howToBuild}`);
  if (!existsSync(path) || !statSync(path).isFile()) {
    configError(`${name}=${path}: no such file. ${howToBuild}`);
  }
  return path;
}

function parseExecutorList(raw: string, name: string): ExecutorKind[] {
  const list = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const item of list) {
    if (!isExecutorKind(item)) configError(`${name} lists "${item}": use any of ${EXECUTOR_KINDS.join(', ')}`);
  }
  return [...new Set(list)] as ExecutorKind[];
}

export function loadConfig(env: Record<string, string | undefined>, hostCpus = 1): Readonly<Config> {
  for (const name of Object.keys(env)) {
    if (!name.startsWith('FAAS_')) continue;
    if (RENAMED[name]) configError(`${name} is not supported: use ${RENAMED[name]} instead`);
    if (!(name in CONFIG_VARIABLES)) {
      configError(`unknown variable ${name}: the supported FAAS_* variables are listed in docs/CONFIGURATION.md`);
    }
  }

  const executorRaw = (env.FAAS_EXECUTOR_TYPE ?? 'docker').trim().toLowerCase();
  if (!isExecutorKind(executorRaw)) {
    configError(`FAAS_EXECUTOR_TYPE="${executorRaw}" is invalid: use one of ${EXECUTOR_KINDS.join(', ')}`);
  }
  const executorType = executorRaw;
  const allowed = env.FAAS_ALLOWED_EXECUTORS ? parseExecutorList(env.FAAS_ALLOWED_EXECUTORS, 'FAAS_ALLOWED_EXECUTORS') : [];
  if (!allowed.includes(executorType)) allowed.unshift(executorType);

  const host = (env.FAAS_GATEWAY_HOST ?? '127.0.0.1').trim();
  if (host === '') configError('FAAS_GATEWAY_HOST is empty: use an address such as 127.0.0.1 or 0.0.0.0');

  const imagePull = (env.FAAS_IMAGE_PULL ?? 'auto').trim();
  if (imagePull !== 'auto' && imagePull !== 'never') configError(`FAAS_IMAGE_PULL="${imagePull}" is invalid: use auto or never`);

  const sandboxUser = (env.FAAS_SANDBOX_USER ?? '65534:65534').trim();
  if (!/^[0-9]+(?::[0-9]+)?$/.test(sandboxUser)) {
    configError(`FAAS_SANDBOX_USER="${sandboxUser}" is invalid: use numeric uid:gid such as 65534:65534`);
  }
  if (/^0(?::|$)/.test(sandboxUser)) {
    configError('FAAS_SANDBOX_USER=0 would run untrusted code as root: use a non-zero uid such as 65534:65534');
  }

  const dockerHost = (env.DOCKER_HOST ?? 'unix:///var/run/docker.sock').trim();
  if (!/^(unix:\/\/\/.+|tcp:\/\/[^/]+:[0-9]+\/?|http:\/\/[^/]+:[0-9]+\/?)$/.test(dockerHost)) {
    configError(`DOCKER_HOST="${dockerHost}" is invalid: use unix:///path/to/docker.sock or tcp://host:port`);
  }

  const kernelPath = env.FAAS_FC_KERNEL_PATH?.trim() || undefined;
  let firecracker: FirecrackerConfig | undefined;
  if (allowed.includes('firecracker')) {
    const hint =
      'build it with `npm run rootfs -- --kernel` / `npm run rootfs -- --image IMAGE` (tools/firecracker-rootfs-builder) or see README "MicroVMs"';
    firecracker = {
      binaryPath: requireFile(
        'FAAS_FC_BINARY_PATH',
        env.FAAS_FC_BINARY_PATH?.trim(),
        'install Firecracker (see README "MicroVMs") and point this at its binary',
      ),
      kernelPath: requireFile('FAAS_FC_KERNEL_PATH', kernelPath, hint),
      rootfsPath: requireFile('FAAS_FC_ROOTFS_PATH', env.FAAS_FC_ROOTFS_PATH?.trim(), hint),
      jailerPath: env.FAAS_FC_JAILER_PATH?.trim()
        ? requireFile('FAAS_FC_JAILER_PATH', env.FAAS_FC_JAILER_PATH.trim(), 'point this at the jailer binary shipped with Firecracker')
        : undefined,
    };
  }

  const defaultTimeoutMs = readInt(env, 'FAAS_DEFAULT_TIMEOUT_MS', 30_000, 1, 3_600_000);
  const maxTimeoutMs = readInt(env, 'FAAS_MAX_TIMEOUT_MS', 300_000, 1, 3_600_000);
  if (defaultTimeoutMs > maxTimeoutMs) {
    configError(
      `FAAS_DEFAULT_TIMEOUT_MS=${defaultTimeoutMs} exceeds FAAS_MAX_TIMEOUT_MS=${maxTimeoutMs}: lower the default or raise the maximum`,
    );
  }
  const maxMemoryMb = readInt(env, 'FAAS_MAX_MEMORY_MB', 2048, 16, 1_048_576);
  const maxCpus = readNumber(env, 'FAAS_MAX_CPUS', Math.max(1, hostCpus), 0.01, 1024);
  const maxPids = readInt(env, 'FAAS_MAX_PIDS', 1024, 1, 1_000_000);
  const defaultMemoryMb = readInt(env, 'FAAS_DEFAULT_MEMORY_MB', Math.min(256, maxMemoryMb), 16, maxMemoryMb);
  const defaultCpus = readNumber(env, 'FAAS_DEFAULT_CPUS', Math.min(1, maxCpus), 0.01, maxCpus);
  const defaultPids = readInt(env, 'FAAS_DEFAULT_PIDS', Math.min(128, maxPids), 1, maxPids);
  const maxBodyBytes = readInt(env, 'FAAS_MAX_BODY_BYTES', 8 * MIB, 1024, 1024 * MIB);
  const maxPayloadBytes = readInt(env, 'FAAS_MAX_PAYLOAD_BYTES', 6 * MIB, 0, 1024 * MIB);
  if (Math.ceil(maxPayloadBytes / 3) * 4 > maxBodyBytes) {
    configError(
      `FAAS_MAX_PAYLOAD_BYTES=${maxPayloadBytes} cannot fit in FAAS_MAX_BODY_BYTES=${maxBodyBytes} once base64-encoded: raise the body limit to at least ${Math.ceil(maxPayloadBytes / 3) * 4 + 65536}`,
    );
  }
  const requestTimeoutMs = readInt(env, 'FAAS_REQUEST_TIMEOUT_MS', 10_000, 100, 600_000);

  const config: Config = {
    executorType,
    allowedExecutors: Object.freeze(allowed),
    gateway: {
      host,
      port: readInt(env, 'FAAS_GATEWAY_PORT', 8080, 0, 65535),
      maxBodyBytes,
      requestTimeoutMs,
      headersTimeoutMs: Math.min(requestTimeoutMs, 10_000),
      keepAliveTimeoutMs: 5_000,
    },
    logFilter: (env.FAAS_LOG_LEVEL ?? env.RUST_LOG ?? 'info').trim() || 'info',
    dockerHost,
    imagePull,
    sandboxUser,
    gvisorRuntime: (env.FAAS_GVISOR_RUNTIME ?? 'runsc').trim(),
    firecracker,
    qemu: {
      binaryPath: env.FAAS_QEMU_BINARY_PATH?.trim() || 'qemu-system-x86_64',
      kernelPath: resolve(kernelPath ?? resolve(REPO_ROOT, '.cache/kernel/vmlinux')),
      rootfsDir: resolve(env.FAAS_ROOTFS_DIR?.trim() || resolve(REPO_ROOT, '.cache/rootfs')),
    },
    timeouts: { defaultMs: defaultTimeoutMs, maxMs: maxTimeoutMs },
    agentPath: resolveAgentPath(env.FAAS_AGENT_PATH),
    vmSnapshots: readOnOff(env, 'FAAS_VM_SNAPSHOTS'),
    pool: {
      mode: readPoolMode(env.FAAS_POOL_MODE),
      minIdle: readInt(env, 'FAAS_POOL_MIN_IDLE', 2, 0, 1000),
      maxIdle: readInt(env, 'FAAS_POOL_MAX_IDLE', 32, 0, 100_000),
      idleMs: readInt(env, 'FAAS_POOL_IDLE_MS', 300_000, 1000, 86_400_000),
      prewarmImages: (env.FAAS_POOL_PREWARM ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    },
    maxConcurrency: readInt(env, 'FAAS_MAX_CONCURRENCY', 16, 1, 10_000),
    maxQueue: readInt(env, 'FAAS_MAX_QUEUE', 64, 0, 1_000_000),
    shutdownGraceMs: readInt(env, 'FAAS_SHUTDOWN_GRACE_MS', 30_000, 0, 3_600_000),
    maxPayloadBytes,
    defaultLimits: {
      memoryBytes: defaultMemoryMb * MIB,
      cpus: defaultCpus,
      pids: defaultPids,
      tmpBytes: readInt(env, 'FAAS_TMP_SIZE_MB', 64, 1, 65536) * MIB,
      outputBytes: readInt(env, 'FAAS_MAX_OUTPUT_BYTES', MIB, 1024, 256 * MIB),
    },
    maxLimits: { memoryBytes: maxMemoryMb * MIB, cpus: maxCpus, pids: maxPids },
  };
  return deepFreeze(config);
}

/** Where `guest-agent/build.sh` puts the agent, relative to the repository root. */
export const DEFAULT_AGENT_PATH = 'guest-agent/target/x86_64-unknown-linux-gnu/release/faas-guest-agent';

function resolveAgentPath(raw: string | undefined): string | undefined {
  const explicit = raw?.trim();
  if (explicit) {
    if (!existsSync(explicit)) configError(`FAAS_AGENT_PATH=${explicit}: no such file. Build the agent with \`bash guest-agent/build.sh\``);
    return resolve(explicit);
  }
  const fallback = resolve(REPO_ROOT, DEFAULT_AGENT_PATH);
  return existsSync(fallback) ? fallback : undefined;
}

function readOnOff(env: Record<string, string | undefined>, name: string): boolean | undefined {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return undefined;
  if (raw === 'on' || raw === 'true' || raw === '1') return true;
  if (raw === 'off' || raw === 'false' || raw === '0') return false;
  configError(`${name}="${env[name]}" is invalid: use on or off`);
}

function readPoolMode(raw: string | undefined): 'off' | 'single-use' | 'reuse' {
  const mode = (raw ?? 'single-use').trim();
  if (mode !== 'off' && mode !== 'single-use' && mode !== 'reuse') {
    configError(`FAAS_POOL_MODE="${mode}" is invalid: use single-use, reuse or off`);
  }
  return mode;
}

/** The validation bounds that follow from a configuration. */
export function validationPolicy(config: Config): ValidationPolicy {
  return {
    defaultExecutor: config.executorType,
    allowedExecutors: config.allowedExecutors,
    defaultTimeoutMs: config.timeouts.defaultMs,
    maxTimeoutMs: config.timeouts.maxMs,
    maxPayloadBytes: config.maxPayloadBytes,
    defaultLimits: config.defaultLimits,
    maxMemoryBytes: config.maxLimits.memoryBytes,
    maxCpus: config.maxLimits.cpus,
    maxPids: config.maxLimits.pids,
  };
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
