/**
 * Runs invocations in hardened containers over the Docker Engine API (runc by default, gVisor's
 * runsc for the `gvisor` kind). Every container's main process is the guest agent
 * (agent-container.ts), so every path (a spare kept warm, a reused sandbox, a one-shot container)
 * runs the command the same way and reports the same raw facts: the wait status as the agent saw
 * it, and OOM kills from the container's memory cgroup (cgroup.ts).
 *
 * Transports: runc sandboxes kept warm serve the agent on a Unix socket in a host folder; gVisor
 * sandboxes (whose sockets the host cannot see) and one-shot sandboxes speak over the container's
 * attached stdio, which needs no socket and no polling.
 *
 * Sandboxes that die on their own are noticed three ways, whichever comes first: the agent's
 * connection hangs up; the engine's event stream reports the container dead, killed, paused or
 * removed; a periodic sweep finds it not running (both in container-watch.ts). The sweep also
 * removes leftovers while the platform runs, and the event stream's end and return are the
 * engine going down and coming back (`backend-down`, `backend-up`).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { type ExecutorKind, FaasError, type Logger, silentLogger } from '@faas/common';
import { AgentClient, connectUnix } from '../agent/client.js';
import { execOnAgent, resetForReuse } from '../agent/run.js';
import type {
  ExecRequest,
  ExecResult,
  Executor,
  ExecutorCapabilities,
  ExecutorEvent,
  ImageConfig,
  Sandbox,
  SandboxSpec,
} from '../executor.js';
import { ExecutorWatchers, failedBeforeStart, lostBeforeStart, sandboxLost, startRefused, withStarted } from '../faults.js';
import { DEFAULT_SECCOMP_PROFILE } from '../oci/seccomp.js';
import { pidAlive } from '../pids.js';
import { AGENT_SOCKET, agentContainerSpec, makeRunDir, removeRunDir } from './agent-container.js';
import { AttachDuplex } from './attach-duplex.js';
import { ContainerOomProbe } from './cgroup.js';
import {
  LABEL_EXECUTOR,
  LABEL_FUNCTION,
  LABEL_HOST,
  LABEL_INSTANCE,
  LABEL_INVOCATION,
  LABEL_MANAGED,
  LABEL_PID,
  LABEL_SANDBOX,
} from './container-spec.js';
import { ContainerWatch } from './container-watch.js';
import { DockerEngine, EngineError, engineFault } from './engine.js';
import { ImageWatch } from './image-watch.js';
import { ImageResolver, imageIdOf } from './images.js';

export interface DockerExecutorOptions {
  kind?: Extract<ExecutorKind, 'docker' | 'gvisor'>;
  dockerHost: string;
  /** Docker runtime name: runc, or runsc for gVisor. */
  runtime?: string;
  /** The seccomp profile gVisor sandboxes get (default: containers-common's, `DEFAULT_SECCOMP_PROFILE`). */
  seccompProfilePath?: string;
  imagePull: 'auto' | 'never';
  /** The static guest agent, bind-mounted read-only into every container as its main process. */
  agentPath: string;
  /** Host folder for per-sandbox agent sockets (default /run/faas). */
  runRoot?: string;
  logger?: Logger;
  /** How often leftovers and dead sandboxes are looked for while running (default 10 s; 0: never). */
  sweepIntervalMs?: number;
}

interface DockerSandbox extends Sandbox {
  image: ImageConfig;
  containerId: string | undefined;
  agent?: AgentClient;
  oom?: ContainerOomProbe;
  runDir?: string;
  /** Set after a fault or a run that left the agent unusable: never reused. */
  broken: boolean;
  /** Why the sandbox is known dead (its agent hung up, its container died or was killed). */
  lost?: string;
  /** When it was found dead (Date.now()). */
  lostAt?: number;
  /** The engine reported an OOM kill in the container (its `oom` event). */
  oomReported?: boolean;
}

/** How long a new agent container may take to answer HELLO. */
const AGENT_START_TIMEOUT_MS = 15_000;
/** Time past a command's timeout before the host stops waiting for the agent's answer. */
const HOST_DEADLINE_SLACK_MS = 5_000;

/**
 * The RLIMIT_NPROC that lets a function have `pids` processes under gVisor. gVisor counts a task
 * against the uid it was created under, and the command's first process is created by the agent
 * as root before it switches to the sandbox user: only the processes the command starts count,
 * so the limit is one less than the processes allowed (Linux moves the count on setuid: a VM's
 * agent passes `pids` itself).
 */
export function gvisorMaxProcesses(pids: number): number {
  return Math.max(0, pids - 1);
}

export class DockerExecutor implements Executor {
  readonly kind: ExecutorKind;
  private readonly engine: DockerEngine;
  private readonly images: ImageResolver;
  private readonly runtime: string;
  private readonly log: Logger;
  private readonly live = new Map<string, DockerSandbox>();
  private readonly hostLabel = hostname();
  /** Labels this executor object's containers, so its sweep never touches another's. */
  private readonly instance = randomBytes(8).toString('hex');
  private readonly watchers = new ExecutorWatchers();
  /** The engine's events and the periodic sweep (container-watch.ts). */
  private readonly containers: ContainerWatch<DockerSandbox>;
  /** Which image names came to name another image (image-watch.ts). */
  private readonly imageWatch: ImageWatch;
  readonly capabilities: ExecutorCapabilities = { warm: true };
  /** The agent serves its stdio over the attach stream instead of a socket in a host folder. */
  private readonly stdioAgent: boolean;
  /**
   * The sandbox has a kernel of its own (gVisor's Sentry), whose RLIMIT_NPROC counts the sandbox's
   * processes alone: commands get one from `limits.pids` (`maxProcesses`). The host pids cgroup
   * cannot count them: it counts the Sentry's threads (container-spec.ts, `hostPidsLimit`). Never
   * under runc, where RLIMIT_NPROC would count every process of the sandbox user on the host; the
   * container's pids cgroup counts the function's processes exactly there (agent-container.ts).
   */
  private readonly ownKernel: boolean;
  /**
   * Under gVisor: containers-common's seccomp profile (Docker's JSON format, read at init), where
   * runc containers keep the engine's default. The engine's default answers clone3 with ENOSYS by
   * `errnoRet`, which this runsc (Debian 12's 2022 build) does not honour: clone3 got EPERM, glibc
   * does not fall back to clone on EPERM, and no function could start a thread ("can't start new
   * thread" in Python). containers-common's profile allows clone3 (the Sentry implements it or
   * answers ENOSYS itself), and is the one the oci executor gives runsc, so both gVisor paths run
   * under the same filter.
   */
  private seccompProfile: string | undefined;
  private readonly runRoot: string;
  private readonly runDir: string;

  constructor(private readonly options: DockerExecutorOptions) {
    this.kind = options.kind ?? 'docker';
    this.runtime = options.runtime ?? (this.kind === 'gvisor' ? 'runsc' : 'runc');
    this.engine = new DockerEngine({ host: options.dockerHost });
    this.log = options.logger ?? silentLogger;
    this.images = new ImageResolver(this.engine, options.imagePull, this.log);
    // gVisor keeps sockets made inside the sandbox out of the host's view: its agents speak over
    // the container's stdio instead.
    this.stdioAgent = this.kind === 'gvisor' || this.runtime === 'runsc';
    this.ownKernel = this.kind === 'gvisor' || this.runtime === 'runsc';
    this.runRoot = options.runRoot ?? '/run/faas';
    this.runDir = join(this.runRoot, `${this.kind}-${process.pid}`);
    this.containers = new ContainerWatch({
      engine: this.engine,
      host: this.hostLabel,
      instance: this.instance,
      live: this.live,
      sweepIntervalMs: options.sweepIntervalMs ?? 10_000,
      log: this.log,
      onLost: (box, reason) => this.markLost(box, reason),
      onEngineDown: (reason) => {
        this.log.warn({ executor: this.kind, reason }, 'Docker engine down; watching for its return');
        this.watchers.emit({ type: 'backend-down', reason });
      },
      // Called after a sweep reported every sandbox that did not survive.
      onEngineUp: () => {
        this.log.info({ executor: this.kind }, 'Docker engine answers again');
        this.watchers.emit({ type: 'backend-up' });
      },
      removeContainer: (id) => this.removeContainer(id),
    });
    this.imageWatch = new ImageWatch({
      engine: this.engine,
      resolve: (name) => imageIdOf(this.engine, name),
      inUse: (name) => [...this.live.values()].some((box) => box.spec.image === name),
      onChanged: (name) => {
        this.images.forget(name);
        this.watchers.emit({ type: 'image-changed', image: name });
      },
      onEvent: () => this.images.forgetAll(),
      log: this.log,
    });
  }

  async init(): Promise<void> {
    await this.ping();
    const info = await this.engine.request<{ Runtimes?: Record<string, { runtimeArgs?: unknown } | undefined> }>('GET', '/info');
    if (!info.Runtimes || !(this.runtime in info.Runtimes)) {
      throw new FaasError(
        'FAAS_ERR_EXECUTOR_UNAVAILABLE',
        `the Docker engine has no "${this.runtime}" runtime: install gVisor (apt-get install runsc) and register it in /etc/docker/daemon.json (scripts/setup-host.sh does both)`,
      );
    }
    if (this.ownKernel) {
      const args = info.Runtimes[this.runtime]?.runtimeArgs;
      const missing = missingGvisorFlags(Array.isArray(args) ? args : []);
      if (missing.length > 0) {
        throw new FaasError(
          'FAAS_ERR_EXECUTOR_UNAVAILABLE',
          `the Docker engine's "${this.runtime}" runtime runs without ${missing.join(' ')}, so gVisor would ignore the sandbox's seccomp profile: add ${missing.map((f) => `"${f}"`).join(', ')} to its "runtimeArgs" in /etc/docker/daemon.json and restart dockerd (scripts/setup-host.sh does both for a runtime named runsc)`,
        );
      }
    }
    if (this.ownKernel) this.seccompProfile = readGvisorSeccompProfile(this.options.seccompProfilePath ?? DEFAULT_SECCOMP_PROFILE);
    const removed = await this.containers.sweep();
    if (removed > 0) this.log.info({ removed }, 'removed containers left behind by an earlier run');
    this.removeStaleRunDirs();
    this.containers.start();
    this.imageWatch.start();
  }

  /** Records that a live sandbox died; whoever holds it destroys it. Reported once. */
  private markLost(box: DockerSandbox, reason: string): void {
    if (box.lost !== undefined || this.live.get(box.id) !== box) return;
    box.lost = reason;
    box.lostAt = Date.now();
    box.broken = true;
    // A command still running there gets its answer now, not at its timeout.
    box.agent?.close();
    this.log.warn({ sandbox: box.id, container: box.containerId?.slice(0, 12), reason }, 'sandbox lost');
    this.watchers.emit({ type: 'sandbox-lost', sandbox: box, reason });
  }

  /** Socket folders of platform processes that are gone. */
  private removeStaleRunDirs(): void {
    let entries: string[] = [];
    try {
      entries = readdirSync(this.runRoot);
    } catch {
      return;
    }
    for (const name of entries) {
      const match = /^(?:docker|gvisor)-(\d+)$/.exec(name);
      if (match && !pidAlive(Number(match[1]))) removeRunDir(join(this.runRoot, name));
    }
  }

  async ping(): Promise<void> {
    try {
      await this.engine.request('GET', '/_ping', undefined, { timeoutMs: 2000 });
    } catch (err) {
      if (err instanceof FaasError) throw err;
      throw new FaasError('FAAS_ERR_EXECUTOR_UNAVAILABLE', `Docker engine not ready: ${(err as Error).message}`);
    }
  }

  async acquire(spec: SandboxSpec, signal?: AbortSignal): Promise<Sandbox> {
    let config: Awaited<ReturnType<ImageResolver['config']>>;
    try {
      config = await this.images.config(spec.image);
    } catch (err) {
      throw failedBeforeStart(err);
    }
    const { id: imageId, ...image } = config;
    this.imageWatch.seen(spec.image, imageId);
    const sandbox: DockerSandbox = {
      id: randomUUID(),
      executor: this.kind,
      spec,
      image,
      reusable: !spec.oneShot,
      containerId: undefined,
      broken: false,
    };
    this.live.set(sandbox.id, sandbox);
    try {
      await this.startAgent(sandbox, signal);
    } catch (err) {
      const fault = signal?.aborted ? err : await this.startFault(sandbox, err);
      await this.destroy(sandbox);
      throw fault;
    }
    return sandbox;
  }

  /**
   * What a start that failed before the agent's HELLO means. Nothing was sent to the sandbox, so a
   * fault of it says `started` false; the container's own end tells whether another start can do
   * better. An init that could not execute the agent (docker-init exits 126 or 127) or a container
   * the runtime refused to start (the engine's State.Error) is a configuration fault: every start
   * would fail the same way, so it is reported at once. A container that died, was killed or
   * removed while starting, or whose agent hung up, was lost: FAAS_ERR_SANDBOX_LOST, which the
   * core replaces with a fresh sandbox.
   */
  private async startFault(box: DockerSandbox, err: unknown): Promise<unknown> {
    if (!(err instanceof FaasError) || err.status !== 502) return err;
    const state = box.containerId ? await this.endOf(box.containerId, lostBeforeStart(err) || box.lost !== undefined) : undefined;
    const code = state === 'gone' ? undefined : state?.ExitCode;
    if (state !== 'gone' && state?.Running === false && (code === 126 || code === 127)) {
      return startRefused(
        `the container's init could not execute the guest agent (exit ${code}: ${code === 126 ? 'not executable' : 'not found'}): FAAS_AGENT_PATH (${this.options.agentPath}) must be the static guest agent binary, executable, built for this host (guest-agent/build.sh)`,
        err,
      );
    }
    if (state !== 'gone' && state?.Error) {
      return startRefused(`the ${this.runtime} runtime refused to start the sandbox's container: ${state.Error}`, err);
    }
    if (lostBeforeStart(err)) return err;
    const died =
      box.lost ??
      (state === 'gone'
        ? 'its container is gone'
        : state?.Running === false
          ? `its container ${state.Status ?? 'stopped'} (code ${code ?? '?'})`
          : undefined);
    if (died !== undefined) return sandboxLost(`the sandbox died while starting: ${died} (${err.message})`, false, err);
    return failedBeforeStart(err);
  }

  /**
   * The container's state after a failed start ('gone' when the engine has none, undefined when it
   * cannot tell). `settle`: the container is dying (its agent hung up), so its exit code is waited
   * for, briefly.
   */
  private async endOf(
    id: string,
    settle: boolean,
  ): Promise<{ Status?: string; Running?: boolean; ExitCode?: number; Error?: string } | 'gone' | undefined> {
    try {
      if (settle) {
        await this.engine.request('POST', `/containers/${id}/wait?condition=not-running`, undefined, { timeoutMs: 2000 }).catch(() => {});
      }
      return (
        await this.engine.request<{ State?: { Status?: string; Running?: boolean; ExitCode?: number; Error?: string } }>(
          'GET',
          `/containers/${id}/json`,
        )
      ).State;
    } catch (err) {
      return err instanceof EngineError && err.statusCode === 404 ? 'gone' : undefined;
    }
  }

  private labels(spec: SandboxSpec, sandboxId: string): Record<string, string> {
    return {
      [LABEL_MANAGED]: 'true',
      [LABEL_HOST]: this.hostLabel,
      [LABEL_PID]: String(process.pid),
      [LABEL_SANDBOX]: sandboxId,
      [LABEL_EXECUTOR]: this.kind,
      [LABEL_INSTANCE]: this.instance,
      [LABEL_FUNCTION]: spec.functionId,
      ...(spec.invocationId ? { [LABEL_INVOCATION]: spec.invocationId } : {}),
    };
  }

  /** Starts a container whose main process is the guest agent and connects to it. */
  private async startAgent(box: DockerSandbox, signal?: AbortSignal): Promise<void> {
    const stdio = this.stdioAgent || box.spec.oneShot === true;
    const runDir = stdio ? '' : makeRunDir(this.runDir, box.id);
    if (runDir) box.runDir = runDir;
    const body = agentContainerSpec({
      image: box.spec.image,
      limits: box.spec.limits,
      agentPath: this.options.agentPath,
      hostRunDir: runDir,
      runtime: this.runtime,
      labels: this.labels(box.spec, box.id),
      transport: stdio ? 'stdio' : 'unix',
      ...(this.seccompProfile ? { seccompProfile: this.seccompProfile } : {}),
    });
    box.containerId = await this.create(box.spec.image, body, `faas-sb-${box.id}`);
    const containerId = box.containerId;
    this.containers.register(containerId, box);
    box.oom = new ContainerOomProbe(containerId, () => this.engineSaysOomKilled(containerId));
    if (stdio) {
      await this.startStdioAgent(box, box.containerId, signal);
      return;
    }
    try {
      await this.engine.request('POST', `/containers/${box.containerId}/start`);
    } catch (err) {
      throw engineFault(err, 'start agent container');
    }
    signal?.throwIfAborted();
    box.agent = await connectUnix(join(runDir, AGENT_SOCKET), {
      helloTimeoutMs: AGENT_START_TIMEOUT_MS,
      connectTimeoutMs: AGENT_START_TIMEOUT_MS,
      retryIntervalMs: 5,
      // The engine's events tell when the container died before its agent listened (its cgroup
      // is not asked: the probe must not look for it before the container runs).
      gone: () => box.lost,
    });
    this.watchAgent(box);
  }

  /** An agent that hangs up took its sandbox with it (the agent is the container's main process). */
  private watchAgent(box: DockerSandbox): void {
    box.agent?.whenLost(() => this.markLost(box, 'its guest agent hung up'));
  }

  /** Attaches before start (the agent's stdin closes when this attach ends), then says HELLO. */
  private async startStdioAgent(box: DockerSandbox, id: string, signal?: AbortSignal): Promise<void> {
    let raw: Duplex;
    try {
      raw = await this.engine.attach(id);
    } catch (err) {
      throw engineFault(err, 'attach agent container');
    }
    const stream = new AttachDuplex(raw, {
      onStderr: (data) => this.log.debug({ sandbox: box.id, agent: data.toString('utf8').trimEnd() }, 'agent log'),
    });
    try {
      await this.engine.request('POST', `/containers/${id}/start`);
    } catch (err) {
      stream.destroy();
      throw engineFault(err, 'start agent container');
    }
    if (signal?.aborted) stream.destroy();
    signal?.throwIfAborted();
    box.agent = await AgentClient.connect(stream, { helloTimeoutMs: AGENT_START_TIMEOUT_MS });
    this.watchAgent(box);
  }

  async invoke(sandbox: Sandbox, request: ExecRequest): Promise<ExecResult> {
    const box = this.own(sandbox);
    if (box.lost !== undefined) throw sandboxLost(`sandbox ${box.id} died before the command started: ${box.lost}`, false);
    if (!box.agent || box.broken) throw withStarted(new FaasError('FAAS_ERR_SANDBOX_FAILURE', `sandbox ${box.id} is not usable`), false);
    try {
      const run = await execOnAgent(box.agent, request, {
        slackMs: HOST_DEADLINE_SLACK_MS,
        lost: () => this.deathOf(box),
        ...(box.oom ? { oom: box.oom } : {}),
        ...(this.ownKernel ? { maxProcesses: gvisorMaxProcesses(box.spec.limits.pids) } : {}),
      });
      if (!run.healthy) box.broken = true;
      return run.facts;
    } catch (err) {
      box.broken = true;
      throw err;
    }
  }

  /**
   * The engine's record, for a container whose cgroup is gone (gVisor sandboxes die whole at their
   * memory limit). The engine sets OOMKilled when the container stops, so wait for that first.
   */
  private async engineSaysOomKilled(id: string): Promise<boolean> {
    const reported = () => this.containers.oomReported(id);
    const inspect = async () =>
      reported() ||
      (await this.engine.request<{ State?: { OOMKilled?: boolean } }>('GET', `/containers/${id}/json`)).State?.OOMKilled === true;
    try {
      // Only on a failure path: a loaded host can take seconds to stop a gVisor sandbox.
      await this.engine.request('POST', `/containers/${id}/wait?condition=not-running`, undefined, { timeoutMs: 15_000 }).catch(() => {});
      // The engine records the OOM from an event that can trail the exit, by more than a moment
      // on a loaded host.
      for (let attempt = 0; attempt < 6; attempt++) {
        if (await inspect()) return true;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      return await inspect();
    } catch {
      return reported();
    }
  }

  private async create(image: string, body: Record<string, unknown>, name: string): Promise<string> {
    const attempt = () => this.engine.request<{ Id: string }>('POST', `/containers/create?name=${name}`, body);
    try {
      return (await attempt()).Id;
    } catch (err) {
      if (!(err instanceof EngineError && err.statusCode === 404)) throw engineFault(err, 'create container');
    }
    await this.images.ensure(image);
    try {
      return (await attempt()).Id;
    } catch (err) {
      throw engineFault(err, 'create container');
    }
  }

  async release(sandbox: Sandbox): Promise<void> {
    await resetForReuse(this.own(sandbox));
  }

  async destroy(sandbox: Sandbox): Promise<void> {
    const box = this.live.get(sandbox.id);
    if (!box) return;
    this.live.delete(sandbox.id);
    box.agent?.close();
    if (box.containerId) this.containers.forget(box.containerId);
    if (box.containerId) await this.removeContainer(box.containerId);
    if (box.runDir) removeRunDir(box.runDir);
  }

  private async removeContainer(id: string): Promise<void> {
    try {
      await this.engine.request('DELETE', `/containers/${id}?force=1&v=1`);
    } catch (err) {
      if (err instanceof EngineError && err.statusCode === 404) return;
      // 409 means removal is already in progress, which is what we want.
      if (err instanceof EngineError && err.statusCode === 409) return;
      this.log.warn({ container: id, err: (err as Error).message }, 'container removal failed');
    }
  }

  alive(sandbox: Sandbox): boolean {
    const box = this.live.get(sandbox.id);
    return box !== undefined && !box.broken && box.agent !== undefined && !box.agent.closed && this.deathOf(box) === undefined;
  }

  /**
   * Why the sandbox is dead, if it is known: what events told, else its cgroup with no process
   * left (a kill whose news has not arrived yet). Synchronous, asked before every command.
   */
  private deathOf(box: DockerSandbox): string | undefined {
    if (box.lost !== undefined) return box.lost;
    if (box.oom?.emptied()) {
      this.markLost(box, 'its container has no process left');
      return box.lost;
    }
    return undefined;
  }

  watch(listener: (event: ExecutorEvent) => void): () => void {
    return this.watchers.add(listener);
  }

  async close(): Promise<void> {
    this.imageWatch.close();
    await this.containers.close();
    this.watchers.clear();
    await Promise.all([...this.live.values()].map((box) => this.destroy(box)));
    removeRunDir(this.runDir);
    this.engine.close();
  }

  private own(sandbox: Sandbox): DockerSandbox {
    const box = this.live.get(sandbox.id);
    if (!box) throw new FaasError('FAAS_ERR_INTERNAL', `sandbox ${sandbox.id} is not live in the ${this.kind} executor`);
    return box;
  }
}

/**
 * The runsc global flags a gVisor runtime of the engine must have (from its `runtimeArgs` in
 * daemon.json, as GET /info reports them) and lacks: `--oci-seccomp`, without which runsc ignores
 * the container's seccomp profile and only gVisor's host-side filter applies (runsc flags).
 * Read as runsc reads them, with Go's flag package: `-name` or `--name`, optionally `=value`, the
 * last occurrence winning, parsing ending at `--` or at the first argument that is not a flag, a
 * boolean value being one of strconv.ParseBool's (1, t, T, TRUE, true, True and their false
 * counterparts); a value Go would refuse counts as not set.
 */
/** The spellings strconv.ParseBool reads as true. */
const GO_TRUE: ReadonlySet<string> = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);

export function missingGvisorFlags(runtimeArgs: readonly unknown[]): string[] {
  const enabled = (name: string): boolean => {
    let on = false;
    for (const arg of runtimeArgs) {
      const text = String(arg);
      // Go's flag package stops at "--" and at the first argument that is not a flag.
      if (text === '--' || !text.startsWith('-') || text === '-') break;
      const match = /^--?([^=]+)(?:=(.*))?$/s.exec(text);
      if (match?.[1] !== name) continue;
      const value = match[2];
      on = value === undefined || GO_TRUE.has(value);
    }
    return on;
  };
  return ['--oci-seccomp'].filter((flag) => !enabled(flag.slice(2)));
}

/**
 * The seccomp profile for gVisor sandboxes as the engine takes it (`seccomp=<JSON>`), compacted;
 * FAAS_ERR_EXECUTOR_UNAVAILABLE naming the package when it cannot be read or is not a profile.
 */
function readGvisorSeccompProfile(path: string): string {
  let profile: unknown;
  try {
    profile = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new FaasError(
      'FAAS_ERR_EXECUTOR_UNAVAILABLE',
      `gVisor sandboxes run under containers-common's seccomp profile, which could not be read at ${path} (${(err as Error).message}): install Debian's golang-github-containers-common package (scripts/setup-host.sh does)`,
    );
  }
  if (profile === null || typeof profile !== 'object' || !Array.isArray((profile as { syscalls?: unknown }).syscalls)) {
    throw new FaasError('FAAS_ERR_EXECUTOR_UNAVAILABLE', `${path} is not a seccomp profile (no "syscalls" list)`);
  }
  return JSON.stringify(profile);
}
