/**
 * The microVM section (`--only vm`): the executors' sandbox lifecycle measured directly, QEMU next
 * to a Docker agent container (the same guest agent, the same Executor interface, the same limits),
 * then the same through the gateway of a platform started with FAAS_EXECUTOR_TYPE=qemu, pool off
 * (a VM booted per invocation) and reuse (the function's VM kept and RESET after each call), side
 * by side with the docker platforms. Firecracker is measured the same way when /dev/kvm works and
 * FAAS_FC_BINARY_PATH is set; restore from a snapshot when the executor has a snapshot option.
 *
 * Every VM lives under one folder of the bench's own (the executors' runtime dirs and the VM
 * platforms' TMPDIR), so that at the end the bench can check that no VMM process and no state dir
 * of its own is left, and say so in the report. Every loop is bounded by a count and a deadline.
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readMemory } from './proc.mjs';
import { summarize } from './stats.mjs';
import { gatewayInvoke } from './variants.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The VM platforms (PLATFORMS in platforms.mjs), stopped at the end of the section. */
const VM_PLATFORMS = ['qemu-cold', 'qemu-restore', 'qemu-reuse'];

/** Row keys of the section, in report order: measure -> description. */
export const VM_MEASURES = {
  boot: 'boot to agent ready: `executor.acquire()` of a fresh sandbox (state dir, cached rootfs lookup, VMM or container start, agent HELLO_OK)',
  first: 'first invoke: EXEC of `true` in the sandbox that just answered HELLO',
  warm: 'warm invoke after RESET: `executor.release()` (agent RESET), then invoke again in the same sandbox',
  reset: '`executor.release()` alone (agent RESET: kill leftovers, empty /tmp)',
  destroy: '`executor.destroy()`: agent SHUTDOWN, VMM exit (or container removal), state dir removed',
  restore: 'restore from a snapshot to agent ready (acquire when a snapshot exists)',
  'restore-first': 'first invoke in a VM just restored from a snapshot',
  'restore-result': 'restore from a snapshot to the first result (acquire + first invoke)',
  'gateway-cold': 'POST /functions/bench/invoke, pool off: a sandbox booted per invocation (answer sent before destroy)',
  'gateway-restore': "the same, the VM restored from the platform's snapshot per invocation",
  'gateway-reuse': "POST /functions/bench/invoke, FAAS_POOL_MODE=reuse: the function's own warm sandbox, RESET after the answer",
};

/** Goals for Firecracker on KVM (not asserted for QEMU under TCG, which is software emulation). */
export const FC_GOALS = { bootP50Ms: 150, restoreResultP50Ms: 30 };

/**
 * What this build offers for snapshots: the executor's options (read from its compiled
 * declarations: `snapshots?: boolean`, `snapshotDir?: string`) and whether `faas serve` accepts
 * FAAS_VM_SNAPSHOTS (its config rejects unknown FAAS_* names, so asking it is exact).
 */
export async function snapshotSupport(root) {
  const text = ['executor/dist/qemu/qemu-executor.d.ts', 'executor/dist/vm/vm-executor.d.ts']
    .map((f) => {
      try {
        return readFileSync(join(root, f), 'utf8');
      } catch {
        return '';
      }
    })
    .join('\n');
  const bodies = [...text.matchAll(/interface (?:QemuExecutorOptions|MicroVmOptions)\b[^{]*\{([\s\S]*?)\n\}/g)].map((m) => m[1]).join('\n');
  const option = /^\s*snapshots\??:\s*boolean;/m.test(bodies);
  const dirOption = /^\s*snapshotDir\??:\s*string;/m.test(bodies);
  const other = /^\s*(\w*snapshot\w*)\??:/im.exec(bodies)?.[1];
  let configVar = false;
  try {
    const { loadConfig } = await import('@faas/common');
    loadConfig({ FAAS_VM_SNAPSHOTS: 'off' }, 1);
    configVar = true;
  } catch {}
  return { option, dirOption, other, configVar };
}

/** Why Firecracker cannot be measured here, or undefined when it can. */
function firecrackerProblem(qemuAccel) {
  const missing = [];
  let kvm = true;
  try {
    accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
  } catch {
    kvm = false;
  }
  // QEMU's probe (a paused KVM VM that must survive) tells whether this /dev/kvm actually works.
  if (!kvm || qemuAccel !== 'kvm') missing.push('/dev/kvm');
  const fc = process.env.FAAS_FC_BINARY_PATH?.trim();
  let fcOk = false;
  if (fc) {
    try {
      accessSync(fc, constants.X_OK);
      fcOk = true;
    } catch {}
  }
  if (!fcOk) missing.push('FAAS_FC_BINARY_PATH');
  if (!missing.length) return undefined;
  const why = [];
  if (!kvm) why.push('no usable /dev/kvm');
  else if (qemuAccel !== 'kvm') why.push('/dev/kvm exists but a KVM guest cannot run here (QEMU fell back to TCG)');
  if (!fc) why.push('FAAS_FC_BINARY_PATH is not set');
  else if (!fcOk) why.push(`FAAS_FC_BINARY_PATH=${fc} is not executable`);
  return `not measured: needs /dev/kvm and FAAS_FC_BINARY_PATH (${why.join('; ')})`;
}

/**
 * Runs the microVM section. `opts`: { boots, warm, maxMinutes }. Returns the `run.vm` record the
 * report renders: { targets: [{ kind, label, accel?, rows: Map<measure, samples>, errors, note }],
 * gateway: Map<`${kind}:${mode}`, samples>, snapshot, firecracker, cleanup, vmRssKb }.
 */
export async function measureVms(ctx, opts, log) {
  const deadline = Date.now() + opts.maxMinutes * 60_000;
  const late = () => Date.now() > deadline || ctx.stopped();
  const root = mkdtempSync(join(tmpdir(), 'fvb-'));
  const out = {
    root,
    targets: [],
    gateway: new Map(),
    errors: [],
    memory: [],
    snapshot: undefined,
    firecracker: undefined,
    cleanup: undefined,
  };
  const executors = [];
  try {
    const { DockerExecutor, QemuExecutor, FirecrackerExecutor, execRequest } = await import(join(ctx.root, 'executor/dist/index.js'));
    const cfg = ctx.config;
    const limits = cfg.defaultLimits;
    const spec = { functionId: 'bench-vm', image: ctx.image, limits };
    const request = () => execRequest(ctx.command, { invocationId: 'bench-vm' });
    const target = (kind, label, make) => ({ kind, label, make, rows: new Map(), errors: [], executor: undefined });
    const targets = [];
    const snap = await snapshotSupport(ctx.root);
    out.snapshotSupport = snap;
    if (cfg.agentPath)
      targets.push(
        target(
          'docker',
          'docker (runc, agent container)',
          () =>
            new DockerExecutor({
              kind: 'docker',
              dockerHost: cfg.dockerHost,
              runtime: 'runc',
              imagePull: cfg.imagePull,
              agentPath: cfg.agentPath,
              runRoot: join(root, 'run'),
            }),
        ),
      );
    const qemu = target(
      'qemu',
      'qemu',
      () =>
        new QemuExecutor({
          qemuBinary: cfg.qemu.binaryPath,
          kernelPath: cfg.qemu.kernelPath,
          rootfsDir: cfg.qemu.rootfsDir,
          agentPath: cfg.agentPath ?? join(ctx.root, 'guest-agent/target/x86_64-unknown-linux-gnu/release/faas-guest-agent'),
          dockerHost: cfg.dockerHost,
          runtimeDir: join(root, 'q'),
          // A boot, not a restore: this build may restore from a snapshot by default.
          ...(snap.option ? { snapshots: false } : {}),
        }),
    );
    targets.push(qemu);
    out.targets = targets;

    // init: a target that cannot start (no qemu, no kernel) gets a note instead of rows.
    for (const t of [...targets]) {
      try {
        t.executor = t.make();
        executors.push(t.executor);
        await t.executor.init();
        t.accel = t.executor.acceleration;
      } catch (err) {
        t.note = `not measured: ${err.message}`;
        t.executor = undefined;
      }
    }
    out.accel = qemu.accel;
    out.kvmDevice = existsSync('/dev/kvm');
    const fcProblem = firecrackerProblem(qemu.accel);
    if (fcProblem) out.firecracker = { note: fcProblem };
    else {
      const fc = target(
        'firecracker',
        'firecracker',
        () =>
          new FirecrackerExecutor({
            binaryPath: process.env.FAAS_FC_BINARY_PATH.trim(),
            kernelPath: process.env.FAAS_FC_KERNEL_PATH?.trim() || cfg.qemu.kernelPath,
            rootfsDir: cfg.qemu.rootfsDir,
            agentPath: cfg.agentPath,
            dockerHost: cfg.dockerHost,
            runtimeDir: join(root, 'f'),
          }),
      );
      try {
        fc.executor = fc.make();
        executors.push(fc.executor);
        await fc.executor.init();
        fc.accel = 'kvm';
        targets.push(fc);
        out.firecracker = { measured: true };
      } catch (err) {
        out.firecracker = { note: `not measured: ${err.message}` };
      }
    }
    const live = targets.filter((t) => t.executor);
    const push = (t, measure, ms) => {
      if (!t.rows.has(measure)) t.rows.set(measure, []);
      t.rows.get(measure).push(ms);
    };
    const timed = async (fn) => {
      const t0 = performance.now();
      const value = await fn();
      return [performance.now() - t0, value];
    };

    // 1. The lifecycle, executor by executor in a rotating order, one sandbox per round: acquire,
    //    first invoke, then `warmPerBoot` x (release, invoke), destroy. One unrecorded round first.
    const warmPerBoot = Math.max(1, Math.ceil(opts.warm / opts.boots));
    log(`vm: ${live.map((t) => t.kind).join(', ')}: 1 warm-up + ${opts.boots} boots, ${warmPerBoot} warm invokes per boot`);
    for (let round = -1; round < opts.boots; round++) {
      if (late()) {
        out.errors.push(
          `vm lifecycle stopped after ${Math.max(0, round)} of ${opts.boots} boots (${ctx.stopped() ? 'interrupted' : 'time bound reached'})`,
        );
        break;
      }
      const shift = (round + 1) % live.length;
      for (const t of [...live.slice(shift), ...live.slice(0, shift)]) {
        if (t.failures >= 3) continue;
        let sandbox;
        try {
          const [boot, sb] = await timed(() => t.executor.acquire(spec));
          sandbox = sb;
          const [first, r1] = await timed(() => t.executor.invoke(sandbox, request()));
          if (r1.exitCode !== 0) throw new Error(`first invoke exited ${r1.exitCode} ${r1.startError ?? ''}`);
          if (t.kind !== 'docker' && sandbox.vmm?.pid && round === 0) out[`${t.kind}RssKb`] = readMemory(sandbox.vmm.pid)?.rssKb;
          const warm = [];
          const resets = [];
          for (let k = 0; k < warmPerBoot; k++) {
            const [reset] = await timed(() => t.executor.release(sandbox));
            const [ms, r] = await timed(() => t.executor.invoke(sandbox, request()));
            if (r.exitCode !== 0) throw new Error(`warm invoke exited ${r.exitCode} ${r.startError ?? ''}`);
            resets.push(reset);
            warm.push(ms);
          }
          await t.executor.release(sandbox);
          const s = sandbox;
          sandbox = undefined;
          const [destroy] = await timed(() => t.executor.destroy(s));
          if (round >= 0) {
            push(t, 'boot', boot);
            push(t, 'first', first);
            for (const ms of warm) push(t, 'warm', ms);
            for (const ms of resets) push(t, 'reset', ms);
            push(t, 'destroy', destroy);
          }
        } catch (err) {
          t.failures = (t.failures ?? 0) + 1;
          t.errors.push(err.message);
          out.errors.push(`${t.kind} lifecycle: ${err.message}`);
          log(`vm: ${t.kind} failed: ${err.message}`);
          if (sandbox) await t.executor.destroy(sandbox).catch(() => {});
        }
      }
      if (round >= 0 && (round + 1) % 5 === 0) log(`vm: ${round + 1}/${opts.boots} boots`);
    }

    // 2. Restore from a snapshot, when this build's executor has a snapshot option.
    out.snapshot = await measureRestore({ QemuExecutor, cfg, spec, request, root, opts, late, timed, executors, qemu, snap, log });

    // 3. Through the gateway: docker and qemu platforms, alternating per sample.
    if (qemu.executor) await measureGateway(ctx, out, opts, late, log);
    else out.errors.push(`gateway qemu rows skipped: ${qemu.note}`);
  } finally {
    for (const e of executors) await e.close().catch((err) => out.errors.push(`executor close: ${err.message}`));
    await ctx.engine.removeByLabel(`dev.faas.pid=${process.pid}`).catch(() => 0);
    for (const name of VM_PLATFORMS) {
      const p = ctx.platforms.get(name);
      if (p) {
        out.memory.push([`${name}: after vm phase (platform process only; its VMs are separate processes)`, readMemory(p.pid)]);
        await p.stop();
      }
    }
    out.cleanup = vmLeftovers(root);
    // Only after the check: anything still there is ours (its command line names our folder).
    for (const pid of out.cleanup.pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
    }
    if (out.cleanup.pids.length) await sleep(500);
    rmSync(root, { recursive: true, force: true });
    out.cleanup.removedRoot = !existsSync(root);
    out.cleanup.after = vmLeftovers(root);
  }
  for (const t of out.targets) {
    t.stats = new Map([...t.rows].map(([k, xs]) => [k, summarize(xs)]));
    delete t.make;
    delete t.executor;
  }
  out.gatewayStats = new Map([...out.gateway].map(([k, xs]) => [k, summarize(xs)]));
  return out;
}

/**
 * acquire() with snapshots on and a snapshot folder of the bench's own: the first acquire builds the
 * snapshot (untimed warm-up), later ones restore it. A sandbox counts as restored when the executor
 * marked it so (`restoredFrom`); one that fell back to a cold boot is counted, not measured.
 */
async function measureRestore({ QemuExecutor, cfg, spec, request, root, opts, late, timed, executors, qemu, snap, log }) {
  if (!snap.option)
    return {
      note: snap.other
        ? `not measured: the executor has a \`${snap.other}\` option the bench does not know how to drive`
        : 'not available in this build (QemuExecutorOptions has no snapshot option)',
    };
  if (!qemu.executor) return { note: `not measured: ${qemu.note}` };
  const rows = { restore: [], 'restore-result': [], 'restore-first': [] };
  let fellBack = 0;
  try {
    const ex = new QemuExecutor({
      qemuBinary: cfg.qemu.binaryPath,
      kernelPath: cfg.qemu.kernelPath,
      rootfsDir: cfg.qemu.rootfsDir,
      agentPath: cfg.agentPath,
      dockerHost: cfg.dockerHost,
      runtimeDir: join(root, 's'),
      snapshots: true,
      ...(snap.dirOption ? { snapshotDir: join(root, 'snap') } : {}),
    });
    executors.push(ex);
    await ex.init();
    log(`vm: qemu restore from snapshot: snapshot build (untimed), then ${opts.boots} restores`);
    let built = false;
    const [buildMs] = await timed(async () => {
      for (let attempt = 0; attempt < 3 && !built && !late(); attempt++) {
        const sb = await ex.acquire(spec);
        built = Boolean(sb.restoredFrom);
        await ex.invoke(sb, request());
        await ex.destroy(sb);
      }
    });
    if (!built)
      return {
        note: 'not measured: three acquires in a row booted instead of restoring (see the platform log for the snapshot build)',
        rows,
      };
    for (let i = 0; i < opts.boots && !late(); i++) {
      const [ready, sb] = await timed(() => ex.acquire(spec));
      const restored = Boolean(sb.restoredFrom);
      if (restored && sb.vmm?.pid && i === 0) qemu.restoredRssKb = readMemory(sb.vmm.pid)?.rssKb;
      const [first, r] = await timed(() => ex.invoke(sb, request()));
      await ex.destroy(sb);
      if (r.exitCode !== 0) throw new Error(`invoke after restore exited ${r.exitCode} ${r.startError ?? ''}`);
      if (!restored) {
        fellBack++;
        continue;
      }
      rows.restore.push(ready);
      rows['restore-first'].push(first);
      rows['restore-result'].push(ready + first);
    }
    return { rows, fellBack, buildMs, stats: new Map(Object.entries(rows).map(([k, xs]) => [k, summarize(xs)])) };
  } catch (err) {
    return { note: `failed: ${err.message}`, rows, fellBack };
  }
}

/**
 * The gateway rows. Pool off: the docker platform and the qemu platform(s) alternate call by call
 * (qemu booting per call, and restoring per call when this build has snapshots); reuse: the docker
 * and the qemu reuse platforms alternate. Each VM platform gets a TMPDIR (so a runtime dir) of its
 * own under the bench's folder: its VMs are counted there, and checked for at the end.
 */
async function measureGateway(ctx, out, opts, late, log) {
  const snap = out.snapshotSupport;
  // Without FAAS_VM_SNAPSHOTS, a platform of a build with snapshots restores by default.
  const platformRestores = snap.option && !snap.configVar;
  const vmEnv = (name, snapshots) => ({
    TMPDIR: join(out.root, name),
    ...(snap.option && snap.configVar ? { FAAS_VM_SNAPSHOTS: snapshots ? 'on' : 'off' } : {}),
  });
  const loops = [
    {
      mode: 'cold',
      n: opts.boots,
      // The first call of a restoring platform builds its snapshot: two unrecorded calls.
      warmup: snap.option ? 2 : 1,
      variants: [
        { key: 'docker:cold', platform: 'cold' },
        { key: platformRestores ? 'qemu:restore' : 'qemu:cold', platform: 'qemu-cold', env: vmEnv('qemu-cold', platformRestores) },
        ...(snap.option && snap.configVar ? [{ key: 'qemu:restore', platform: 'qemu-restore', env: vmEnv('qemu-restore', true) }] : []),
      ],
    },
    {
      mode: 'reuse',
      n: opts.warm,
      warmup: 1,
      variants: [
        { key: 'docker:reuse', platform: 'reuse' },
        { key: 'qemu:reuse', platform: 'qemu-reuse', env: vmEnv('qemu-reuse', true) },
      ],
    },
  ];
  out.platformsUsed = [];
  if (platformRestores)
    out.gatewayNote =
      'this build restores VMs from snapshots by default and `faas serve` has no setting to turn that off yet (FAAS_VM_SNAPSHOTS is not accepted), so a pool-off call through the gateway is a restore, and boot per call through the gateway is not measured';
  for (const loop of loops) {
    const variants = [];
    try {
      for (const v of loop.variants) {
        const platform = await ctx.startPlatform(v.platform, v.env ?? {});
        const vm = Boolean(v.env);
        if (vm)
          out.platformsUsed.push({
            name: v.platform,
            key: v.key,
            env: { ...ctx.platformEnv(v.platform), ...v.env, TMPDIR: '<bench folder>' },
          });
        const runtimeDir = vm ? join(v.env.TMPDIR, `faas-qemu-${process.getuid?.() ?? 0}`) : undefined;
        variants.push({ ...v, platformRef: platform, vm, runtimeDir, inv: gatewayInvoke(ctx, vm ? 'qemu' : 'docker', v.platform) });
      }
    } catch (err) {
      out.errors.push(`gateway ${loop.mode}: ${err.message}`);
      continue;
    }
    const settle = async (v) => {
      await ctx.waitPlatformIdle(v.platformRef, 30_000);
      if (v.vm) {
        // Pool off: wait until the VM's state dir is gone (destroyed); reuse: the function's VM stays.
        const keep = loop.mode === 'reuse' ? 1 : 0;
        const until = Date.now() + 15_000;
        while (Date.now() < until && stateDirs(v.runtimeDir).length > keep) await sleep(20);
      } else await v.inv.settle();
      // The pool resets after answering; a moment more so a RESET never lands in the next sample.
      if (loop.mode === 'reuse') await sleep(30);
    };
    log(`vm: gateway ${loop.mode}: ${variants.map((v) => v.key).join(' vs ')}, ${loop.n} samples each (${loop.warmup} warm-up)`);
    for (let i = -loop.warmup; i < loop.n; i++) {
      if (late()) {
        out.errors.push(
          `gateway ${loop.mode} stopped after ${Math.max(0, i)} of ${loop.n} samples (${ctx.stopped() ? 'interrupted' : 'time bound reached'})`,
        );
        break;
      }
      const shift = ((i % variants.length) + variants.length) % variants.length;
      for (const v of [...variants.slice(shift), ...variants.slice(0, shift)]) {
        if ((v.failures ?? 0) >= 3) continue;
        const t0 = performance.now();
        try {
          const marks = await v.inv.run();
          const ms = performance.now() - t0;
          if (i >= 0) {
            for (const [key, value] of [
              [v.key, ms],
              [`${v.key} (orchestrator)`, marks.orchestrator],
            ]) {
              if (!out.gateway.has(key)) out.gateway.set(key, []);
              out.gateway.get(key).push(value);
            }
          }
        } catch (err) {
          v.failures = (v.failures ?? 0) + 1;
          out.errors.push(`gateway ${v.key}: ${err.message}`);
          log(`vm: gateway ${v.key} failed: ${err.message}`);
        }
        await settle(v).catch((err) => out.errors.push(`gateway ${v.key} settle: ${err.message}`));
      }
    }
    for (const v of variants) await v.inv.teardown();
  }
}

function stateDirs(dir) {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** VMM processes whose command line names `root`, and VM state dirs still under it. */
export function vmLeftovers(root) {
  const pids = [];
  const processes = [];
  for (const name of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    let cmdline;
    try {
      cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    if (!cmdline.includes(root)) continue;
    let state = '';
    try {
      state = /^State:\s+(\S)/m.exec(readFileSync(`/proc/${name}/status`, 'utf8'))?.[1] ?? '';
    } catch {}
    if (state === 'Z') continue;
    pids.push(Number(name));
    processes.push(`${name}: ${cmdline.replaceAll('\0', ' ').slice(0, 100)}`);
  }
  // A VM state dir holds owner.json (executor/src/vm/state-dir.ts); they sit at most 3 levels down.
  const dirs = [];
  const walk = (dir, depth) => {
    for (const name of stateDirs(dir)) {
      const path = join(dir, name);
      if (existsSync(join(path, 'owner.json'))) dirs.push(path);
      else if (depth < 3) walk(path, depth + 1);
    }
  };
  walk(root, 0);
  return { pids, processes, dirs, qemuProcessesOnHost: countQemu() };
}

/** Every qemu-system process on the machine (ours or anybody's), for the report. */
function countQemu() {
  try {
    return execFileSync('pgrep', ['-c', '-f', '^qemu-system'], { encoding: 'utf8' }).trim();
  } catch {
    return '0';
  }
}
