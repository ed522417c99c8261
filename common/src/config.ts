/**
 * The platform's configuration, read from the environment in exactly one place. `loadConfig` is a
 * pure function of the variables it is given: it validates every FAAS_* variable, names the bad
 * one and the fix, rejects unknown FAAS_* names (a typo must not silently fall back to a default),
 * and returns a frozen object.
 */
import { existsSync, lstatSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { isIP } from 'node:net';
import { basename, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FaasError } from './errors.js';
import { LOG_COMPONENTS, logComponentOf, parseLogFilter } from './log.js';

// The strict .env reader is part of configuration; re-exported here so the package index stays as it is.
export { type DotenvEntry, type DotenvFile, mergeDotenv, parseDotenv, readDotenv } from './dotenv.js';

import { EXECUTOR_KINDS, type ExecutorKind, isExecutorKind, type ResourceLimits } from './types.js';

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
    /** FAAS_CONSOLE_DIR: the built web console served at /console (console/dist/site by default; may be unbuilt). */
    consoleDir: string;
  };
  logFilter: string;
  dockerHost: string;
  imagePull: 'auto' | 'never';
  sandboxUser: string;
  gvisorRuntime: string;
  /** The oci executor: its OCI runtime binary and the folder of unpacked image root filesystems. */
  oci: {
    runtimePath: string;
    runtimeArgs: readonly string[];
    rootfsCacheDir: string;
    userns: 'auto' | 'on' | 'off';
    /** FAAS_OCI_IMAGE_LAYOUT: an OCI image layout folder whose images requests name as `oci:<ref>`. */
    imageLayout: string | undefined;
  };
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
    /** How often each executor looks for leftovers and dead sandboxes while running. */
    sweepMs: number;
  };
  maxConcurrency: number;
  maxQueue: number;
  shutdownGraceMs: number;
  maxPayloadBytes: number;
  defaultLimits: ResourceLimits;
  maxLimits: { memoryBytes: number; cpus: number; pids: number };
  /** Folder of the platform's own state (the SQLite database, generated keys); created at start-up. */
  dataDir: string;
  auth: {
    /**
     * `keys`: every route but /health, /ready and /openapi.json needs an API key. `open`: no keys
     * at all, for local development; refused unless the gateway binds a loopback address.
     */
    mode: 'keys' | 'open';
    /** The admin key (FAAS_ADMIN_KEY); undefined: read or create `<dataDir>/admin.key` at start-up. */
    adminKey: string | undefined;
    /**
     * Invocations a stored API key without a `max_concurrency` of its own may have under way at
     * once (FAAS_KEY_MAX_CONCURRENCY); null: no cap. The admin key is never capped.
     */
    keyMaxConcurrency: number | null;
  };
  /**
   * 32-byte key that encrypts function secrets at rest (AES-256-GCM), from FAAS_SECRETS_KEY;
   * undefined: read or create `<dataDir>/secrets.key` at start-up.
   */
  secretsKey: Buffer | undefined;
  /** Unregistered function ids may be invoked with an ad-hoc SandboxConfig (the design document's request). */
  allowAdhoc: boolean;
  history: {
    /** Bytes of each output stream (stdout, stderr) kept per invocation. */
    outputBytes: number;
    /** Invocations older than this are removed. */
    maxAgeMs: number;
    /** At most this many invocations are kept per function (the newest). */
    maxPerFunction: number;
  };
  /** Asynchronous invocations: the durable queue, its worker, retries and idempotency keys. */
  async: {
    /** The worker loop runs in this process (`faas serve`); off: this process only accepts. */
    worker: boolean;
    /** Asynchronous invocations running at once; at most FAAS_MAX_CONCURRENCY (default half of it). */
    concurrency: number;
    /** Attempts of an invocation whose function sets no `max_attempts`. */
    maxAttempts: number;
    /** Backoff before the second attempt; doubled for each later one, with jitter, up to `retryMaxMs`. */
    retryBaseMs: number;
    retryMaxMs: number;
    /** How long a worker holds a running invocation without renewing its lease. */
    leaseMs: number;
    /** How long an Idempotency-Key keeps naming the invocation it made. */
    idempotencyWindowMs: number;
    /** Invocations waiting in the queue at most; an acceptance beyond it is 429 FAAS_ERR_QUEUE_FULL. */
    maxQueued: number;
    /**
     * Invocations of one API key waiting in the queue at most (FAAS_ASYNC_MAX_QUEUED_PER_KEY), so
     * one tenant cannot fill it for everyone; null: no share of its own. The admin key is exempt.
     */
    maxQueuedPerKey: number | null;
  };
  /** Result delivery of asynchronous invocations to callback URLs (worker/src/callbacks/). */
  callbacks: {
    /** HMAC key of callback signatures (FAAS_CALLBACK_SECRET); undefined: read or create `<dataDir>/callback.key`. */
    secret: string | undefined;
    /** Loopback, link-local and private targets are allowed (never metadata, multicast or reserved ones). */
    allowPrivate: boolean;
    /** `address/prefix` ranges always allowed, whatever class their addresses are in. */
    allowCidrs: readonly string[];
    /** Attempts per delivery, the first included. */
    maxAttempts: number;
    /** Each attempt's limit, from connecting to the end of the answer. */
    attemptTimeoutMs: number;
    /** The delay before the first retry; it doubles with each later one (with jitter). */
    retryBaseMs: number;
  };
  /**
   * The Tangle operator (blueprint/src/operator/): follows job calls of these services on Tangle's
   * contract and answers them. Undefined when FAAS_TANGLE_RPC_URL is unset (no operator).
   */
  tangle: TangleConfig | undefined;
}

export interface TangleConfig {
  rpcUrl: string;
  /** The Tangle contract's address (0x and 40 hex digits). */
  contract: string;
  /** Decimal service ids (uint64). */
  serviceIds: readonly string[];
  /** File holding the operator's private key; read at start-up, never printed. */
  keyFile: string;
  /** Blocks a call waits behind the head before it is served (reorg depth). */
  confirmations: number;
  /** Where a first run starts: "latest" or a decimal block number. */
  startBlock: string;
  pollMs: number;
  /** Job calls run at once. */
  maxInFlight: number;
}

const MIB = 1024 * 1024;
/** The repository root (common/dist/config.js -> ../..), for defaults that name build outputs. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Every variable the platform reads, with a one-line description (also rendered into docs). */
export const CONFIG_VARIABLES: Record<string, string> = {
  FAAS_EXECUTOR_TYPE: 'default executor: docker, gvisor, qemu, firecracker or oci (default docker)',
  FAAS_ALLOWED_EXECUTORS: 'comma-separated executors a request may pick with "executor" (default: only FAAS_EXECUTOR_TYPE)',
  FAAS_GATEWAY_HOST: 'address the gateway binds (default 127.0.0.1)',
  FAAS_GATEWAY_PORT: 'port the gateway listens on (default 8080; 0 picks a free port)',
  FAAS_MAX_BODY_BYTES:
    'largest accepted request body (default: derived from FAAS_MAX_PAYLOAD_BYTES, its base64 size plus 448 KiB for env_vars, command and the other fields; 8 MiB + 448 KiB for the default payload limit)',
  FAAS_REQUEST_TIMEOUT_MS: 'time a client has to send a whole request (headers and body); slower clients get 408 (default 10000)',
  FAAS_CONSOLE_DIR:
    'folder of the built web console that the gateway serves at /console; set, it must hold an index.html (default console/dist/site in the repository, written by `npm run build`; while that is not built, /console answers 404 saying how to build it)',
  FAAS_LOG_LEVEL:
    'log filter, RUST_LOG syntax: "info" or "warn,gateway=debug" (default info; RUST_LOG is read too); the components are bin, gateway, orchestrator, store, worker, callbacks, tangle and each executor (docker, gvisor, qemu, firecracker, oci), and another name is refused',
  FAAS_IMAGE_PULL: '"auto" pulls images missing locally when a registry is reachable, "never" does not (default auto)',
  FAAS_SANDBOX_USER: 'uid:gid that functions run as inside containers (default 65534:65534, nobody)',
  FAAS_GVISOR_RUNTIME: 'Docker runtime name of gVisor for the gvisor executor (default runsc)',
  FAAS_OCI_RUNTIME: 'OCI runtime binary of the oci executor: runc, crun or runsc (gVisor), a path or a name on PATH (default runc)',
  FAAS_OCI_RUNTIME_ARGS:
    "extra global flags for the oci executor's runtime, separated by spaces, e.g. --platform=systrap for runsc (default none; --root is the executor's, and flags that would undo the sandbox's network, seccomp or cgroups are refused)",
  FAAS_OCI_ROOTFS_CACHE: 'folder where the oci executor unpacks each image once, by image id (default .cache/oci-rootfs)',
  FAAS_OCI_IMAGE_LAYOUT:
    'OCI image layout folder (oci-layout, index.json, blobs/) whose images a request names as "oci:<ref>", <ref> being an org.opencontainers.image.ref.name annotation of its index.json; read by the oci executor only, the other executors refuse such images (default none: images come from the Docker image store only)',
  FAAS_OCI_USERNS:
    'user namespaces of the oci executor under runc and crun: "auto" gives each sandbox its own host uid range where the host allows it, "on" refuses to start where it does not, "off" runs container root as host root (default auto)',
  FAAS_FC_BINARY_PATH: 'path of the firecracker binary (firecracker executor)',
  FAAS_FC_KERNEL_PATH:
    'path of the guest kernel, an uncompressed vmlinux (firecracker and qemu executors; qemu defaults to .cache/kernel/vmlinux from build-kernel.sh)',
  FAAS_FC_ROOTFS_PATH: 'path of the default rootfs.ext4 (firecracker executor)',
  FAAS_FC_JAILER_PATH: 'path of the jailer binary; when set, VMs start inside it (firecracker executor)',
  FAAS_QEMU_BINARY_PATH: 'qemu-system-x86_64 binary (qemu executor; default from PATH)',
  FAAS_ROOTFS_DIR: 'folder of rootfs images built per image by the rootfs builder (default .cache/rootfs in the repository)',
  FAAS_AGENT_PATH:
    'static guest agent binary (default guest-agent/target/x86_64-unknown-linux-gnu/release/faas-guest-agent when built); the docker, gvisor, oci and qemu executors need it, and `faas serve` stops with a configuration error naming it when none is found; the firecracker executor without it boots every VM from FAAS_FC_ROOTFS_PATH instead of a root filesystem built per image',
  FAAS_VM_SNAPSHOTS:
    'on: start microVMs by restoring a snapshot taken once per image at agent-ready; off: boot every VM (default on for qemu, off for firecracker until verified on KVM)',
  FAAS_POOL_MODE:
    'warm sandboxes: "single-use" (a fresh pre-started sandbox per invocation, default), "reuse" (a sandbox serves later invocations of the same function, reset in between) or "off"',
  FAAS_POOL_MIN_IDLE:
    'sandboxes kept per recently used key (default 2): single-use, spares ready per image and limits besides those in use; reuse, sandboxes per function in all, the one in use or being reset counted, so a function called one call at a time holds exactly this many',
  FAAS_POOL_MAX_IDLE:
    "idle sandboxes (ready or being started) across all functions (default 32); at the cap the least recently used function's idle sandbox is evicted, so in reuse mode keep it at least FAAS_POOL_MIN_IDLE times the number of functions in use, or they evict each other's sandboxes (faas_pool_evictions_total)",
  FAAS_POOL_IDLE_MS: 'an idle sandbox older than this is removed, and a function unused this long gets no spares (default 300000)',
  FAAS_POOL_PREWARM: 'comma-separated images to start spares for at start-up, with default limits (default none)',
  FAAS_SANDBOX_SWEEP_MS:
    'how often sandboxes of the platform that nothing holds (left by a crash, dead with their engine) are removed while it runs, and dead ones found that no event reported (default 10000)',
  FAAS_DEFAULT_TIMEOUT_MS: 'timeout of an invocation that names none (default 30000)',
  FAAS_MAX_TIMEOUT_MS: 'largest timeout_ms a request may ask for (default 300000)',
  FAAS_MAX_CONCURRENCY: 'invocations running at once (default 16)',
  FAAS_MAX_QUEUE: 'invocations waiting for a slot before 429 (default 64)',
  FAAS_SHUTDOWN_GRACE_MS: 'time in-flight invocations get to finish on SIGTERM (default 30000)',
  FAAS_MAX_PAYLOAD_BYTES: 'largest decoded stdin payload (default 6 MiB)',
  FAAS_MAX_OUTPUT_BYTES:
    'cap on each captured output stream, stdout and stderr (default 1 MiB; at least 1024; at most 8 MiB, what the guest agent protocol carries)',
  FAAS_DEFAULT_MEMORY_MB: 'memory limit of a sandbox (default 256)',
  FAAS_MAX_MEMORY_MB: 'largest limits.memory_mb a request may ask for (default 2048)',
  FAAS_DEFAULT_CPUS: 'CPU quota of a sandbox in cores (default 1)',
  FAAS_MAX_CPUS: 'largest limits.cpus a request may ask for (default and maximum: number of host cores)',
  FAAS_DEFAULT_PIDS: 'process limit of a sandbox (default 128)',
  FAAS_MAX_PIDS: 'largest limits.pids a request may ask for (default 1024)',
  FAAS_TMP_SIZE_MB: 'size of the writable /tmp in a sandbox (default 64)',
  FAAS_DATA_DIR:
    'folder of the platform state: the SQLite database, and the generated admin and secrets keys (default .data in the repository)',
  FAAS_AUTH:
    '"keys" (default): every route except /health, /ready and /openapi.json needs an API key; "open": no keys, for local development, refused unless FAAS_GATEWAY_HOST is a loopback address',
  FAAS_ADMIN_KEY:
    'the admin API key, 32-1024 printable characters without spaces (default: generated once into FAAS_DATA_DIR/admin.key, mode 0600, and read from there)',
  FAAS_KEY_MAX_CONCURRENCY:
    'invocations one API key may have running or waiting for a slot at once, unless the key sets its own max_concurrency; one more is refused with 429 FAAS_ERR_KEY_CONCURRENCY_LIMIT: an integer from 1 to 10000, or "off" for no cap (default half of FAAS_MAX_CONCURRENCY, at least 1, so that no one key takes every slot; the admin key, open mode and Tangle job calls are never capped)',
  FAAS_SECRETS_KEY:
    'key that encrypts function secrets at rest: 32 bytes as 64 hex digits or base64 (default: generated once into FAAS_DATA_DIR/secrets.key; set it in production and keep it apart from the data)',
  FAAS_ALLOW_ADHOC:
    'on (default): an unregistered function id may be invoked with an ad-hoc SandboxConfig (image and command in the request); off: only registered functions run',
  FAAS_HISTORY_OUTPUT_BYTES: 'bytes of stdout and of stderr kept per invocation in the history (default 65536; 0 keeps none)',
  FAAS_HISTORY_MAX_AGE_HOURS: 'invocations older than this are removed from the history (default 168, one week)',
  FAAS_HISTORY_MAX_PER_FUNCTION: 'newest invocations kept per function in the history (default 10000)',
  FAAS_ASYNC_WORKER:
    'on (default): `faas serve` runs the worker that takes asynchronous invocations from the queue; off: this process only accepts them',
  FAAS_ASYNC_CONCURRENCY:
    'asynchronous invocations running at once, at most FAAS_MAX_CONCURRENCY (default half of FAAS_MAX_CONCURRENCY, at least 1); they start only while no synchronous invocation waits for a slot',
  FAAS_ASYNC_MAX_ATTEMPTS: 'attempts of an asynchronous invocation whose function sets no max_attempts, the first included (default 3)',
  FAAS_ASYNC_RETRY_BASE_MS:
    'backoff before the second attempt of an asynchronous invocation, doubled for each later one, with jitter (default 1000)',
  FAAS_ASYNC_RETRY_MAX_MS: 'longest backoff between two attempts (default 300000)',
  FAAS_ASYNC_LEASE_MS:
    "how long the worker holds a running asynchronous invocation between renewals; a dead worker's invocations come back after it (default 30000)",
  FAAS_IDEMPOTENCY_WINDOW_HOURS: 'how long an Idempotency-Key keeps naming the invocation it made, per API key (default 24)',
  FAAS_ASYNC_MAX_QUEUED:
    'asynchronous invocations waiting in the queue at most (queued, retries waiting for their backoff included); one more is refused with 429 FAAS_ERR_QUEUE_FULL and nothing is written (default 10000)',
  FAAS_ASYNC_MAX_QUEUED_PER_KEY:
    'asynchronous invocations of one API key waiting in the queue at most, so that one tenant cannot fill the queue for everyone; one more is refused with 429 FAAS_ERR_QUEUE_FULL (default: half of FAAS_ASYNC_MAX_QUEUED, at least 1; off: no share; the admin key is exempt)',
  FAAS_CALLBACK_SECRET:
    'key that signs callback deliveries (HMAC-SHA256), at least 32 printable characters (default: generated once into FAAS_DATA_DIR/callback.key, mode 0600)',
  FAAS_CALLBACK_ALLOW_PRIVATE:
    'on: callbacks may target loopback, link-local and private addresses (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7); off (default) refuses them. Cloud metadata, multicast and reserved addresses stay refused',
  FAAS_CALLBACK_ALLOW_CIDRS:
    'comma-separated address ranges callbacks may always target, whatever their class, e.g. "10.1.2.0/24,fd12::/64" (a bare address is one host; default none)',
  FAAS_CALLBACK_MAX_ATTEMPTS: 'attempts per callback delivery, the first included (default 6)',
  FAAS_CALLBACK_TIMEOUT_MS: 'limit of one callback attempt, from connecting to the end of the answer (default 10000)',
  FAAS_CALLBACK_RETRY_BASE_MS:
    'delay before the first callback retry, doubled for each later one, with jitter (default 20000: 6 attempts span about 5 to 10 minutes)',
  FAAS_TANGLE_RPC_URL:
    'http(s) URL of an RPC node of the chain Tangle runs on; set, faas serve also runs the Tangle operator (default unset: no operator)',
  FAAS_TANGLE_CONTRACT: "address of Tangle's protocol contract on that chain, 0x and 40 hex digits (required with FAAS_TANGLE_RPC_URL)",
  FAAS_TANGLE_SERVICE_IDS:
    'comma-separated ids of the Tangle services whose job calls this operator serves (required with FAAS_TANGLE_RPC_URL)',
  FAAS_TANGLE_KEY_FILE:
    "file holding the operator account's private key (64 hex digits), mode 0600 or stricter; the key is never taken from an argument or a variable's value (required with FAAS_TANGLE_RPC_URL)",
  FAAS_TANGLE_CONFIRMATIONS:
    'blocks a job call waits behind the chain head before it is served, and its answer before the call counts as answered (sent again if a reorg drops it): the reorg depth tolerated (default 2)',
  FAAS_TANGLE_START_BLOCK:
    'block a first run starts reading job calls from, "latest" (default) or a number; later runs resume after the last block they finished',
  FAAS_TANGLE_POLL_MS: 'how often the operator asks the chain for new blocks, in milliseconds (default 1000)',
  FAAS_TANGLE_MAX_IN_FLIGHT: 'job calls the operator runs at once (default 8); more wait, and it reads no further ahead',
};

/** Variables that were renamed or never existed under a plausible name: say what to use instead. */
const RENAMED: Record<string, string> = {
  FAAS_PORT: 'FAAS_GATEWAY_PORT',
  FAAS_EXECUTOR: 'FAAS_EXECUTOR_TYPE',
  FAAS_TIMEOUT_MS: 'FAAS_DEFAULT_TIMEOUT_MS',
  FAAS_CONCURRENCY: 'FAAS_MAX_CONCURRENCY',
};

/**
 * FAAS_* variables that the repository's scripts and tests read, not the platform: accepted in the
 * environment (so that `FAAS_SETUP_VM=1 bash scripts/run.sh` works), refused in a .env file, where
 * they would do nothing. FAAS_BENCH_* (bench/) is accepted as a prefix.
 */
export const TOOL_VARIABLES: Record<string, string> = {
  FAAS_SETUP_VM: 'scripts/setup-host.sh',
  FAAS_REBUILD_IMAGES: 'tools/images/build-images.sh',
  FAAS_KVM_CHECK_FORCE: 'the KVM check script',
  FAAS_FC_SWAGGER: 'the KVM check script and the Firecracker tests',
  FAAS_GUEST_AGENT: 'the guest agent tests',
  FAAS_TANGLE_FIXTURES: "the Tangle tests (the folder of Tangle's ABI and deployment fixtures)",
  FAAS_CHROMIUM: 'the web console tests (the chromium binary they drive)',
  FAAS_URL: "the client commands (faas invoke, functions, invocations, keys: the gateway's URL; docs/cli.md)",
  FAAS_API_KEY: 'the client commands (faas invoke, functions, invocations, keys: the API key they send; docs/cli.md)',
};

function toolVariable(name: string): string | undefined {
  return TOOL_VARIABLES[name] ?? (name.startsWith('FAAS_BENCH_') ? 'bench/run.mjs' : undefined);
}

/** Variables without the FAAS_ prefix that the platform reads (the design document's names). */
export const OTHER_VARIABLES: Record<string, string> = {
  DOCKER_HOST: 'Docker engine address: unix:///var/run/docker.sock (default) or tcp://host:port',
  RUST_LOG:
    'log filter, read when FAAS_LOG_LEVEL is unset; a component faas does not have is ignored there (RUST_LOG may be meant for other programs too)',
};

/**
 * The most the guest agent protocol carries per output stream (docs/guest-agent-protocol.md;
 * MAX_OUTPUT_BYTES in executor/src/agent/client.ts, which common cannot import).
 */
export const AGENT_MAX_OUTPUT_BYTES = 8 * MIB;

/**
 * Room in a request body for everything but the payload: env_vars (256 KiB), command (128 KiB)
 * and 64 KiB for the other fields and JSON escaping. See `defaultMaxBodyBytes`.
 */
export const BODY_ROOM_BYTES = 256 * 1024 + 128 * 1024 + 64 * 1024;

/** Smallest explicit FAAS_MAX_BODY_BYTES: a payload one byte over the limit must still reach validation. */
function minimumBodyBytes(maxPayloadBytes: number): number {
  return base64Length(maxPayloadBytes + 1) + 1024;
}

function base64Length(bytes: number): number {
  return Math.ceil(bytes / 3) * 4;
}

/**
 * The default body limit: a request carrying the largest payload (base64) plus the largest env and
 * command still fits, so an oversized payload is answered FAAS_ERR_PAYLOAD_TOO_LARGE, never
 * FAAS_ERR_BODY_TOO_LARGE. 8 MiB + 448 KiB for the default 6 MiB payload.
 */
export function defaultMaxBodyBytes(maxPayloadBytes: number): number {
  return base64Length(maxPayloadBytes) + BODY_ROOM_BYTES;
}

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'off', 'silent'];
/** Level names from other loggers, mapped to ours for "did you mean". */
const LEVEL_ALIASES: Record<string, string> = {
  verbose: 'debug',
  warning: 'warn',
  err: 'error',
  critical: 'fatal',
  none: 'off',
  quiet: 'off',
};

/**
 * Edit distance (optimal string alignment: insertions, deletions, substitutions and swaps of two
 * neighbours each cost 1), case-insensitive.
 */
export function editDistance(a: string, b: string): number {
  const s = a.toLowerCase();
  const t = b.toLowerCase();
  const d: number[][] = Array.from({ length: s.length + 1 }, (_, i) => [i, ...new Array<number>(t.length).fill(0)]);
  for (let j = 1; j <= t.length; j++) (d[0] as number[])[j] = j;
  for (let i = 1; i <= s.length; i++) {
    const row = d[i] as number[];
    const prev = d[i - 1] as number[];
    for (let j = 1; j <= t.length; j++) {
      const cost = s[i - 1] === t[j - 1] ? 0 : 1;
      row[j] = Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + cost);
      if (i > 1 && j > 1 && s[i - 1] === t[j - 2] && s[i - 2] === t[j - 1]) {
        row[j] = Math.min(row[j] as number, ((d[i - 2] as number[])[j - 2] as number) + 1);
      }
    }
  }
  return (d[s.length] as number[])[t.length] as number;
}

/** The candidate closest to `word`, if it is close enough to be a typo of it. */
export function nearest(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const distance = editDistance(word, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  const allowed = Math.max(1, Math.min(3, Math.floor(word.length / 3)));
  return bestDistance <= allowed ? best : undefined;
}

function didYouMean(word: string, candidates: Iterable<string>, aliases: Record<string, string> = {}): string {
  const match = aliases[word.trim().toLowerCase()] ?? nearest(word.trim(), candidates);
  return match !== undefined && match !== word ? ` (did you mean "${match}"?)` : '';
}

/**
 * Global runtime flags that loosen a sandbox or take away what the executor relies on (runsc:
 * gVisor's network and its in-sandbox seccomp; runc, crun, runsc: the cgroup driver and cgroups).
 */
const WEAKENING_RUNTIME_FLAGS = [
  'network',
  'oci-seccomp',
  'ignore-cgroups',
  'cgroup-manager',
  'systemd-cgroup',
  'rootless',
  'host-uds',
  'fsgofer-host-uds',
  'net-raw',
  'allow-flag-override',
];

/** FAAS_OCI_RUNTIME_ARGS: global flags only (each starts with -); --root belongs to the executor. */
function readRuntimeArgs(vars: Variables): string[] {
  const name = 'FAAS_OCI_RUNTIME_ARGS';
  const args = (vars.get(name) ?? '').split(/\s+/).filter(Boolean);
  for (const arg of args) {
    if (!arg.startsWith('-'))
      vars.fail(name, `"${arg}" is not a flag: give global runtime flags such as --debug or --platform=systrap, separated by spaces`);
    if (/^--?root(=|$)/.test(arg)) vars.fail(name, 'the executor sets --root itself (its state folder under /run/faas): leave it out');
    const flag = /^--?([^=]+)/.exec(arg)?.[1] ?? '';
    if (WEAKENING_RUNTIME_FLAGS.includes(flag) || flag.startsWith('TESTONLY')) {
      vars.fail(
        name,
        `${arg} would undo what the executor sets up for every sandbox (no network, the seccomp filter, cgroup limits kept by cgroupfs, host sockets shut): leave it out`,
      );
    }
  }
  return args;
}

function configError(message: string, details?: Record<string, unknown>): never {
  throw new FaasError('FAAS_ERR_CONFIG', message, details ? { details } : undefined);
}

/**
 * Reads variables and reports a bad one with where it was set: "the environment", or the `.env`
 * file and line (`sources`, filled by `mergeDotenv`).
 */
class Variables {
  constructor(
    private readonly env: Record<string, string | undefined>,
    private readonly sources: Record<string, string>,
  ) {}

  /** The trimmed value, or undefined when unset or empty (an empty value means the default). */
  get(name: string): string | undefined {
    const value = this.env[name]?.trim();
    return value === undefined || value === '' ? undefined : value;
  }

  /** "the environment" or "FILE:LINE". */
  source(name: string): string {
    return this.sources[name] ?? 'the environment';
  }

  /** `NAME="value" (from SOURCE)`: what every message about a variable starts with. */
  describe(name: string): string {
    return `${name}="${this.env[name] ?? ''}" (from ${this.source(name)})`;
  }

  fail(name: string, fix: string): never {
    configError(`${this.describe(name)} is invalid: ${fix}`, { variable: name, value: this.env[name], source: this.source(name) });
  }

  int(name: string, fallback: number, min: number, max: number, why = ''): number {
    const raw = this.get(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!/^[+-]?[0-9]+$/.test(raw) || !Number.isSafeInteger(value) || value < min || value > max) {
      this.fail(name, `use an integer from ${min} to ${max}${why}`);
    }
    return value;
  }

  number(name: string, fallback: number, min: number, max: number, why = ''): number {
    const raw = this.get(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!/^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)$/.test(raw) || !Number.isFinite(value) || value < min || value > max) {
      this.fail(name, `use a number from ${min} to ${max}${why}`);
    }
    return value;
  }

  oneOf<T extends string>(name: string, fallback: T, accepted: readonly T[], aliases: Record<string, T> = {}): T {
    const raw = this.get(name);
    if (raw === undefined) return fallback;
    const value = raw.toLowerCase();
    if ((accepted as readonly string[]).includes(value)) return value as T;
    if (aliases[value] !== undefined) return aliases[value];
    this.fail(name, `use ${orList(accepted)}${didYouMean(raw, accepted)}`);
  }
}

function orList(items: readonly string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}`;
}

/** Where to read how to set up Firecracker; checked to exist by common/src/doc-links.test.ts. */
const FIRECRACKER_DOCS = 'docs/microvm.md "Running with Firecracker (KVM hosts)"';

/**
 * A folder variable (made at start-up when missing): absolute after resolving, and not on the
 * kernel's pseudo-filesystems (/proc, /sys, /dev but its tmpfs /dev/shm), where nothing can be stored and where a
 * recursive mkdir never returns (it is told ENOENT for a child of a folder that exists).
 */
function folderVariable(vars: Variables, name: string, fallback: string): string {
  const raw = vars.get(name);
  const path = resolve(raw ?? fallback);
  if (raw !== undefined && /^\/(proc|sys|dev)(\/|$)/.test(path) && !/^\/dev\/shm(\/|$)/.test(path)) {
    configError(
      `${vars.describe(name)} is on the kernel's ${path.split('/')[1]} pseudo-filesystem, where no files can be kept: choose a folder on a disk, e.g. /var/lib/faas`,
      {
        variable: name,
        value: raw,
        source: vars.source(name),
      },
    );
  }
  if (raw !== undefined) {
    // The folder, or the nearest part of its path that exists, must be a folder: a file there
    // would fail later with ENOTDIR from whichever component first writes into it. A symbolic
    // link whose target does not exist (or a loop of links) does not exist either, but nothing
    // can be made through it: refused too, not an ENOENT from the first write (secrets.key).
    let at = path;
    while (!existsSync(at) && dirname(at) !== at) {
      const link = danglingLink(at);
      if (link !== undefined) {
        configError(
          `${vars.describe(name)} ${at === path ? 'is' : `is under ${at}, which is`} a symbolic link to ${link}, which does not exist (or is a loop of links): create the folder it points to, or choose another folder`,
          { variable: name, value: raw, source: vars.source(name) },
        );
      }
      at = dirname(at);
    }
    if (!statSync(at).isDirectory()) {
      configError(
        `${vars.describe(name)} must be a folder, but ${at === path ? 'it' : at} is a file: choose a folder (it is created when missing)`,
        { variable: name, value: raw, source: vars.source(name) },
      );
    }
  }
  return path;
}

/**
 * The target of `path` when it is a symbolic link that leads nowhere: the link exists (lstat), what
 * it names does not (stat: ENOENT, ENOTDIR, or ELOOP for a loop of links). A link that cannot be
 * followed for another reason (EACCES) is left to whatever uses it.
 */
function danglingLink(path: string): string | undefined {
  try {
    if (!lstatSync(path).isSymbolicLink()) return undefined;
  } catch {
    return undefined;
  }
  try {
    statSync(path);
    return undefined;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTDIR' && code !== 'ELOOP') return undefined;
  }
  try {
    return readlinkSync(path);
  } catch {
    return undefined;
  }
}

function requireFile(vars: Variables, name: string, howToFix: string): string {
  const path = vars.get(name);
  if (!path) {
    configError(`${name} is not set, and the firecracker executor needs it (FAAS_EXECUTOR_TYPE or FAAS_ALLOWED_EXECUTORS): ${howToFix}`, {
      variable: name,
    });
  }
  if (!existsSync(path) || !statSync(path).isFile()) {
    configError(`${vars.describe(name)}: no such file; ${howToFix}`, { variable: name, value: path, source: vars.source(name) });
  }
  return path;
}

function parseExecutorList(vars: Variables, name: string): ExecutorKind[] {
  const raw = vars.get(name);
  if (raw === undefined) return [];
  const list = raw
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  for (const item of list) {
    if (!isExecutorKind(item)) {
      configError(
        `${vars.describe(name)} lists "${item}": use any of ${EXECUTOR_KINDS.join(', ')}, comma-separated${didYouMean(item, EXECUTOR_KINDS)}`,
        {
          variable: name,
          value: raw,
          source: vars.source(name),
        },
      );
    }
  }
  return [...new Set(list)] as ExecutorKind[];
}

/** Rejects names the platform does not read, suggesting the nearest one it does. */
function checkNames(env: Record<string, string | undefined>, sources: Record<string, string>): void {
  const known = [...Object.keys(CONFIG_VARIABLES), ...Object.keys(OTHER_VARIABLES)];
  for (const name of Object.keys(env)) {
    const source = sources[name] ?? 'the environment';
    const upper = name.toUpperCase();
    if (upper.startsWith('FAAS_') && name !== upper) {
      configError(`${name} (from ${source}): variable names are upper case: use ${upper}`, { variable: name, source });
    }
    if (!name.startsWith('FAAS_')) {
      // The environment holds many unrelated variables; a .env file holds the platform's own, so a
      // name there that is one typo away from a known one (or lacks the FAAS_ prefix) is a mistake.
      if (sources[name] === undefined || known.includes(name)) continue;
      const match = CONFIG_VARIABLES[`FAAS_${name}`] !== undefined ? `FAAS_${name}` : nearest(name, known);
      if (match) configError(`unknown variable ${name} (from ${source}): did you mean ${match}?`, { variable: name, source });
      continue;
    }
    if (RENAMED[name]) configError(`${name} (from ${source}) is not supported: use ${RENAMED[name]} instead`, { variable: name, source });
    const tool = name in CONFIG_VARIABLES ? undefined : toolVariable(name);
    if (tool !== undefined) {
      if (sources[name] === undefined) continue;
      configError(`${name} (from ${source}) is read by ${tool}, not by faas: remove it from the file and set it where you run that`, {
        variable: name,
        source,
      });
    }
    if (!(name in CONFIG_VARIABLES)) {
      const match = nearest(name, Object.keys(CONFIG_VARIABLES));
      configError(
        `unknown variable ${name} (from ${source}): ${match ? `did you mean ${match}? ` : ''}every supported FAAS_* variable is listed in docs/CONFIGURATION.md`,
        { variable: name, source },
      );
    }
  }
}

/** Checks a RUST_LOG-style filter ("info", "warn,gateway=debug") the way `parseLogFilter` reads it. */
function readLogFilter(vars: Variables): string {
  const name = vars.get('FAAS_LOG_LEVEL') !== undefined ? 'FAAS_LOG_LEVEL' : 'RUST_LOG';
  const filter = vars.get(name);
  if (filter === undefined) return 'info';
  const fix = `use trace, debug, info, warn, error or off, optionally per component as "warn,gateway=debug"${
    name === 'RUST_LOG' ? ' (or set FAAS_LOG_LEVEL, which takes precedence over RUST_LOG)' : ''
  }`;
  for (const part of filter
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const eq = part.indexOf('=');
    const component = eq < 0 ? undefined : part.slice(0, eq).trim();
    const level = (eq < 0 ? part : part.slice(eq + 1)).trim();
    if (component !== undefined && !/^[A-Za-z0-9_:.-]+$/.test(component)) {
      vars.fail(name, `"${part}" names no component: ${fix}`);
    }
    // FAAS_LOG_LEVEL is faas's own: a component it does not have is a typo, not a silent no-op.
    // RUST_LOG may be shared with other programs, whose targets (hyper::proto) faas leaves alone.
    const known: readonly string[] = LOG_COMPONENTS;
    if (component !== undefined && name === 'FAAS_LOG_LEVEL' && !known.includes(logComponentOf(component))) {
      vars.fail(
        name,
        `unknown component "${component}": the components are ${LOG_COMPONENTS.join(', ')}${didYouMean(logComponentOf(component), LOG_COMPONENTS)}`,
      );
    }
    if (!LOG_LEVELS.includes(level.toLowerCase())) {
      vars.fail(name, `unknown level "${level}": ${fix}${didYouMean(level, LOG_LEVELS.slice(0, 7), LEVEL_ALIASES)}`);
    }
  }
  try {
    parseLogFilter(filter);
  } catch (err) {
    vars.fail(name, `${(err as Error).message}`);
  }
  return filter;
}

export interface LoadConfigOptions {
  /** Where variables that did not come from the environment were set ("FILE:LINE"), for messages. */
  sources?: Record<string, string>;
}

export function loadConfig(env: Record<string, string | undefined>, hostCpus = 1, options: LoadConfigOptions = {}): Readonly<Config> {
  const sources = options.sources ?? {};
  checkNames(env, sources);
  const vars = new Variables(env, sources);

  const executorType = vars.oneOf<ExecutorKind>('FAAS_EXECUTOR_TYPE', 'docker', EXECUTOR_KINDS);
  const allowed = parseExecutorList(vars, 'FAAS_ALLOWED_EXECUTORS');
  if (!allowed.includes(executorType)) allowed.unshift(executorType);

  const host = vars.get('FAAS_GATEWAY_HOST') ?? '127.0.0.1';
  if (/\s|\//.test(host)) vars.fail('FAAS_GATEWAY_HOST', 'use an address such as 127.0.0.1 or 0.0.0.0');

  const imagePull = vars.oneOf('FAAS_IMAGE_PULL', 'auto', ['auto', 'never'] as const);

  const sandboxUser = vars.get('FAAS_SANDBOX_USER') ?? '65534:65534';
  if (!/^[0-9]+(?::[0-9]+)?$/.test(sandboxUser)) {
    vars.fail('FAAS_SANDBOX_USER', 'use a numeric uid:gid such as 65534:65534');
  }
  if (/^0+(?::|$)/.test(sandboxUser)) {
    vars.fail('FAAS_SANDBOX_USER', 'uid 0 would run untrusted code as root: use a non-zero uid such as 65534:65534');
  }

  const ociUserns = vars.oneOf('FAAS_OCI_USERNS', 'auto', ['auto', 'on', 'off'] as const);
  // Each oci sandbox's user namespace maps container ids 0..65535 (executor/src/oci/userns.ts).
  // runsc gets no user namespace (the executor's own rule): its sandbox user may be any id.
  const ociRunsc = basename(vars.get('FAAS_OCI_RUNTIME') ?? 'runc') === 'runsc';
  if (allowed.includes('oci') && ociUserns !== 'off' && !ociRunsc && sandboxUser.split(':').some((id) => Number(id) > 65535)) {
    vars.fail(
      'FAAS_SANDBOX_USER',
      "the oci executor maps container ids 0 to 65535 into each sandbox's user namespace: use ids below 65536 such as 65534:65534, or set FAAS_OCI_USERNS=off",
    );
  }

  const dockerHost = vars.get('DOCKER_HOST') ?? 'unix:///var/run/docker.sock';
  if (!/^(unix:\/\/\/.+|tcp:\/\/[^/]+:[0-9]+\/?|http:\/\/[^/]+:[0-9]+\/?)$/.test(dockerHost)) {
    vars.fail('DOCKER_HOST', 'use unix:///path/to/docker.sock or tcp://host:port');
  }

  const kernelPath = vars.get('FAAS_FC_KERNEL_PATH');
  let firecracker: FirecrackerConfig | undefined;
  if (allowed.includes('firecracker')) {
    firecracker = {
      binaryPath: requireFile(vars, 'FAAS_FC_BINARY_PATH', `install Firecracker and point this at its binary: see ${FIRECRACKER_DOCS}`),
      kernelPath: requireFile(
        vars,
        'FAAS_FC_KERNEL_PATH',
        `build the kernel with \`npm run kernel\` (.cache/kernel/vmlinux): see ${FIRECRACKER_DOCS}`,
      ),
      rootfsPath: requireFile(
        vars,
        'FAAS_FC_ROOTFS_PATH',
        `build one with \`npm run rootfs -- --image faas/busybox:latest --output .cache/rootfs/busybox.ext4\`: see ${FIRECRACKER_DOCS}`,
      ),
      jailerPath: vars.get('FAAS_FC_JAILER_PATH')
        ? requireFile(vars, 'FAAS_FC_JAILER_PATH', `point this at the jailer binary shipped with Firecracker: see ${FIRECRACKER_DOCS}`)
        : undefined,
    };
  }

  const defaultTimeoutMs = vars.int('FAAS_DEFAULT_TIMEOUT_MS', 30_000, 1, 3_600_000);
  const maxTimeoutMs = vars.int('FAAS_MAX_TIMEOUT_MS', 300_000, 1, 3_600_000);
  if (defaultTimeoutMs > maxTimeoutMs) {
    configError(
      `${vars.describe('FAAS_DEFAULT_TIMEOUT_MS')} exceeds ${vars.describe('FAAS_MAX_TIMEOUT_MS')}: lower the default or raise the maximum`,
      { variable: 'FAAS_DEFAULT_TIMEOUT_MS' },
    );
  }
  const maxMemoryMb = vars.int('FAAS_MAX_MEMORY_MB', 2048, 16, 1_048_576);
  // Docker refuses a CPU quota above the host's cores, so a larger maximum could only fail later.
  const maxCpus = vars.number('FAAS_MAX_CPUS', Math.max(1, hostCpus), 0.01, Math.max(1, hostCpus), " (at most the host's cores)");
  const maxPids = vars.int('FAAS_MAX_PIDS', 1024, 1, 1_000_000);
  const defaultMemoryMb = vars.int('FAAS_DEFAULT_MEMORY_MB', Math.min(256, maxMemoryMb), 16, maxMemoryMb, ' (at most FAAS_MAX_MEMORY_MB)');
  const defaultCpus = vars.number('FAAS_DEFAULT_CPUS', Math.min(1, maxCpus), 0.01, maxCpus);
  const defaultPids = vars.int('FAAS_DEFAULT_PIDS', Math.min(128, maxPids), 1, maxPids, ' (at most FAAS_MAX_PIDS)');
  const maxPayloadBytes = vars.int('FAAS_MAX_PAYLOAD_BYTES', 6 * MIB, 0, 1024 * MIB);
  const derivedBodyBytes = defaultMaxBodyBytes(maxPayloadBytes);
  const maxBodyBytes = vars.int('FAAS_MAX_BODY_BYTES', derivedBodyBytes, 1024, 2048 * MIB);
  if (vars.get('FAAS_MAX_BODY_BYTES') !== undefined && maxBodyBytes < minimumBodyBytes(maxPayloadBytes)) {
    configError(
      `${vars.describe('FAAS_MAX_BODY_BYTES')} is too small for FAAS_MAX_PAYLOAD_BYTES=${maxPayloadBytes}: a payload that size is ${base64Length(maxPayloadBytes)} bytes in base64, so an oversized payload would be refused as an oversized body. Unset FAAS_MAX_BODY_BYTES (it defaults to ${derivedBodyBytes}, derived from FAAS_MAX_PAYLOAD_BYTES), set it to at least ${minimumBodyBytes(maxPayloadBytes)}, or lower FAAS_MAX_PAYLOAD_BYTES to at most ${Math.max(0, Math.floor((maxBodyBytes - 1024) / 4) * 3 - 1)}`,
      { variable: 'FAAS_MAX_BODY_BYTES', value: env.FAAS_MAX_BODY_BYTES, source: vars.source('FAAS_MAX_BODY_BYTES') },
    );
  }
  const requestTimeoutMs = vars.int('FAAS_REQUEST_TIMEOUT_MS', 10_000, 100, 600_000);
  const outputBytes = vars.int(
    'FAAS_MAX_OUTPUT_BYTES',
    MIB,
    1024,
    AGENT_MAX_OUTPUT_BYTES,
    ' (8 MiB: the guest agent protocol carries at most 8 MiB per output stream, so warm sandboxes could not honour more)',
  );

  const authMode = vars.oneOf('FAAS_AUTH', 'keys', ['keys', 'open'] as const);
  if (authMode === 'open' && !isLoopback(host)) {
    vars.fail(
      'FAAS_AUTH',
      `open mode (no API keys) is for local development and only on a loopback address, but FAAS_GATEWAY_HOST is ${host}: use FAAS_AUTH=keys, or bind 127.0.0.1`,
    );
  }
  const adminKey = vars.get('FAAS_ADMIN_KEY');
  if (adminKey !== undefined && !isUsableAdminKey(adminKey)) {
    configError(
      `FAAS_ADMIN_KEY (from ${vars.source('FAAS_ADMIN_KEY')}) is invalid: use ${ADMIN_KEY_RULE}, e.g. \`openssl rand -hex 32\` (its value is not shown)`,
      { variable: 'FAAS_ADMIN_KEY', source: vars.source('FAAS_ADMIN_KEY') },
    );
  }

  const maxConcurrency = vars.int('FAAS_MAX_CONCURRENCY', 16, 1, 10_000);

  const config: Config = {
    executorType,
    allowedExecutors: Object.freeze(allowed),
    gateway: {
      host,
      port: vars.int('FAAS_GATEWAY_PORT', 8080, 0, 65535),
      maxBodyBytes,
      requestTimeoutMs,
      headersTimeoutMs: Math.min(requestTimeoutMs, 10_000),
      keepAliveTimeoutMs: 5_000,
      consoleDir: readConsoleDir(vars),
    },
    logFilter: readLogFilter(vars),
    dockerHost,
    imagePull,
    sandboxUser,
    gvisorRuntime: vars.get('FAAS_GVISOR_RUNTIME') ?? 'runsc',
    oci: {
      runtimePath: vars.get('FAAS_OCI_RUNTIME') ?? 'runc',
      runtimeArgs: Object.freeze(readRuntimeArgs(vars)),
      rootfsCacheDir: folderVariable(vars, 'FAAS_OCI_ROOTFS_CACHE', resolve(REPO_ROOT, '.cache/oci-rootfs')),
      userns: ociUserns,
      imageLayout: readImageLayout(vars, 'FAAS_OCI_IMAGE_LAYOUT'),
    },
    firecracker,
    qemu: {
      binaryPath: vars.get('FAAS_QEMU_BINARY_PATH') ?? 'qemu-system-x86_64',
      kernelPath: resolve(kernelPath ?? resolve(REPO_ROOT, '.cache/kernel/vmlinux')),
      rootfsDir: folderVariable(vars, 'FAAS_ROOTFS_DIR', resolve(REPO_ROOT, '.cache/rootfs')),
    },
    timeouts: { defaultMs: defaultTimeoutMs, maxMs: maxTimeoutMs },
    agentPath: resolveAgentPath(vars),
    vmSnapshots: readOnOff(vars, 'FAAS_VM_SNAPSHOTS'),
    pool: {
      mode: vars.oneOf('FAAS_POOL_MODE', 'single-use', ['single-use', 'reuse', 'off'] as const),
      minIdle: vars.int('FAAS_POOL_MIN_IDLE', 2, 0, 1000),
      maxIdle: vars.int('FAAS_POOL_MAX_IDLE', 32, 0, 100_000),
      idleMs: vars.int('FAAS_POOL_IDLE_MS', 300_000, 1000, 86_400_000),
      prewarmImages: (vars.get('FAAS_POOL_PREWARM') ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
      sweepMs: vars.int('FAAS_SANDBOX_SWEEP_MS', 10_000, 1000, 3_600_000),
    },
    maxConcurrency,
    maxQueue: vars.int('FAAS_MAX_QUEUE', 64, 0, 1_000_000),
    shutdownGraceMs: vars.int('FAAS_SHUTDOWN_GRACE_MS', 30_000, 0, 3_600_000),
    maxPayloadBytes,
    defaultLimits: {
      memoryBytes: defaultMemoryMb * MIB,
      cpus: defaultCpus,
      pids: defaultPids,
      tmpBytes: vars.int('FAAS_TMP_SIZE_MB', 64, 1, 65536) * MIB,
      outputBytes,
    },
    maxLimits: { memoryBytes: maxMemoryMb * MIB, cpus: maxCpus, pids: maxPids },
    dataDir: folderVariable(vars, 'FAAS_DATA_DIR', resolve(REPO_ROOT, '.data')),
    auth: { mode: authMode, adminKey, keyMaxConcurrency: readKeyMaxConcurrency(vars, maxConcurrency) },
    secretsKey: readSecretsKey(vars),
    allowAdhoc: readOnOff(vars, 'FAAS_ALLOW_ADHOC') ?? true,
    history: {
      outputBytes: vars.int('FAAS_HISTORY_OUTPUT_BYTES', 64 * 1024, 0, AGENT_MAX_OUTPUT_BYTES),
      maxAgeMs: vars.int('FAAS_HISTORY_MAX_AGE_HOURS', 168, 1, 24 * 3650) * 3_600_000,
      maxPerFunction: vars.int('FAAS_HISTORY_MAX_PER_FUNCTION', 10_000, 1, 100_000_000),
    },
    async: readAsync(vars, maxConcurrency),
    callbacks: {
      secret: readCallbackSecret(vars),
      allowPrivate: readOnOff(vars, 'FAAS_CALLBACK_ALLOW_PRIVATE') ?? false,
      allowCidrs: Object.freeze(readCidrs(vars, 'FAAS_CALLBACK_ALLOW_CIDRS')),
      maxAttempts: vars.int('FAAS_CALLBACK_MAX_ATTEMPTS', 6, 1, 50),
      attemptTimeoutMs: vars.int('FAAS_CALLBACK_TIMEOUT_MS', 10_000, 100, 600_000),
      retryBaseMs: vars.int('FAAS_CALLBACK_RETRY_BASE_MS', 20_000, 100, 3_600_000),
    },
    tangle: readTangle(vars),
  };
  return deepFreeze(config);
}

/**
 * An OCI image layout folder (image-spec image-layout.md): it must exist and hold `oci-layout`
 * naming its imageLayoutVersion and an `index.json`. Returned as an absolute path.
 */
function readImageLayout(vars: Variables, name: string): string | undefined {
  const dir = vars.get(name);
  if (dir === undefined) return undefined;
  const fix =
    'point it at an OCI image layout folder holding oci-layout, index.json and blobs/, e.g. one written by `skopeo copy docker-daemon:faas/busybox:latest oci:/var/lib/faas/layout:busybox`, or unset it';
  if (!existsSync(dir)) vars.fail(name, `no such folder; ${fix}`);
  if (!statSync(dir).isDirectory()) vars.fail(name, `not a folder; ${fix}`);
  let version: unknown;
  try {
    version = (JSON.parse(readFileSync(resolve(dir, 'oci-layout'), 'utf8')) as { imageLayoutVersion?: unknown }).imageLayoutVersion;
  } catch (err) {
    vars.fail(name, `its oci-layout file is missing or not JSON (${(err as Error).message.split('\n')[0]}); ${fix}`);
  }
  if (typeof version !== 'string' || version === '') vars.fail(name, `its oci-layout file names no imageLayoutVersion; ${fix}`);
  const index = resolve(dir, 'index.json');
  if (!existsSync(index) || !statSync(index).isFile()) vars.fail(name, `it has no index.json; ${fix}`);
  return resolve(dir);
}

/** Where `npm run build` (or `npm run build -w console`) puts the web console, relative to the repository root. */
export const DEFAULT_CONSOLE_DIR = 'console/dist/site';

/**
 * FAAS_CONSOLE_DIR, absolute: a folder holding the console's index.html. The default folder is not
 * checked (the console may not be built; the gateway then answers /console with how to build it);
 * a folder named on purpose that is not a console build is a mistake, reported at start-up.
 */
function readConsoleDir(vars: Variables): string {
  const name = 'FAAS_CONSOLE_DIR';
  const dir = vars.get(name);
  if (dir === undefined) return resolve(REPO_ROOT, DEFAULT_CONSOLE_DIR);
  const fix = 'point it at a built console (the folder `npm run build -w console` writes, console/dist/site), or unset it';
  if (!existsSync(dir)) vars.fail(name, `no such folder; ${fix}`);
  if (!statSync(dir).isDirectory()) vars.fail(name, `not a folder; ${fix}`);
  const index = resolve(dir, 'index.html');
  if (!existsSync(index) || !statSync(index).isFile()) vars.fail(name, `it has no index.html; ${fix}`);
  return resolve(dir);
}

/** Where `guest-agent/build.sh` puts the agent, relative to the repository root. */
export const DEFAULT_AGENT_PATH = 'guest-agent/target/x86_64-unknown-linux-gnu/release/faas-guest-agent';

function resolveAgentPath(vars: Variables): string | undefined {
  const explicit = vars.get('FAAS_AGENT_PATH');
  if (explicit) {
    const fault = !existsSync(explicit)
      ? 'no such file'
      : !statSync(explicit).isFile()
        ? 'not a file (the agent binary itself, not its folder)'
        : (statSync(explicit).mode & 0o111) === 0
          ? 'not executable (chmod +x it)'
          : undefined;
    if (fault) {
      configError(
        `${vars.describe('FAAS_AGENT_PATH')}: ${fault}; build the agent with \`bash guest-agent/build.sh\` or unset FAAS_AGENT_PATH`,
        {
          variable: 'FAAS_AGENT_PATH',
          value: explicit,
          source: vars.source('FAAS_AGENT_PATH'),
        },
      );
    }
    return resolve(explicit);
  }
  const fallback = resolve(REPO_ROOT, DEFAULT_AGENT_PATH);
  return existsSync(fallback) ? fallback : undefined;
}

/** What an admin key must be: long enough not to be guessed, and a bearer token the gateway accepts (at most 1024 characters). */
export const ADMIN_KEY_RULE = '32-1024 printable characters without spaces';

/** True for an admin key (FAAS_ADMIN_KEY or the admin.key file) that follows ADMIN_KEY_RULE. */
export function isUsableAdminKey(key: string): boolean {
  return key.length >= 32 && key.length <= 1024 && /^[\x21-\x7e]+$/.test(key);
}

/** True for addresses only this host can reach: 127.0.0.0/8, ::1 and localhost. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** Parses a 32-byte key given as 64 hex digits or as base64 (44 characters with padding). */
export function parseSecretsKey(text: string): Buffer | undefined {
  const t = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(t)) return Buffer.from(t, 'hex');
  if (/^[A-Za-z0-9+/]{43}=$/.test(t) || /^[A-Za-z0-9_-]{43}$/.test(t)) {
    const key = Buffer.from(t, t.includes('-') || t.includes('_') ? 'base64url' : 'base64');
    if (key.length === 32) return key;
  }
  return undefined;
}

function readSecretsKey(vars: Variables): Buffer | undefined {
  const raw = vars.get('FAAS_SECRETS_KEY');
  if (raw === undefined) return undefined;
  const key = parseSecretsKey(raw);
  if (!key) {
    configError(
      `FAAS_SECRETS_KEY (from ${vars.source('FAAS_SECRETS_KEY')}) is invalid: use 32 random bytes as 64 hex digits or base64, e.g. \`openssl rand -hex 32\` (its value is not shown)`,
      { variable: 'FAAS_SECRETS_KEY', source: vars.source('FAAS_SECRETS_KEY') },
    );
  }
  return key;
}

function readCallbackSecret(vars: Variables): string | undefined {
  const secret = vars.get('FAAS_CALLBACK_SECRET');
  if (secret !== undefined && (secret.length < 32 || !/^[\x21-\x7e]+$/.test(secret))) {
    configError(
      `FAAS_CALLBACK_SECRET (from ${vars.source('FAAS_CALLBACK_SECRET')}) is invalid: use at least 32 printable characters without spaces, e.g. \`openssl rand -hex 32\` (its value is not shown)`,
      { variable: 'FAAS_CALLBACK_SECRET', source: vars.source('FAAS_CALLBACK_SECRET') },
    );
  }
  return secret;
}

/** Comma-separated `address/prefix` ranges (a bare address is one host), returned as `address/prefix`. */
function readCidrs(vars: Variables, name: string): string[] {
  const raw = vars.get(name);
  if (raw === undefined) return [];
  const ranges: string[] = [];
  for (const item of raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const [address = '', prefix, extra] = item.split('/');
    const family = isIP(address);
    const bits = family === 4 ? 32 : 128;
    const length = prefix === undefined ? bits : /^[0-9]{1,3}$/.test(prefix) ? Number(prefix) : Number.NaN;
    if (family === 0 || extra !== undefined || !(length >= 0 && length <= bits)) {
      vars.fail(
        name,
        `"${item}" is no address range: use comma-separated ranges such as 10.1.2.0/24 or fd12::/64 (prefix 0-32 for IPv4, 0-128 for IPv6)`,
      );
    }
    ranges.push(`${address}/${length}`);
  }
  return ranges;
}

/**
 * FAAS_KEY_MAX_CONCURRENCY: by default a key may hold half of the platform's slots (at least one),
 * so one tenant cannot take them all and keep everyone else waiting or refused, as the async
 * worker's share (FAAS_ASYNC_CONCURRENCY) is half of them so that a backlog cannot. "off": no cap.
 */
function readKeyMaxConcurrency(vars: Variables, maxConcurrency: number): number | null {
  const name = 'FAAS_KEY_MAX_CONCURRENCY';
  if (vars.get(name)?.toLowerCase() === 'off') return null;
  return vars.int(name, Math.max(1, Math.floor(maxConcurrency / 2)), 1, 10_000, ', or off for no cap');
}

function readAsync(vars: Variables, maxConcurrency: number): Config['async'] {
  const retryBaseMs = vars.int('FAAS_ASYNC_RETRY_BASE_MS', 1000, 1, 3_600_000);
  const retryMaxMs = vars.int('FAAS_ASYNC_RETRY_MAX_MS', Math.max(300_000, retryBaseMs), 1, 86_400_000);
  if (retryMaxMs < retryBaseMs) {
    vars.fail(
      'FAAS_ASYNC_RETRY_MAX_MS',
      `use at least FAAS_ASYNC_RETRY_BASE_MS (${retryBaseMs}): the longest backoff cannot be shorter than the first`,
    );
  }
  const maxQueued = vars.int('FAAS_ASYNC_MAX_QUEUED', 10_000, 1, 10_000_000);
  return {
    worker: readOnOff(vars, 'FAAS_ASYNC_WORKER') ?? true,
    concurrency: vars.int(
      'FAAS_ASYNC_CONCURRENCY',
      Math.max(1, Math.floor(maxConcurrency / 2)),
      1,
      maxConcurrency,
      ` (at most FAAS_MAX_CONCURRENCY, ${maxConcurrency}: asynchronous invocations share its slots)`,
    ),
    maxAttempts: vars.int('FAAS_ASYNC_MAX_ATTEMPTS', 3, 1, 100),
    retryBaseMs,
    retryMaxMs,
    leaseMs: vars.int('FAAS_ASYNC_LEASE_MS', 30_000, 1000, 3_600_000),
    idempotencyWindowMs: vars.int('FAAS_IDEMPOTENCY_WINDOW_HOURS', 24, 1, 24 * 365) * 3_600_000,
    maxQueued,
    maxQueuedPerKey:
      vars.get('FAAS_ASYNC_MAX_QUEUED_PER_KEY')?.toLowerCase() === 'off'
        ? null
        : vars.int(
            'FAAS_ASYNC_MAX_QUEUED_PER_KEY',
            Math.max(1, Math.floor(maxQueued / 2)),
            1,
            maxQueued,
            ` (at most FAAS_ASYNC_MAX_QUEUED, ${maxQueued}), or off`,
          ),
  };
}

const TANGLE_REQUIRED = ['FAAS_TANGLE_CONTRACT', 'FAAS_TANGLE_SERVICE_IDS', 'FAAS_TANGLE_KEY_FILE'] as const;

/** The Tangle operator's settings, all or none: FAAS_TANGLE_RPC_URL turns it on. */
function readTangle(vars: Variables): TangleConfig | undefined {
  const rpcUrl = vars.get('FAAS_TANGLE_RPC_URL');
  if (rpcUrl === undefined) {
    const stray = Object.keys(CONFIG_VARIABLES).find((name) => name.startsWith('FAAS_TANGLE_') && vars.get(name) !== undefined);
    if (stray)
      vars.fail(stray, 'it configures the Tangle operator, which runs only when FAAS_TANGLE_RPC_URL is set too: set it, or remove this');
    return undefined;
  }
  let url: URL | undefined;
  try {
    url = new URL(rpcUrl);
  } catch {}
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    vars.fail('FAAS_TANGLE_RPC_URL', 'use the http:// or https:// URL of an RPC node, e.g. http://127.0.0.1:8545');
  }
  for (const name of TANGLE_REQUIRED) {
    if (vars.get(name) === undefined) {
      configError(`${name} is not set, and the Tangle operator needs it (FAAS_TANGLE_RPC_URL is set): ${CONFIG_VARIABLES[name]}`, {
        variable: name,
      });
    }
  }
  const contract = vars.get('FAAS_TANGLE_CONTRACT') as string;
  if (!/^0x[0-9a-fA-F]{40}$/.test(contract)) {
    vars.fail(
      'FAAS_TANGLE_CONTRACT',
      'use the contract address as 0x and 40 hex digits, e.g. 0x0165878A594ca255338adfa4d48449f69242Eb8F on the local test network',
    );
  }
  const serviceIds = (vars.get('FAAS_TANGLE_SERVICE_IDS') as string)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const id of serviceIds) {
    if (!/^[0-9]{1,20}$/.test(id) || BigInt(id) > 0xffffffffffffffffn) {
      vars.fail('FAAS_TANGLE_SERVICE_IDS', `"${id}" is not a service id: use comma-separated integers from 0 to 2^64-1, e.g. 0 or 0,3`);
    }
  }
  if (serviceIds.length === 0) vars.fail('FAAS_TANGLE_SERVICE_IDS', 'name at least one service id, e.g. 0');
  const keyFile = vars.get('FAAS_TANGLE_KEY_FILE') as string;
  if (!existsSync(keyFile) || !statSync(keyFile).isFile()) {
    vars.fail(
      'FAAS_TANGLE_KEY_FILE',
      'no such file: write the operator key (64 hex digits) into a file only its owner can read (`umask 077`), and name that file here',
    );
  }
  const startBlock = vars.get('FAAS_TANGLE_START_BLOCK')?.toLowerCase() ?? 'latest';
  if (startBlock !== 'latest' && !/^[0-9]{1,20}$/.test(startBlock)) {
    vars.fail('FAAS_TANGLE_START_BLOCK', 'use "latest" or a block number');
  }
  return {
    rpcUrl,
    contract,
    serviceIds: Object.freeze([...new Set(serviceIds.map((id) => BigInt(id).toString()))]),
    keyFile: resolve(keyFile),
    confirmations: vars.int('FAAS_TANGLE_CONFIRMATIONS', 2, 0, 1000),
    startBlock,
    pollMs: vars.int('FAAS_TANGLE_POLL_MS', 1000, 50, 600_000),
    maxInFlight: vars.int('FAAS_TANGLE_MAX_IN_FLIGHT', 8, 1, 1000),
  };
}

function readOnOff(vars: Variables, name: string): boolean | undefined {
  const raw = vars.get(name)?.toLowerCase();
  if (raw === undefined) return undefined;
  if (raw === 'on' || raw === 'true' || raw === '1') return true;
  if (raw === 'off' || raw === 'false' || raw === '0') return false;
  vars.fail(name, `use on or off${didYouMean(raw, ['on', 'off', 'true', 'false'])}`);
}

/**
 * A copy of the configuration for printing (`faas config`): values of fields whose name suggests a
 * secret are replaced, and credentials in URLs (user:password@) are masked.
 */
export function redactConfig(config: Readonly<Config>): unknown {
  const secretName = /secret|password|passphrase|token|private|credential|apikey|api_key|adminkey/i;
  const walk = (value: unknown, key: string): unknown => {
    if (typeof value === 'string') {
      if (secretName.test(key)) return '[redacted]';
      return value.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/i, '$1[redacted]@');
    }
    if (Array.isArray(value)) return value.map((v) => walk(v, key));
    if (value && typeof value === 'object') {
      return Object.fromEntries(
        Object.entries(value).map(([k, v]) => [k, secretName.test(k) && v !== undefined ? '[redacted]' : walk(v, k)]),
      );
    }
    return value;
  };
  return walk(config, '');
}

function deepFreeze<T>(value: T): T {
  // A Buffer (the secrets key) cannot be frozen; it is never handed out for writing.
  if (value && typeof value === 'object' && !Buffer.isBuffer(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
