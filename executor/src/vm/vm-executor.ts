/**
 * The lifecycle shared by the microVM executors (QEMU and Firecracker). They differ only in how a
 * VM is launched and how the host reaches the agent's transport; everything else lives here once:
 *
 *   acquire  state dir -> root filesystem -> launch VMM -> connect transport -> agent HELLO
 *   invoke   agent EXEC, with a host-side deadline beyond the agent's own timeout
 *   release  agent RESET: the VM stays booted for the next invocation of the same function
 *   destroy  agent SHUTDOWN -> grace -> SIGKILL the VMM -> remove the state dir
 *
 * Any fault of the guest or the VMM (it died, never answered, sent garbage) becomes a platform
 * fault and the VM is torn down at once: a VM that misbehaved once is never reused, and nothing it
 * owned (process, socket, file) outlives the call that noticed. A VM whose VMM exits or whose agent
 * hangs up is lost (FAAS_ERR_SANDBOX_LOST, faults.ts): reported to watchers at once, idle or busy.
 */

import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { type ExecutorKind, FaasError, isFaasError, type Logger, silentLogger } from '@faas/common';
import { AgentClient } from '../agent/client.js';
import { execOnAgent, type OomProbe } from '../agent/run.js';
import { DockerEngine } from '../docker/engine.js';
import { ImageWatch } from '../docker/image-watch.js';
import { imageIdOf } from '../docker/images.js';
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
import { ExecutorWatchers, failedBeforeStart, faultStarted, lostBeforeStart, sandboxLost, startRefused, withStarted } from '../faults.js';
import { refuseLayoutImage } from '../oci/image-layout.js';
import { consoleMentionsOom, fileSize, fileSizeSync, readConsole, withTimeout } from './console.js';
import type { VmmProcess } from './process.js';
import { createStateDir, defaultRuntimeDir, newVmId, recordVmmPid, removeStateDir, sweepRuntimeDir } from './state-dir.js';

/** Options every microVM executor accepts. */
export interface MicroVmOptions {
  /** Folder of per-VM state dirs; default $TMPDIR/faas-<kind>-<uid>. Keep it short (socket paths). */
  runtimeDir?: string;
  logger?: Logger;
  /** From VMM start to the agent's HELLO_OK (default 30 s: TCG boots are slow). */
  bootTimeoutMs?: number;
  /** How long the agent may take to confirm SHUTDOWN before its VMM is killed (default 2 s). */
  shutdownGraceMs?: number;
  /** Extra time past an invocation's timeout before the host gives up on the agent (default 5 s). */
  hostDeadlineSlackMs?: number;
  /**
   * From VMM start to agent ready when restoring a snapshot (default 10 s); past it the VM is
   * booted cold instead. A restore takes a fraction of a boot, so waiting a full boot deadline
   * for one that hangs would only add to the cold boot that follows.
   */
  restoreTimeoutMs?: number;
  /** How often state dirs of VMs nobody holds are looked for while running (default 10 s; 0: never). */
  sweepIntervalMs?: number;
}

/** What a subclass is asked to start. */
export interface LaunchOptions {
  /** False when retrying after a failed restore: boot cold, whatever the snapshot cache says. */
  allowSnapshot: boolean;
}

/** Set by a subclass on the sandbox when it starts the VM from a snapshot instead of booting it. */
export interface RestoredFrom {
  /** The snapshot's cache key, for logs. */
  key: string;
  /** Called once if the restored VM never became ready: drop the snapshot so it is rebuilt. */
  invalidate(reason: string): Promise<void>;
}

/** What a subclass hands back once its VMM runs. */
export interface LaunchedVm {
  vmm: VmmProcess;
  /** Opens the host end of the agent transport; called once, with the boot deadline. */
  connectAgent(deadline: number, signal?: AbortSignal): Promise<Duplex>;
}

/** A root filesystem and the image settings that commands inherit (Env, WorkingDir). */
export interface VmRootfs {
  path: string;
  env: string[];
  workingDir: string | undefined;
  /** The image id it was built from; undefined for one fixed root filesystem serving every image. */
  imageId?: string;
}

/** Everything one VM owns, kept by the executor so destroy and close can find it. */
export interface VmSandbox extends Sandbox {
  image: ImageConfig;
  dir: string;
  consoleLog: string;
  rootfs?: VmRootfs;
  vmm?: VmmProcess;
  agent?: AgentClient;
  /** Set while the VM runs from a snapshot: its identity is refreshed after HELLO. */
  restoredFrom?: RestoredFrom;
  /** Set after any fault: the VM is not reused and release throws. */
  broken: boolean;
  /** Why the VM is known dead (its VMM exited, its agent hung up). */
  lost?: string;
  /** Set when the host itself kills the VMM (a timeout, a fault): its exit is no news. */
  killedByHost?: boolean;
}

const CONSOLE_TAIL_BYTES = 2048;
/** How long a VMM may take to exit by itself once its agent confirmed SHUTDOWN. */
const EXIT_AFTER_SHUTDOWN_MS = 300;

export abstract class MicroVmExecutor implements Executor {
  /** A booted VM serves invocations through its agent, so pools keep spares booted. */
  readonly capabilities: ExecutorCapabilities = { warm: true };
  abstract readonly kind: ExecutorKind;
  protected readonly log: Logger;
  protected readonly runtimeDir: string;
  private readonly live = new Map<string, VmSandbox>();
  private readonly watchers = new ExecutorWatchers();
  /** Marks this executor object's state dirs, so that its sweep never takes another's. */
  private readonly instance = randomBytes(8).toString('hex');
  private sweepTimer: NodeJS.Timeout | undefined;
  /** Which image names came to name another image (image-watch.ts), when images come from Docker. */
  private images: { engine: DockerEngine; watch: ImageWatch } | undefined;

  protected constructor(
    kind: ExecutorKind,
    private readonly base: MicroVmOptions,
  ) {
    this.log = base.logger ?? silentLogger;
    this.runtimeDir = base.runtimeDir ?? defaultRuntimeDir(kind);
  }

  /** Checks that binaries, kernel and host support exist; throws FAAS_ERR_EXECUTOR_UNAVAILABLE. */
  protected abstract checkHost(): Promise<void>;
  /**
   * The Docker host (`unix:///...`) whose image store root filesystems are built from; undefined
   * when one fixed root filesystem serves every image.
   */
  protected abstract imageStore(): string | undefined;
  /** Finds or builds the root filesystem for an image. */
  protected abstract prepareRootfs(spec: SandboxSpec, signal?: AbortSignal): Promise<VmRootfs>;
  /**
   * Starts the VMM for a prepared sandbox and sets `box.vmm` as soon as the process exists (so a
   * later failure in launch still gets it killed); must not wait for the guest. A subclass that
   * restores a snapshot sets `box.restoredFrom` before it starts the VMM.
   */
  protected abstract launch(box: VmSandbox, rootfs: VmRootfs, options: LaunchOptions): Promise<LaunchedVm>;
  /** Removes what launch created outside the state dir (jailer chroots); default nothing. */
  protected async cleanupOutside(_box: VmSandbox): Promise<void> {}

  async init(): Promise<void> {
    await this.checkHost();
    const removed = await sweepRuntimeDir(this.runtimeDir, this.log);
    if (removed > 0) this.log.info({ removed, runtimeDir: this.runtimeDir }, 'removed VMs left behind by an earlier run');
    const every = this.base.sweepIntervalMs ?? 10_000;
    if (every > 0 && !this.sweepTimer) {
      this.sweepTimer = setInterval(() => {
        sweepRuntimeDir(this.runtimeDir, this.log, { instance: this.instance, holds: (id) => this.live.has(id) })
          .then((n) => n > 0 && this.log.info({ removed: n }, 'removed leftover VM state'))
          .catch((err: Error) => this.log.debug({ err: err.message }, 'VM sweep failed'));
      }, every);
      this.sweepTimer.unref();
    }
    const host = this.imageStore();
    if (host && !this.images) {
      const engine = new DockerEngine({ host });
      const watch = new ImageWatch({
        engine,
        resolve: (name) => imageIdOf(engine, name),
        inUse: (name) => [...this.live.values()].some((box) => box.spec.image === name),
        onChanged: (name) => this.watchers.emit({ type: 'image-changed', image: name }),
        log: this.log,
      });
      watch.start();
      this.images = { engine, watch };
    }
  }

  async ping(): Promise<void> {
    await this.checkHost();
  }

  async acquire(spec: SandboxSpec, signal?: AbortSignal): Promise<Sandbox> {
    refuseLayoutImage(spec.image);
    const id = newVmId();
    const dir = join(this.runtimeDir, id);
    const box: VmSandbox = {
      id,
      executor: this.kind,
      spec,
      reusable: true,
      image: { env: [], workingDir: undefined },
      dir,
      consoleLog: join(dir, 'console.log'),
      broken: false,
    };
    // Held before its folder exists, so that a sweep never takes a VM being created for a leftover.
    this.live.set(id, box);
    try {
      await createStateDir(this.runtimeDir, id, this.instance);
    } catch (err) {
      this.live.delete(id);
      throw err;
    }
    const started = Date.now();
    try {
      const rootfs = await this.prepareRootfs(spec, signal);
      box.rootfs = rootfs;
      box.image = { env: rootfs.env, workingDir: rootfs.workingDir };
      if (rootfs.imageId) this.images?.watch.seen(spec.image, rootfs.imageId);
      try {
        await this.start(box, rootfs, true, signal);
      } catch (err) {
        const restored = box.restoredFrom;
        if (!restored || signal?.aborted) throw err;
        // The snapshot cache is an optimisation: a restore that fails costs a cold boot, never the call.
        const reason = (err as Error)?.message ?? String(err);
        this.log.warn({ vm: id, image: spec.image, snapshot: restored.key, reason }, 'VM restore failed; booting cold');
        await this.discardAttempt(box);
        await restored.invalidate(reason).catch(() => {});
        await this.start(box, rootfs, false, signal);
      }
      const how = box.restoredFrom ? 'restored' : 'booted';
      this.log.debug({ vm: id, image: spec.image, how, readyMs: Date.now() - started }, 'VM ready');
      this.watchVm(box);
      return box;
    } catch (err) {
      box.broken = true;
      const failure = await this.bootFault(box, await this.describeFailure(box, err, 'boot'), signal?.aborted === true);
      await this.destroy(box);
      throw failure;
    }
  }

  /**
   * What a boot that failed before the agent's HELLO means. Nothing was sent to the VM, so a fault
   * of it says `started` false; how the VMM ended tells whether another boot can do better. A VM
   * that died under its boot without the host asking (its VMM killed by a signal from outside, or
   * its agent hung up while the VMM ran on) was lost: FAAS_ERR_SANDBOX_LOST, which the core
   * replaces. A VMM that exited by itself (refusing its arguments, a guest that cannot boot) or
   * could not be started, or a boot past its deadline, would fail the same way again: reported at
   * once.
   */
  private async bootFault(box: VmSandbox, fault: FaasError, aborted: boolean): Promise<unknown> {
    if (aborted || box.killedByHost) return failedBeforeStart(fault);
    // An agent that hung up is usually the VMM going: its exit says how, once it is reaped.
    if (box.vmm?.running && lostBeforeStart(fault)) await withTimeout(box.vmm.exited, 1000).catch(() => {});
    const exit = box.vmm && !box.vmm.running ? await box.vmm.exited : undefined;
    if (exit?.signal) return sandboxLost(`VM ${box.id} died while booting: its VMM was killed by ${exit.signal}`, false, fault);
    if (exit) {
      const message = lostBeforeStart(fault) ? `VM ${box.id} failed during boot: the VMM ${box.vmm?.describeExit()}` : fault.message;
      return startRefused(message, fault);
    }
    return failedBeforeStart(fault);
  }

  /** A ready VM whose VMM exits or whose agent hangs up is lost, whether idle or running a command. */
  private watchVm(box: VmSandbox): void {
    const vmm = box.vmm;
    vmm?.exited.then(() => this.markLost(box, `its VMM ${vmm.describeExit() ?? 'exited'}`));
    box.agent?.whenLost(() => this.markLost(box, 'its guest agent hung up'));
  }

  private markLost(box: VmSandbox, reason: string): void {
    if (box.lost !== undefined || box.killedByHost || this.live.get(box.id) !== box) return;
    box.lost = reason;
    box.broken = true;
    this.log.warn({ vm: box.id, image: box.spec.image, reason }, 'sandbox lost');
    this.watchers.emit({ type: 'sandbox-lost', sandbox: box, reason });
  }

  /** Kills the VMM because the host gave up on it; not a loss to report. */
  private kill(box: VmSandbox): void {
    box.killedByHost = true;
    box.vmm?.signal('SIGKILL');
  }

  /** Launches the VM, connects, says HELLO and, for a restored VM, refreshes its identity. */
  private async start(box: VmSandbox, rootfs: VmRootfs, allowSnapshot: boolean, signal?: AbortSignal): Promise<void> {
    const launched = await this.launch(box, rootfs, { allowSnapshot });
    box.vmm ??= launched.vmm;
    if (launched.vmm.pid !== undefined) await recordVmmPid(box.dir, launched.vmm.pid);
    // Counted from here: launch may have waited for a snapshot build shared with other acquires.
    const deadline = Date.now() + (box.restoredFrom ? (this.base.restoreTimeoutMs ?? 10_000) : (this.base.bootTimeoutMs ?? 30_000));
    const stream = await launched.connectAgent(deadline, signal);
    // HELLO takes no signal: closing the stream is how an abort cuts it short.
    const onAbort = () => stream.destroy();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      box.agent = await this.hello(box, stream, deadline);
      if (box.restoredFrom) await this.refreshIdentity(box.agent);
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
    signal?.throwIfAborted();
  }

  /**
   * Every VM restored from one snapshot resumes with the same kernel RNG state and the clock of
   * the moment the snapshot was taken; fresh host entropy (the guest reseeds at once) and the
   * host's time make it its own. A VM whose agent cannot do that is not used.
   */
  private async refreshIdentity(agent: AgentClient): Promise<void> {
    if (!agent.capabilities.includes('refresh')) {
      throw new FaasError(
        'FAAS_ERR_SANDBOX_FAILURE',
        'the guest agent in the snapshot cannot refresh its identity (no "refresh" capability)',
      );
    }
    await agent.refresh({ entropy: randomBytes(64), unixTimeMs: Date.now() });
  }

  /** Ends a failed restore attempt so that the same sandbox can boot cold in its place. */
  private async discardAttempt(box: VmSandbox): Promise<void> {
    box.agent?.close();
    box.agent = undefined;
    await box.vmm?.stop(0);
    box.vmm = undefined;
    box.restoredFrom = undefined;
    await this.cleanupOutside(box).catch((err: Error) => this.log.warn({ vm: box.id, err: err.message }, 'VM cleanup failed'));
  }

  /** HELLO, bounded by the boot deadline and cut short if the VMM dies meanwhile. */
  private async hello(box: VmSandbox, stream: Duplex, deadline: number): Promise<AgentClient> {
    const vmmGone = box.vmm?.exited.then(() => {
      stream.destroy();
      throw new FaasError('FAAS_ERR_SANDBOX_FAILURE', `the VMM ${box.vmm?.describeExit()} during boot`);
    });
    vmmGone?.catch(() => {});
    try {
      const connecting = AgentClient.connect(stream, { helloTimeoutMs: Math.max(1, deadline - Date.now()) });
      return await (vmmGone ? Promise.race([connecting, vmmGone]) : connecting);
    } catch (err) {
      stream.destroy();
      throw err;
    }
  }

  async invoke(sandbox: Sandbox, request: ExecRequest): Promise<ExecResult> {
    const box = this.own(sandbox);
    const agent = box.agent;
    const dead = this.deathOf(box);
    if (dead !== undefined) throw sandboxLost(`VM ${box.id} died before the command started: ${dead}`, false);
    if (!agent || box.broken) throw withStarted(new FaasError('FAAS_ERR_SANDBOX_FAILURE', `VM ${box.id} is not usable`), false);
    // The guest kernel reports OOM kills on the console (there is no host cgroup to ask).
    const oom: OomProbe<number> = {
      // Synchronous: a stat on the hot path must not wait for a libuv pool thread.
      mark: async () => fileSizeSync(box.consoleLog),
      killedSince: (from) => consoleMentionsOom(box.consoleLog, from),
    };
    try {
      const run = await execOnAgent(agent, request, {
        slackMs: this.base.hostDeadlineSlackMs ?? 5000,
        oom: oom as OomProbe,
        // The guest has no pids cgroup; its kernel counts the command user's processes, which
        // only the invocation has (the agent runs as root), so RLIMIT_NPROC is limits.pids.
        maxProcesses: box.spec.limits.pids,
        lost: () => this.deathOf(box),
      });
      if (!run.healthy) {
        box.broken = true;
        // Kill now rather than at destroy: the contract is that every process of the invocation ends.
        this.kill(box);
      }
      return run.facts;
    } catch (err) {
      // A refusal of the request itself (too large) leaves the VM in step and reusable.
      if (isFaasError(err) && err.code !== 'FAAS_ERR_SANDBOX_FAILURE' && err.code !== 'FAAS_ERR_SANDBOX_LOST') throw err;
      box.broken = true;
      if (isFaasError(err, 'FAAS_ERR_SANDBOX_LOST')) {
        box.vmm?.signal('SIGKILL');
        throw await this.describeLoss(box, err);
      }
      this.kill(box);
      throw withStarted(await this.describeFailure(box, err, 'invoke'), faultStarted(err) ?? true);
    }
  }

  async release(sandbox: Sandbox): Promise<void> {
    const box = this.own(sandbox);
    if (box.broken || !box.agent) throw new FaasError('FAAS_ERR_SANDBOX_FAILURE', `VM ${box.id} cannot be reused`);
    try {
      // Kills what the invocation left running and empties the tmpfs /tmp, the only writable place.
      await box.agent.reset({ scratchDir: '/tmp' });
    } catch (err) {
      box.broken = true;
      throw await this.describeFailure(box, err, 'reset');
    }
  }

  async destroy(sandbox: Sandbox): Promise<void> {
    const box = this.live.get(sandbox.id);
    if (!box) return;
    this.live.delete(sandbox.id);
    let confirmed = false;
    if (box.agent && !box.broken && box.vmm?.running) {
      // SHUTDOWN makes the agent kill every process and sync; a guest that does not answer is killed.
      confirmed = await withTimeout(box.agent.shutdown(), this.base.shutdownGraceMs ?? 2000).then(
        () => true,
        () => false,
      );
    }
    box.agent?.close();
    // After a confirmed SHUTDOWN nothing in the guest is worth waiting for (the root disk is
    // read-only, the overlay is thrown away), so the VMM gets only a moment to exit by itself: a
    // guest without ACPI halts rather than powers off, and would otherwise hold us a full grace.
    await box.vmm?.stop(confirmed ? EXIT_AFTER_SHUTDOWN_MS : 0);
    await this.cleanupOutside(box).catch((err: Error) => this.log.warn({ vm: box.id, err: err.message }, 'VM cleanup failed'));
    await removeStateDir(box.dir);
  }

  alive(sandbox: Sandbox): boolean {
    const box = this.live.get(sandbox.id);
    return box !== undefined && !box.broken && box.agent !== undefined && !box.agent.closed && this.deathOf(box) === undefined;
  }

  /**
   * Why the VM is dead, if it is known: what its watchers told, else a VMM that is gone or a
   * zombie not yet reaped (a kill a moment ago). Synchronous, asked before every command.
   */
  private deathOf(box: VmSandbox): string | undefined {
    if (box.lost !== undefined) return box.lost;
    if (box.vmm?.gone) return `its VMM ${box.vmm.describeExit() ?? 'was killed'}`;
    return undefined;
  }

  watch(listener: (event: ExecutorEvent) => void): () => void {
    return this.watchers.add(listener);
  }

  async close(): Promise<void> {
    clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
    this.images?.watch.close();
    this.images?.engine.close();
    this.images = undefined;
    this.watchers.clear();
    await Promise.all([...this.live.values()].map((box) => this.destroy(box)));
  }

  /** Ids of the VMs this executor currently owns, for tests and diagnostics. */
  liveSandboxIds(): string[] {
    return [...this.live.keys()];
  }

  private own(sandbox: Sandbox): VmSandbox {
    const box = this.live.get(sandbox.id);
    if (!box) throw new FaasError('FAAS_ERR_INTERNAL', `sandbox ${sandbox.id} is not live in the ${this.kind} executor`);
    return box;
  }

  /**
   * Turns any fault into one clear FaasError. The VMM's own account (exit status, stderr) wins over
   * the symptom seen on the transport, and the console tail goes to the log (not to callers).
   */
  private async describeFailure(box: VmSandbox, err: unknown, step: string): Promise<FaasError> {
    if (isFaasError(err) && err.code !== 'FAAS_ERR_SANDBOX_FAILURE' && err.code !== 'FAAS_ERR_INTERNAL') return err;
    if (err instanceof Error && err.name === 'AbortError')
      return new FaasError('FAAS_ERR_SANDBOX_FAILURE', `VM ${box.id}: ${step} aborted`);
    // Give a dying VMM a moment to be reaped so that its exit status is known.
    if (box.vmm?.running) await withTimeout(box.vmm.exited, 200).catch(() => {});
    const vmmExit = box.vmm?.describeExit();
    const cause = (err as Error)?.message ?? String(err);
    const message = vmmExit ? `VM ${box.id} failed during ${step}: the VMM ${vmmExit}` : `VM ${box.id} failed during ${step}: ${cause}`;
    this.log.warn({ vm: box.id, image: box.spec.image, step, cause, console: await this.consoleTail(box) }, 'VM failure');
    return new FaasError('FAAS_ERR_SANDBOX_FAILURE', message, { cause: err });
  }

  /** A lost VM's fault, with the VMM's own account of its end when it has one. */
  private async describeLoss(box: VmSandbox, err: FaasError): Promise<FaasError> {
    if (box.vmm?.running) await withTimeout(box.vmm.exited, 200).catch(() => {});
    // The VMM's own account wins over the symptom the transport saw (the agent hanging up).
    const vmmExit = box.vmm?.describeExit();
    const reason = vmmExit ? `its VMM ${vmmExit}` : box.lost;
    this.log.warn({ vm: box.id, image: box.spec.image, reason: reason ?? err.message, console: await this.consoleTail(box) }, 'VM lost');
    if (!reason) return err;
    const started = faultStarted(err) ?? true;
    return sandboxLost(`VM ${box.id} died ${started ? 'while the command ran' : 'before the command started'}: ${reason}`, started, err);
  }

  private async consoleTail(box: VmSandbox): Promise<string> {
    const size = await fileSize(box.consoleLog);
    return readConsole(box.consoleLog, Math.max(0, size - CONSOLE_TAIL_BYTES));
  }
}
