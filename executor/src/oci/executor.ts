/**
 * Runs every sandbox as a container of an OCI runtime (runc, crun or runsc: the same commands)
 * driven directly, without the Docker engine in the path: a fresh, hardened container
 * costs about one runtime process. The Docker engine is used only as the image store, beside an
 * OCI image layout for `oci:<ref>` images (FAAS_OCI_IMAGE_LAYOUT, image-layout.ts): each image is
 * unpacked once into a shared read-only root filesystem (rootfs-cache.ts).
 *
 * A sandbox is a bundle folder holding its config.json (bundle-spec.ts: the Docker executor's
 * hardening, with the default seccomp profile of seccomp.ts) and a foreground `runc run` whose
 * stdio pipes carry the guest agent's framed protocol (runtime.ts); the agent is the container's
 * PID 1. Deaths are known at once: the runtime child exits with its container, the agent's
 * connection hangs up, or the sandbox's memory cgroup has no process left (cgroup.ts).
 * Destroying closes the agent's stdin (the agent exits; the pid namespace dies with its PID 1, and
 * the foreground run deletes the container), then falls back to `kill` and `delete --force`.
 *
 * Per runtime: crun compiles the seccomp profile with libseccomp on every start (about two thirds
 * of a container's start here), so the executor keeps the filter crun compiled for its first
 * sandbox (`seccomp.bpf` in that container's state folder) and hands it to later ones as
 * `run.oci.seccomp_bpf_data` (crun(1)): the same filter, compiled once per executor. runsc gets
 * `--network=none` (runtime.ts).
 *
 * User namespaces (FAAS_OCI_USERNS, runc and crun): each sandbox gets a host id range of its own
 * (userns.ts), so the agent, root inside, is an unprivileged host uid. Whether the host allows it
 * is learnt at init from a real start of a container with one, on a probe root filesystem in the
 * rootfs cache holding only the mount points (what runs it must reach: the cache folder and the
 * agent, through folders searchable by others); `auto` falls back to none with one warning.
 */
import { randomUUID } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { Duplex } from 'node:stream';
import { FaasError, type Logger, silentLogger } from '@faas/common';
import { AgentClient } from '../agent/client.js';
import { execOnAgent, resetForReuse } from '../agent/run.js';
import { LABEL_EXECUTOR, LABEL_FUNCTION, LABEL_INVOCATION, LABEL_MANAGED, LABEL_SANDBOX } from '../docker/container-spec.js';
import { DockerEngine, EngineError, engineFault } from '../docker/engine.js';
import { gvisorMaxProcesses } from '../docker/executor.js';
import { ImageWatch } from '../docker/image-watch.js';
import { ImageResolver, imageIdOf } from '../docker/images.js';
import { execRequest } from '../exec-request.js';
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
import { pidAlive } from '../pids.js';
import { AGENT_CAPS, AGENT_MOUNT, bundleSpec, CPU_PERIOD_US, cpuQuotaUs, MOUNT_POINTS, ociPidsLimit } from './bundle-spec.js';
import {
  cgroupV2,
  createV1Cgroups,
  hybridV2Controllers,
  OciOomProbe,
  removeStaleCgroups,
  removeV1Cgroups,
  swapAccounting,
} from './cgroup.js';
import { isLayoutImage, type LayoutLayer, layoutImage, OciImageLayout } from './image-layout.js';
import { type LaunchedProcess, Launcher } from './launcher.js';
import { cacheTempName, RootfsCache } from './rootfs-cache.js';
import { CONTAINER_PREFIX, OciRuntime, ownerPid } from './runtime.js';
import { DEFAULT_SECCOMP_PROFILE, loadSeccompProfile, type OciSeccomp, resolveSeccomp, seccompArch } from './seccomp.js';
import { type IdMapping, kernelUserns, slotMapping, USERNS_CLAIMS, UsernsSlots } from './userns.js';

export interface OciExecutorOptions {
  /** The OCI runtime binary (default runc, found on PATH). */
  runtimePath?: string;
  /** Extra global flags for the runtime (FAAS_OCI_RUNTIME_ARGS), after the executor's own. */
  runtimeArgs?: readonly string[];
  dockerHost: string;
  imagePull: 'auto' | 'never';
  /** The static guest agent, bind-mounted read-only into every container as its main process. */
  agentPath: string;
  /** Folder of the unpacked image root filesystems, one per image id. */
  cacheDir: string;
  /** FAAS_OCI_IMAGE_LAYOUT: an OCI image layout folder whose images requests name as `oci:<ref>` (image-layout.ts). */
  imageLayout?: string;
  /** Host folder for the runtime's state and the per-sandbox bundles (default /run/faas). */
  runRoot?: string;
  /** The Docker-format seccomp profile (default Debian's containers-common one). */
  seccompProfile?: string;
  /** FAAS_OCI_USERNS: a user namespace per sandbox where the host allows it, always, or never (default auto). */
  userns?: 'auto' | 'on' | 'off';
  /** The host-wide folder of user namespace range claims (default /run/faas/oci-userns; tests). */
  usernsClaims?: string;
  logger?: Logger;
}

/** Whether sandboxes get user namespaces, and if not, why. */
export interface OciUsernsState {
  active: boolean;
  reason?: string;
}

interface OciSandbox extends Sandbox {
  image: ImageConfig;
  containerId: string;
  bundle: string;
  child?: LaunchedProcess;
  exited?: Promise<void>;
  agent?: AgentClient;
  oom?: OciOomProbe;
  /** The sandbox's host id range (userns.ts), held until the container is gone. */
  slot?: number;
  /** The init-time user namespace probe: its loss is the probe's answer, not an event. */
  probe?: boolean;
  broken: boolean;
  lost?: string;
  /** The cgroupsPath of cgroups the executor made itself (runsc on v1), removed on destroy. */
  ownCgroups?: string;
}

interface ImageInfo extends ImageConfig {
  id: string;
  /** An image of the OCI image layout: its layer blobs, unpacked instead of a Docker export. */
  layers?: LayoutLayer[];
}

const AGENT_START_TIMEOUT_MS = 15_000;
/** How often unpacked images that left the image store are removed while the platform runs (ms). */
const IMAGE_PRUNE_MS = 60_000;
/** How often the refs of an OCI image layout are checked for another image (ms). */
const LAYOUT_POLL_MS = 2_000;
const HOST_DEADLINE_SLACK_MS = 5_000;
const IMAGE_CACHE_MS = 30_000;
/** How long a destroyed sandbox's agent gets to exit on its own before the runtime kills it. */
const EXIT_GRACE_MS = 2_000;
const STDERR_TAIL = 2048;
const CGROUP_PARENT = 'faas-oci';
/** crun(1): raw seccomp(SECCOMP_SET_MODE_FILTER) data, base64, used instead of linux.seccomp. */
const CRUN_SECCOMP_BPF = 'run.oci.seccomp_bpf_data';
/** Where crun keeps the filter it compiled for a container: <root>/<id>/seccomp.bpf. */
const CRUN_SECCOMP_FILE = 'seccomp.bpf';
const PROBE_LIMITS = { memoryBytes: 64 << 20, cpus: 1, pids: 16, tmpBytes: 1 << 20, outputBytes: 4096 };

export class OciExecutor implements Executor {
  readonly kind = 'oci' as const;
  readonly capabilities: ExecutorCapabilities = { warm: true };
  private readonly engine: DockerEngine;
  private readonly images: ImageResolver;
  private readonly rootfs: RootfsCache;
  private readonly layout: OciImageLayout | undefined;
  private pruneTimer: NodeJS.Timeout | undefined;
  private pruning: Promise<void> | undefined;
  private readonly runtime: OciRuntime;
  private readonly bundles: string;
  private readonly log: Logger;
  private readonly live = new Map<string, OciSandbox>();
  private readonly watchers = new ExecutorWatchers();
  private readonly imageInfo = new Map<string, { at: number; info: Promise<ImageInfo> }>();
  /** Which image names came to name another image (image-watch.ts); layout refs are polled. */
  private readonly imageWatch: ImageWatch;
  private layoutTimer: NodeJS.Timeout | undefined;
  private seccomp: OciSeccomp | undefined;
  /** crun only: the filter crun compiled for this executor's profile, base64 (see above). */
  private seccompBpf: string | undefined;
  /** crun did not apply a compiled filter once: the profile is compiled on every start. */
  private seccompBpfRefused = false;
  private readonly swap = swapAccounting();
  /** Starts runtime processes off the event loop (launcher.ts). */
  private readonly launcher = new Launcher();
  /**
   * runsc on a cgroup v1 host: the executor makes each sandbox's memory, cpu and pids cgroups
   * itself (cgroup.ts, createV1Cgroups), so its OOM record outlives the sandbox.
   */
  private get ownCgroups(): boolean {
    return this.runtime.flavour === 'runsc' && !cgroupV2();
  }
  private readonly slots: UsernsSlots;
  private usernsState: OciUsernsState = { active: false, reason: 'the executor was not initialised' };

  constructor(private readonly options: OciExecutorOptions) {
    this.log = options.logger ?? silentLogger;
    this.engine = new DockerEngine({ host: options.dockerHost });
    this.images = new ImageResolver(this.engine, options.imagePull, this.log);
    this.rootfs = new RootfsCache(this.engine, options.cacheDir, this.log);
    this.layout = options.imageLayout ? new OciImageLayout(options.imageLayout, undefined, this.log) : undefined;
    this.imageWatch = new ImageWatch({
      engine: this.engine,
      resolve: (name) => this.currentImageId(name),
      inUse: (name) => [...this.live.values()].some((box) => box.spec.image === name),
      onChanged: (name) => {
        this.imageInfo.delete(name);
        this.images.forget(name);
        this.watchers.emit({ type: 'image-changed', image: name });
      },
      // The layout's names are not the engine's: their entries stay (the layout keeps its own cache).
      onEvent: () => {
        for (const name of [...this.imageInfo.keys()]) if (!isLayoutImage(name)) this.imageInfo.delete(name);
        this.images.forgetAll();
      },
      log: this.log,
    });
    const runtimePath = options.runtimePath ?? 'runc';
    const runRoot = options.runRoot ?? '/run/faas';
    this.runtime = new OciRuntime(runtimePath, ociStateRoot(runRoot, runtimePath), options.runtimeArgs ?? [], this.launcher);
    this.bundles = join(runRoot, 'oci-bundles');
    this.slots = new UsernsSlots(options.usernsClaims ?? USERNS_CLAIMS);
  }

  /** Whether this executor's sandboxes run in user namespaces (known after init). */
  get userns(): OciUsernsState {
    return { ...this.usernsState };
  }

  /** The host id range a live sandbox's container ids 0..65535 map to; undefined without a user namespace. */
  hostIds(sandbox: Sandbox): IdMapping | undefined {
    const slot = this.live.get(sandbox.id)?.slot;
    return slot === undefined ? undefined : slotMapping(slot);
  }

  async init(): Promise<void> {
    const profile = loadSeccompProfile(this.options.seccompProfile ?? DEFAULT_SECCOMP_PROFILE);
    this.seccomp = resolveSeccomp(profile, seccompArch(), AGENT_CAPS);
    let version: string;
    try {
      version = await this.runtime.version();
    } catch (err) {
      throw new FaasError(
        'FAAS_ERR_EXECUTOR_UNAVAILABLE',
        `the oci executor cannot run its runtime ${this.runtime.path}: ${(err as Error).message} (install runc, or set FAAS_OCI_RUNTIME)`,
      );
    }
    if (this.runtime.flavour === 'other') {
      throw new FaasError(
        'FAAS_ERR_EXECUTOR_UNAVAILABLE',
        `FAAS_OCI_RUNTIME=${this.runtime.path} is not runc, crun or runsc (its --version says "${version.slice(0, 80)}"): the oci executor supports those three`,
      );
    }
    const hybrid = this.runtime.flavour === 'crun' ? hybridV2Controllers() : [];
    if (hybrid.length > 0) {
      throw new FaasError(
        'FAAS_ERR_EXECUTOR_UNAVAILABLE',
        `crun cannot create cgroups on this cgroup v1 host while the cgroup2 hierarchy holds controllers (${hybrid.join(', ')}): ` +
          `move them to v1 (scripts/setup-host.sh does: mount -t cgroup -o <controller> cgroup /sys/fs/cgroup/<controller>), or use FAAS_OCI_RUNTIME=runc`,
      );
    }
    await this.ping();
    mkdirSync(this.runtime.root, { recursive: true, mode: 0o700 });
    mkdirSync(this.bundles, { recursive: true, mode: 0o700 });
    await this.removeLeftovers();
    await this.setupUserns();
    this.pruneTimer = setInterval(() => {
      if (!this.pruning) this.pruning = this.pruneImages().finally(() => (this.pruning = undefined));
    }, IMAGE_PRUNE_MS);
    this.pruneTimer.unref();
    this.imageWatch.start();
    if (this.layout) {
      // A layout has no events: its refs are checked again (a stat of index.json while it is
      // unchanged) this often.
      this.layoutTimer = setInterval(() => void this.imageWatch.recheck(isLayoutImage), LAYOUT_POLL_MS);
      this.layoutTimer.unref();
    }
  }

  /**
   * The id `name` resolves to now (the image store's, or the layout's), undefined when it resolves
   * to none; throws when that cannot be told (the engine is down).
   */
  private async currentImageId(name: string): Promise<string | undefined> {
    if (!isLayoutImage(name)) return imageIdOf(this.engine, name);
    try {
      return (await layoutImage(this.layout, name)).id;
    } catch (err) {
      // The ref is gone from index.json, or its image is unusable now.
      if (err instanceof FaasError) return undefined;
      throw err;
    }
  }

  /** Decides FAAS_OCI_USERNS: off, or on where a probe container with a user namespace runs. */
  private async setupUserns(): Promise<void> {
    const mode = this.options.userns ?? 'auto';
    if (mode === 'off') {
      this.usernsState = { active: false, reason: 'FAAS_OCI_USERNS=off' };
      await this.requireStart();
      return;
    }
    const ruledOut = this.usernsRuledOut();
    const failed = ruledOut ? undefined : await this.probeStart(true);
    if (ruledOut === undefined && failed === undefined) {
      this.usernsState = { active: true };
      this.log.debug({ claims: this.options.usernsClaims ?? USERNS_CLAIMS }, 'oci sandboxes run in user namespaces');
      return;
    }
    // Only a failure that the user namespace causes is a reason to run without one: a container
    // that does not start without one either is a broken runtime or configuration, not a host
    // without user namespaces.
    await this.requireStart();
    const reason =
      ruledOut ??
      `a container with a user namespace did not start or run (${failed}); its root is host uid ${slotMapping(0).hostID} and up, ` +
        `which must be able to reach ${this.options.cacheDir} and ${this.options.agentPath} (every folder above them searchable by others, o+x)`;
    this.usernsState = { active: false, reason };
    if (mode === 'on') {
      throw new FaasError(
        'FAAS_ERR_EXECUTOR_UNAVAILABLE',
        `FAAS_OCI_USERNS=on, but the oci executor cannot give sandboxes user namespaces: ${reason}; or set FAAS_OCI_USERNS=auto to run without one`,
      );
    }
    this.log.warn({ reason }, `oci sandboxes run without user namespaces, container root is host root (FAAS_OCI_USERNS=auto): ${reason}`);
  }

  /** Why user namespaces cannot work here, as far as the host says without starting anything. */
  private usernsRuledOut(): string | undefined {
    if (this.runtime.flavour === 'runsc') {
      return 'gVisor (runsc) is its own kernel and the executor gives it no user namespace (runc and crun get one)';
    }
    if (process.getuid?.() !== 0) return 'mapping host id ranges needs the platform to run as root';
    return kernelUserns();
  }

  /** Refuses to start unless a container without a user namespace starts and runs the agent. */
  private async requireStart(): Promise<void> {
    const failed = await this.probeStart(false);
    if (failed === undefined) return;
    throw new FaasError(
      'FAAS_ERR_EXECUTOR_UNAVAILABLE',
      `the oci executor cannot run a container with ${this.runtime.path}${this.options.runtimeArgs?.length ? ` ${this.options.runtimeArgs.join(' ')}` : ''}: ${failed}` +
        ' (check FAAS_OCI_RUNTIME and FAAS_OCI_RUNTIME_ARGS)',
    );
  }

  /**
   * Starts one container the way every sandbox starts (with a user namespace or without), on a
   * root filesystem of mount points only, and runs the agent in it as the sandbox user: undefined
   * if that works, else what failed.
   */
  private async probeStart(userns: boolean): Promise<string | undefined> {
    const cacheDir = this.options.cacheDir;
    const rootfs = join(cacheDir, cacheTempName('userns-probe'));
    let box: OciSandbox | undefined;
    try {
      // The mapped root must pass through the cache folder to the image's root filesystem.
      mkdirSync(cacheDir, { recursive: true, mode: 0o711 });
      chmodSync(cacheDir, 0o711);
      if (userns) {
        const removed = this.slots.init();
        if (removed > 0) this.log.info({ removed }, 'removed user namespace range claims of processes that are gone');
      }
      mkdirSync(rootfs, { mode: 0o755 });
      for (const dir of MOUNT_POINTS.dirs) mkdirSync(join(rootfs, dir), { recursive: true, mode: 0o755 });
      for (const file of MOUNT_POINTS.files) {
        mkdirSync(join(rootfs, dirname(file)), { recursive: true, mode: 0o755 });
        writeFileSync(join(rootfs, file), '', { mode: 0o644 });
      }
      const id = `${process.pid}-${userns ? 'userns-probe' : 'start-probe'}`;
      const probe: OciSandbox = {
        id,
        executor: this.kind,
        spec: { image: 'userns-probe', functionId: 'userns-probe', limits: PROBE_LIMITS, oneShot: true },
        image: { env: [], workingDir: undefined },
        reusable: false,
        containerId: `${CONTAINER_PREFIX}${id}`,
        bundle: join(this.bundles, `${CONTAINER_PREFIX}${id}`),
        ...(userns ? { slot: this.slots.acquire() } : {}),
        probe: true,
        broken: false,
      };
      box = probe;
      this.live.set(id, probe);
      await this.start(probe, rootfs);
      const facts = await this.invoke(
        probe,
        execRequest([AGENT_MOUNT, '--version'], { invocationId: 'userns-probe', timeoutMs: 10_000, outputBytes: 4096 }),
      );
      if (facts.exitCode !== 0) {
        throw new Error(`the agent run as 65534 ended with ${facts.signal ?? `code ${facts.exitCode}`}: ${facts.stderr.toString().trim()}`);
      }
      return undefined;
    } catch (err) {
      return (err as Error).message.trim();
    } finally {
      if (box) await this.destroy(box);
      rmSync(rootfs, { recursive: true, force: true });
    }
  }

  /** Containers and bundles of platform processes that are gone, and images no longer in the store. */
  private async removeLeftovers(): Promise<void> {
    const deadOwner = (name: string) => {
      const pid = ownerPid(name);
      return pid !== undefined && pid !== process.pid && !pidAlive(pid);
    };
    let removed = 0;
    for (const container of await this.runtime.list().catch(() => [])) {
      if (!deadOwner(container.id)) continue;
      await this.runtime.delete(container.id).catch(() => {});
      removed++;
    }
    for (const name of readdirSync(this.bundles)) {
      if (deadOwner(name)) rmSync(join(this.bundles, name), { recursive: true, force: true });
    }
    const cgroups = removeStaleCgroups(CGROUP_PARENT, deadOwner);
    if (removed > 0 || cgroups > 0) this.log.info({ removed, cgroups }, 'removed OCI containers left behind by an earlier run');
    await this.pruneImages();
  }

  /**
   * Removes unpacked images no longer in the image store (or in this platform's layout), keeping
   * every entry a live sandbox of any platform sharing the cache uses (the root.path of each
   * bundle under the shared bundles folder). At start-up, then every IMAGE_PRUNE_MS.
   */
  private async pruneImages(): Promise<void> {
    const stale = this.rootfs.removeStale();
    if (stale > 0) this.log.info({ removed: stale }, 'removed unfinished unpacks and entries of the first cache format');
    try {
      const images = await this.engine.request<{ Id: string }[]>('GET', '/images/json');
      const layout = this.layout ? { dir: this.layout.dir, ids: this.layout.ids() } : undefined;
      const inUse = new Set<string>();
      for (const name of readdirSync(this.bundles)) {
        try {
          const root = (JSON.parse(readFileSync(join(this.bundles, name, 'config.json'), 'utf8')) as { root?: { path?: unknown } }).root
            ?.path;
          if (typeof root === 'string') inUse.add(root);
        } catch {
          // a bundle being written or removed
        }
      }
      const pruned = this.rootfs.prune({ docker: new Set(images.map((image) => image.Id)), ...(layout ? { layout } : {}), inUse });
      if (pruned > 0) this.log.info({ pruned }, 'removed unpacked images no longer in the image store');
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'could not list images to prune unpacked root filesystems');
    }
  }

  async ping(): Promise<void> {
    try {
      await this.engine.request('GET', '/_ping', undefined, { timeoutMs: 2000 });
    } catch (err) {
      if (err instanceof FaasError) throw err;
      throw new FaasError('FAAS_ERR_EXECUTOR_UNAVAILABLE', `Docker engine (the image store) not ready: ${(err as Error).message}`);
    }
  }

  private image(name: string): Promise<ImageInfo> {
    // The layout keeps its own cache, re-read when index.json changes.
    if (isLayoutImage(name)) {
      // The message (an API answer) names no host path: the layout's is logged here.
      return layoutImage(this.layout, name).catch((err: unknown) => {
        this.log.debug({ layout: this.layout?.dir, image: name.slice(0, 200), err: (err as Error).message }, 'OCI layout image refused');
        throw err;
      });
    }
    const cached = this.imageInfo.get(name);
    if (cached && Date.now() - cached.at < IMAGE_CACHE_MS) return cached.info;
    const info = this.inspect(name);
    this.imageInfo.set(name, { at: Date.now(), info });
    info.catch(() => this.imageInfo.delete(name));
    return info;
  }

  private async inspect(name: string): Promise<ImageInfo> {
    type Inspect = { Id: string; Config?: { Env?: string[] | null; WorkingDir?: string } };
    const read = () => this.engine.request<Inspect>('GET', `/images/${encodeURIComponent(name)}/json`);
    let info: Inspect;
    try {
      info = await read();
    } catch (err) {
      if (!(err instanceof EngineError && err.statusCode === 404)) throw engineFault(err, 'inspect image');
      await this.images.ensure(name);
      try {
        info = await read();
      } catch (again) {
        throw engineFault(again, 'inspect image');
      }
    }
    return { id: info.Id, env: info.Config?.Env ?? [], workingDir: info.Config?.WorkingDir || undefined };
  }

  async acquire(spec: SandboxSpec, signal?: AbortSignal): Promise<Sandbox> {
    if (!this.seccomp) throw new FaasError('FAAS_ERR_EXECUTOR_UNAVAILABLE', 'the oci executor was not initialised');
    const info = await this.image(spec.image);
    this.imageWatch.seen(spec.image, info.id);
    const rootfs = await this.rootfs.rootfs(
      info.id,
      info.layers && this.layout ? { layoutDir: this.layout.dir, layers: info.layers } : undefined,
    );
    signal?.throwIfAborted();
    const id = `${process.pid}-${randomUUID()}`;
    const containerId = `${CONTAINER_PREFIX}${id}`;
    const box: OciSandbox = {
      id,
      executor: this.kind,
      spec,
      image: { env: info.env, workingDir: info.workingDir },
      reusable: !spec.oneShot,
      containerId,
      bundle: join(this.bundles, containerId),
      broken: false,
    };
    this.live.set(id, box);
    try {
      if (this.usernsState.active) box.slot = this.slots.acquire();
      await this.start(box, rootfs, signal);
    } catch (err) {
      const fault = signal?.aborted ? err : startFault(box, err);
      await this.destroy(box);
      throw fault;
    }
    return box;
  }

  private async start(box: OciSandbox, rootfs: string, signal?: AbortSignal): Promise<void> {
    const cgroupsPath = `/${CGROUP_PARENT}/${box.containerId}`;
    const compiled = this.seccompBpf !== undefined;
    const config = bundleSpec({
      rootfs,
      agentPath: this.options.agentPath,
      limits: box.spec.limits,
      cgroupsPath,
      pidsLimit: ociPidsLimit(this.runtime.flavour, box.spec.limits.pids),
      // With crun's compiled filter, the profile itself is left out: crun would parse it and
      // ignore it (about 1 ms of a 9 ms start here). Each such start is checked below.
      seccomp: this.seccompBpf ? undefined : (this.seccomp as OciSeccomp),
      swapAccounting: this.swap,
      ...(box.slot !== undefined ? { idMapping: slotMapping(box.slot) } : {}),
      annotations: {
        [LABEL_MANAGED]: 'true',
        [LABEL_EXECUTOR]: this.kind,
        [LABEL_SANDBOX]: box.id,
        [LABEL_FUNCTION]: box.spec.functionId,
        ...(box.spec.invocationId ? { [LABEL_INVOCATION]: box.spec.invocationId } : {}),
        ...(this.seccompBpf ? { [CRUN_SECCOMP_BPF]: this.seccompBpf } : {}),
      },
    });
    if (this.ownCgroups) {
      box.ownCgroups = cgroupsPath;
      createV1Cgroups(cgroupsPath, {
        memoryBytes: box.spec.limits.memoryBytes,
        swap: this.swap,
        cpuQuotaUs: cpuQuotaUs(box.spec.limits.cpus),
        cpuPeriodUs: CPU_PERIOD_US,
        pids: ociPidsLimit(this.runtime.flavour, box.spec.limits.pids),
      });
    }
    const child = this.runtime.run(box.containerId, box.bundle, {
      dirs: [{ path: box.bundle, mode: 0o700 }],
      files: [{ path: join(box.bundle, 'config.json'), data: JSON.stringify(config) }],
    });
    box.child = child;
    let stderr = '';
    child.stderr.on('data', (data: Buffer) => {
      stderr = (stderr + data.toString('utf8')).slice(-STDERR_TAIL);
      this.log.debug({ sandbox: box.id, agent: data.toString('utf8').trimEnd() }, 'agent log');
    });
    box.exited = new Promise((resolve) => {
      // 'error' can come more than once (a failed start, then the launcher's loss): never unheard.
      child.on('error', (err) => {
        stderr += `\n${err.message}`;
        resolve();
      });
      child.once('close', (code, sig) => {
        this.markLost(box, `its runtime exited (${sig ?? `code ${code}`})`);
        resolve();
      });
    });
    box.oom = new OciOomProbe(cgroupsPath);
    const stream = Duplex.from({ readable: child.stdout, writable: child.stdin });
    child.stdin.on('error', () => {});
    if (signal?.aborted) stream.destroy();
    signal?.throwIfAborted();
    try {
      box.agent = await AgentClient.connect(stream, { helloTimeoutMs: AGENT_START_TIMEOUT_MS });
    } catch (err) {
      stream.destroy();
      await Promise.race([box.exited, delay(500)]);
      throw new FaasError(
        'FAAS_ERR_SANDBOX_FAILURE',
        `the ${basename(this.runtime.path)} container did not start its guest agent: ${(err as Error).message}${stderr ? `; ${stderr.trim()}` : ''}`,
        { cause: err },
      );
    }
    box.agent.whenLost(() => this.markLost(box, 'its guest agent hung up'));
    if (compiled) this.checkCompiledSeccomp(box);
    else if (this.runtime.flavour === 'crun' && !this.seccompBpfRefused) this.keepCompiledSeccomp(box.containerId);
  }

  /**
   * A sandbox started with the compiled filter only: its agent must run in seccomp filter mode
   * (proc(5) "Seccomp: 2"), or this crun ignored the annotation; then the sandbox is refused and
   * every later start compiles the profile again.
   */
  private checkCompiledSeccomp(box: OciSandbox): void {
    const agent = box.oom?.pids()[0];
    let mode: string | undefined;
    try {
      if (agent !== undefined) mode = /^Seccomp:\s*(\d+)$/m.exec(readFileSync(`/proc/${agent}/status`, 'utf8'))?.[1];
    } catch {
      // the agent is gone: its loss is reported as such
      return;
    }
    if (agent === undefined || mode === '2') return;
    this.seccompBpf = undefined;
    this.seccompBpfRefused = true;
    this.log.error(
      { sandbox: box.id, seccomp: mode },
      'crun did not apply the compiled seccomp filter; every start compiles the profile from now on',
    );
    throw new FaasError(
      'FAAS_ERR_SANDBOX_FAILURE',
      `sandbox ${box.id} started without its seccomp filter (${basename(this.runtime.path)} ignored ${CRUN_SECCOMP_BPF})`,
    );
  }

  /** Keeps the filter crun compiled for a running container, for the sandboxes after it. */
  private keepCompiledSeccomp(containerId: string): void {
    try {
      const bpf = readFileSync(join(this.runtime.root, containerId, CRUN_SECCOMP_FILE));
      // struct sock_filter is 8 bytes; BPF_MAXINSNS is 4096.
      if (bpf.length === 0 || bpf.length % 8 !== 0 || bpf.length > 4096 * 8) return;
      this.seccompBpf = bpf.toString('base64');
      this.log.debug({ instructions: bpf.length / 8 }, 'keeping the seccomp filter crun compiled');
    } catch {
      // not written by this crun version: every start compiles the profile
    }
  }

  private markLost(box: OciSandbox, reason: string): void {
    if (box.lost !== undefined || this.live.get(box.id) !== box) return;
    // Before the runtime removes the cgroup: whether its memory limit is what killed the sandbox.
    box.oom?.read();
    box.lost = reason;
    box.broken = true;
    box.agent?.close();
    if (box.probe) return;
    this.log.warn({ sandbox: box.id, reason }, 'sandbox lost');
    this.watchers.emit({ type: 'sandbox-lost', sandbox: box, reason });
  }

  async invoke(sandbox: Sandbox, request: ExecRequest): Promise<ExecResult> {
    const box = this.own(sandbox);
    if (box.lost !== undefined) throw sandboxLost(`sandbox ${box.id} died before the command started: ${box.lost}`, false);
    if (!box.agent || box.broken) throw withStarted(new FaasError('FAAS_ERR_SANDBOX_FAILURE', `sandbox ${box.id} is not usable`), false);
    try {
      const run = await execOnAgent(box.agent, request, {
        slackMs: HOST_DEADLINE_SLACK_MS,
        lost: () => this.deathOf(box),
        // gVisor's Sentry counts the sandbox's processes itself (docker/executor.ts).
        ...(this.runtime.flavour === 'runsc' ? { maxProcesses: gvisorMaxProcesses(box.spec.limits.pids) } : {}),
        ...(box.oom ? { oom: box.oom } : {}),
      });
      if (!run.healthy) box.broken = true;
      return run.facts;
    } catch (err) {
      box.broken = true;
      throw err;
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
    if (box.child) {
      // The agent's stdin closed: it exits, and the foreground run removes the container.
      box.child.stdin.destroy();
      if (!(await settles(box.exited, EXIT_GRACE_MS))) {
        await this.runtime.kill(box.containerId).catch(() => {});
        if (!(await settles(box.exited, EXIT_GRACE_MS))) box.child.kill('SIGKILL');
      }
    }
    let gone = true;
    if (existsSync(join(this.runtime.root, box.containerId))) {
      await this.runtime.delete(box.containerId).catch((err: Error) => {
        gone = false;
        this.log.warn({ container: box.containerId, err: err.message }, 'container removal failed');
      });
    }
    await this.launcher.rm(box.bundle).catch(() => rmSync(box.bundle, { recursive: true, force: true }));
    if (box.ownCgroups && gone && !removeV1Cgroups(box.ownCgroups)) {
      this.log.warn({ container: box.containerId }, "could not remove the sandbox's cgroups; start-up removes them");
    }
    // A container that may still run keeps its id range: no later sandbox may share its host ids.
    if (box.slot !== undefined && gone) this.slots.release(box.slot);
  }

  alive(sandbox: Sandbox): boolean {
    const box = this.live.get(sandbox.id);
    return box !== undefined && !box.broken && box.agent !== undefined && !box.agent.closed && this.deathOf(box) === undefined;
  }

  private deathOf(box: OciSandbox): string | undefined {
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
    clearInterval(this.layoutTimer);
    clearInterval(this.pruneTimer);
    await this.pruning;
    this.watchers.clear();
    await Promise.all([...this.live.values()].map((box) => this.destroy(box)));
    await this.launcher.close();
    this.engine.close();
  }

  private own(sandbox: Sandbox): OciSandbox {
    const box = this.live.get(sandbox.id);
    if (!box) throw new FaasError('FAAS_ERR_INTERNAL', `sandbox ${sandbox.id} is not live in the oci executor`);
    return box;
  }
}

/** The runtime's state folder for the platform's containers: one per runtime binary. */
export function ociStateRoot(runRoot: string, runtimePath: string): string {
  return join(runRoot, `oci-${basename(runtimePath)}`);
}

/** The runtime container id of a sandbox of this executor. */
export function ociContainerId(sandbox: Sandbox): string {
  return `${CONTAINER_PREFIX}${sandbox.id}`;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/**
 * What a start that failed before the agent's HELLO means (kept out of start(), which reports the
 * failure and records the runtime's end in `box.lost`, "its runtime exited (SIGKILL)" or "(code
 * N)"). Nothing was sent to the sandbox, so a fault of it says `started` false. A runtime killed by
 * a signal (or answering 128 + n: its container's init was), or an agent that hung up while the
 * runtime ran on or ended cleanly, is a sandbox lost while starting: FAAS_ERR_SANDBOX_LOST, which
 * the core replaces. A runtime that exited by itself with an error (refusing the spec, an agent it
 * could not execute) would fail the same way again, as would a start past its bound or an agent
 * that breaks the protocol: reported at once.
 */
function startFault(box: OciSandbox, err: unknown): unknown {
  if (!(err instanceof FaasError) || err.status !== 502) return err;
  const ended = /\((?:(SIG[A-Z0-9]+)|code (\d+))\)$/.exec(box.lost ?? '');
  const code = ended?.[2] === undefined ? undefined : Number(ended[2]);
  const killed = ended?.[1] !== undefined || (code !== undefined && code > 128);
  const hungUp = lostBeforeStart(err) || lostBeforeStart(err.cause);
  if (killed || (hungUp && !code)) {
    return sandboxLost(box.lost === undefined ? err.message : `${err.message} (${box.lost})`, false, err);
  }
  return code ? startRefused(err.message, err) : failedBeforeStart(err);
}

/** True if `promise` settles within `ms`. */
async function settles(promise: Promise<void> | undefined, ms: number): Promise<boolean> {
  if (!promise) return true;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  const done = await Promise.race([promise.then(() => true), timeout]);
  clearTimeout(timer);
  return done;
}
