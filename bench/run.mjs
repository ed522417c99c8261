#!/usr/bin/env node
/**
 * `npm run bench`: starts the real platform (`faas serve`) in three configurations (pool off,
 * single-use pool, reuse pool) and measures, in the same run and with the same trivial command, its
 * cold and warm invocations (ad hoc, and of a function registered with POST /functions) next to
 * Docker baselines (CLI run, raw Engine API, exec) and the guest agent alone, interleaved
 * round-robin so drift hits every variant alike; then throughput with
 * autocannon (cold levels, reuse levels, a sustained reuse run, a sustained single-use run) while
 * sampling each platform's RSS; then the oci section (lib/oci.mjs: the oci executor with runc, crun
 * and runsc next to the docker executor and docker run, cold and single-use); then the microVM section (QEMU, and Firecracker on KVM: boot to agent
 * ready, first and warm invoke, destroy, restore from a snapshot, and the same through the gateway
 * next to the docker platforms). Writes bench/results/<timestamp>.md, latest.md and latest.svg.
 * Every loop is bounded in count and time; every container it makes is labelled and removed, and
 * every VM is destroyed and checked for. Every platform gets a random admin key of this run
 * (FAAS_ADMIN_KEY, sent as `authorization: Bearer`) and a temporary FAAS_DATA_DIR, removed when it
 * stops (lib/platform.mjs). See bench/README.md.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { measureAsync } from './lib/async.mjs';
import { BENCH_LABEL, Engine } from './lib/docker.mjs';
import { describeMachine } from './lib/machine.mjs';
import { measureOci, ociLeftovers } from './lib/oci.mjs';
import { waitPlatformIdle } from './lib/paired.mjs';
import { startPlatform } from './lib/platform.mjs';
import { baseEnv, PLATFORMS } from './lib/platforms.mjs';
import { readMemory } from './lib/proc.mjs';
import { measureRecovery } from './lib/recovery.mjs';
import { acceptance, renderMarkdown, renderSvg } from './lib/report.mjs';
import { summarize } from './lib/stats.mjs';
import { measureTangle } from './lib/tangle.mjs';
import { measureThroughput } from './lib/throughput.mjs';
import { latencyVariants } from './lib/variants.mjs';
import { measureVms } from './lib/vm.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const USAGE = `usage: npm run bench -- [options]

  --iterations N         measured latency rounds (default 40; --quick 10)
  --warmup N             unrecorded rounds first (default 3; --quick 2)
  --only LIST            phases: latency (alias cold), throughput, warm-throughput, async, oci, vm, recovery, tangle (default all)
  --skip LIST            phases to leave out (e.g. --skip vm)
  --variants LIST        latency variants to run, by name (default all; e.g.
                         gateway-docker-reuse,gateway-docker-reuse-registered); in the oci section it keeps the
                         rows named (gateway-docker, gateway-gvisor, gateway-oci-runc, gateway-oci-crun,
                         gateway-oci-runsc) and the baselines docker-run, docker-run-runsc
  --duration S           seconds per throughput level (default 10; --quick 3)
  --concurrency LIST     connection counts against the cold platform (default 1,4,16)
  --warm-concurrency L   connection counts against the reuse platform (default 1,8,32)
  --sustained S          seconds of the sustained reuse run (default 60; --quick 10)
  --sustained-connections N   its connections (default 32)
  --single-use-duration S     seconds of the sustained single-use run at 8 connections (default 20; --quick 5)
  --async-accepts N      asynchronous accepts timed per platform (default 500; --quick 100); the async
                         rates use --duration and 8 connections
  --max-minutes M        wall-clock bound on the latency phase, and on the oci section's rounds (default 20)
  --oci-rounds N         oci section: measured cold latency rounds (default 30; --quick 5)
  --oci-sustained S      oci section: seconds of the oci runc and crun single-use levels at the
                         offered target rate (105/s over 8 connections; default 60; --quick 5);
                         its cold and as-fast-as-answered single-use levels use --duration
  --vm-boots N           microVMs: sandboxes booted per executor, and gateway cold samples (default 10; --quick 3)
  --vm-warm N            microVMs: warm invokes after RESET per executor, and gateway reuse samples (default 30)
  --vm-max-minutes M     wall-clock bound on the vm phase (default 8)
  --recovery-rounds N    Docker engine restarts per pool mode, on an engine of the bench's own (default 3; --quick 1)
  --tangle-calls N       Tangle job calls (and as many HTTP invocations) on a local chain (default 30; --quick 10)
  --quick                a short smoke run
  --no-write             print only; write nothing under bench/results/

environment: FAAS_BENCH_GVISOR=0 skips gVisor, =1 runs it every round (default: every 3rd round
when the runsc runtime is registered). Other FAAS_* variables pass through to the platform, except
FAAS_ADMIN_KEY and FAAS_DATA_DIR: each platform gets the run's random admin key and a temporary
state folder of its own.`;

const log = (msg) => process.stderr.write(`bench: ${msg}\n`);

/** A bad option or variable: reported in one line with the usage, not as a stack trace. */
class UsageError extends Error {}

function options() {
  const { values } = parseArgsOrUsage({
    options: {
      iterations: { type: 'string' },
      warmup: { type: 'string' },
      only: { type: 'string' },
      skip: { type: 'string' },
      variants: { type: 'string' },
      duration: { type: 'string' },
      concurrency: { type: 'string' },
      'warm-concurrency': { type: 'string' },
      sustained: { type: 'string' },
      'sustained-connections': { type: 'string' },
      'single-use-duration': { type: 'string' },
      'async-accepts': { type: 'string' },
      'max-minutes': { type: 'string' },
      'vm-boots': { type: 'string' },
      'vm-warm': { type: 'string' },
      'vm-max-minutes': { type: 'string' },
      'recovery-rounds': { type: 'string' },
      'tangle-calls': { type: 'string' },
      'oci-rounds': { type: 'string' },
      'oci-sustained': { type: 'string' },
      quick: { type: 'boolean', default: false },
      'no-write': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const int = (name, fallback, min, max) => {
    const raw = values[name];
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name}=${raw}: use an integer from ${min} to ${max}`);
    return n;
  };
  const list = (raw) =>
    raw
      ?.split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  const phases = ['latency', 'throughput', 'warm-throughput', 'async', 'oci', 'vm', 'recovery', 'tangle'];
  const phaseList = (name) => (list(values[name]) ?? []).map((p) => (p === 'cold' ? 'latency' : p));
  for (const name of ['only', 'skip'])
    for (const p of phaseList(name)) if (!phases.includes(p)) throw new UsageError(`--${name} ${p}: use ${phases.join(', ')}`);
  const skip = phaseList('skip');
  const only = (values.only ? phaseList('only') : phases).filter((p) => !skip.includes(p));
  const levels = (name, fallback) => {
    const xs = (list(values[name]) ?? fallback).map(Number);
    if (xs.some((c) => !Number.isInteger(c) || c < 1 || c > 1024)) throw new UsageError(`--${name} ${values[name]}: integers 1..1024`);
    return xs;
  };
  const concurrency = levels('concurrency', ['1', '4', '16']);
  const warmConcurrency = levels('warm-concurrency', ['1', '8', '32']);
  const gv = process.env.FAAS_BENCH_GVISOR;
  if (gv !== undefined && gv !== '0' && gv !== '1') throw new UsageError(`FAAS_BENCH_GVISOR=${gv}: use 0 or 1`);
  return {
    iterations: int('iterations', values.quick ? 10 : 40, 1, 10_000),
    warmup: int('warmup', values.quick ? 2 : 3, 0, 100),
    durationS: int('duration', values.quick ? 3 : 10, 1, 600),
    sustainedS: int('sustained', values.quick ? 10 : 60, 1, 3600),
    sustainedConnections: int('sustained-connections', 32, 1, 1024),
    singleUseS: int('single-use-duration', values.quick ? 5 : 20, 1, 3600),
    asyncAccepts: int('async-accepts', values.quick ? 100 : 500, 1, 100_000),
    warmConcurrency,
    maxMinutes: int('max-minutes', 20, 1, 240),
    vmBoots: int('vm-boots', values.quick ? 3 : 10, 1, 1000),
    vmWarm: int('vm-warm', 30, 1, 10_000),
    vmMaxMinutes: int('vm-max-minutes', 8, 1, 240),
    recoveryRounds: int('recovery-rounds', values.quick ? 1 : 3, 1, 100),
    tangleCalls: int('tangle-calls', values.quick ? 10 : 30, 1, 10_000),
    ociRounds: int('oci-rounds', values.quick ? 5 : 30, 1, 10_000),
    ociSustainedS: int('oci-sustained', values.quick ? 5 : 60, 1, 3600),
    only,
    variants: list(values.variants),
    concurrency,
    gvisor: gv === '0' ? 'off' : gv === '1' ? 'full' : 'auto',
    write: !values['no-write'],
  };
}

function parseArgsOrUsage(config) {
  try {
    return parseArgs(config);
  } catch (err) {
    throw new UsageError(err.message);
  }
}

/** Runs `variants` round-robin for `rounds` rounds, rotating the order each round; bounded by deadline. */
async function measureCold(variants, { rounds, warmup, deadline, stopped }) {
  const samples = new Map(
    variants.map((v) => [v.name, { samples: [], phases: new Map(), failures: 0, discarded: 0, description: v.description }]),
  );
  const errors = [];
  for (let round = -warmup; round < rounds; round++) {
    if (Date.now() > deadline || stopped()) {
      errors.push(
        `latency phase stopped after ${Math.max(0, round)} of ${rounds} rounds (${stopped() ? 'interrupted' : 'time bound reached'})`,
      );
      break;
    }
    const shift = ((round % variants.length) + variants.length) % variants.length;
    const order = [...variants.slice(shift), ...variants.slice(0, shift)];
    for (const v of order) {
      if (v.every && ((round % v.every) + v.every) % v.every !== 0) continue;
      const rec = samples.get(v.name);
      for (let k = 0; k < (v.repeat ?? 1) && rec.failures < 5; k++) {
        const t0 = performance.now();
        let sample;
        try {
          const phases = await v.run();
          sample = { elapsed: performance.now() - t0, phases };
        } catch (err) {
          rec.failures++;
          errors.push(`${v.name}: ${err.message}`);
          log(`${v.name} failed: ${err.message}`);
        }
        const verdict = await v.settle?.().catch((err) => {
          errors.push(`${v.name} settle: ${err.message}`);
        });
        if (!sample || round < 0) continue;
        if (verdict === 'discard') {
          rec.discarded++;
          continue;
        }
        rec.samples.push(sample.elapsed);
        for (const [phase, t] of Object.entries(sample.phases ?? {})) {
          if (!rec.phases.has(phase)) rec.phases.set(phase, []);
          rec.phases.get(phase).push(t);
        }
      }
    }
    if (round >= 0 && (round + 1) % 10 === 0) log(`latency: ${round + 1}/${rounds} rounds`);
  }
  const cold = new Map();
  for (const [name, rec] of samples) {
    cold.set(name, { stats: summarize(rec.samples), failures: rec.failures, discarded: rec.discarded });
    for (const [phase, xs] of rec.phases)
      cold.set(`${name} (${phase})`, { stats: summarize(xs), failures: rec.failures, discarded: rec.discarded });
  }
  return { cold, errors };
}

/** The platform's configuration defaults (agent path, sandbox user, limits) as the platforms see them. */
async function platformConfig() {
  const { loadConfig } = await import('@faas/common');
  return loadConfig({}, os.availableParallelism());
}

async function platformSpecFactory(config) {
  const { containerSpec } = await import(join(ROOT, 'executor/dist/docker/container-spec.js'));
  return () =>
    containerSpec({
      image: IMAGE,
      command: COMMAND,
      env: [],
      limits: config.defaultLimits,
      user: config.sandboxUser,
      runtime: 'runc',
      labels: { [BENCH_LABEL]: '1' },
    });
}

const IMAGE = 'faas/busybox:latest';
const COMMAND = ['true'];

async function main() {
  const opts = options();
  const engine = new Engine();
  let interrupted = false;
  process.on('SIGINT', () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    log('interrupted: finishing the current step and cleaning up (Ctrl-C again to exit now)');
  });
  const ping = await engine.request('GET', '/_ping', undefined, 5000).catch((err) => ({ status: 0, body: err.message }));
  if (ping.status !== 200) throw new Error(`Docker engine not reachable on ${engine.socketPath}: ${ping.body}`);
  const image = await engine.request('GET', `/images/${IMAGE}/json`);
  if (image.status !== 200) throw new Error(`image ${IMAGE} is missing: build it with scripts/setup-host.sh`);
  const info = await engine.ok('GET', '/info');
  const gvisor = opts.gvisor !== 'off' && 'runsc' in (info.Runtimes ?? {});
  if (opts.gvisor === 'full' && !gvisor) throw new Error('FAAS_BENCH_GVISOR=1 but the engine has no runsc runtime');

  const removed = await engine.removeByLabel(`${BENCH_LABEL}=1`);
  if (removed) log(`removed ${removed} container(s) left by an earlier bench`);
  const machine = describeMachine(ROOT);
  const run = { machine, settings: {}, variants: [], cold: undefined, throughput: undefined, memory: new Map(), errors: [] };
  run.settings = { ...opts, image: IMAGE, command: COMMAND, gvisorEvery: gvisor && opts.gvisor === 'auto' ? 3 : 1 };

  // Each platform configuration (PLATFORMS in lib/platforms.mjs) runs as its own `faas serve`,
  // started once, on first use. 'cold' has no warm pool (every invocation is a fresh container);
  // 'single-use' and 'reuse' keep warm agent sandboxes. For each, the engine's events tell which
  // invocations took the cold path (a one-shot container labelled with the invocation id).
  const config = await platformConfig();
  const platforms = new Map();
  const watchers = [];
  const platformEnv = (name) => ({ ...baseEnv(gvisor), ...PLATFORMS[name] });
  // extraEnv: settings of the bench's own that the report does not list (a VM platform's TMPDIR).
  const startNamed = async (name, extraEnv = {}) => {
    if (platforms.has(name)) return platforms.get(name);
    if (!PLATFORMS[name]) throw new Error(`no platform configuration named ${name}`);
    log(
      `starting faas serve (${name}: ${Object.entries(PLATFORMS[name])
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')})`,
    );
    const p = await startPlatform({ root: ROOT, env: { ...platformEnv(name), ...extraEnv } });
    p.name = name;
    p.env = PLATFORMS[name];
    p.oneShot = new Set();
    p.creates = 0;
    platforms.set(name, p);
    const filters = { type: ['container'], event: ['create'], label: [`dev.faas.pid=${p.pid}`] };
    watchers.push(
      await engine.watchEvents(filters, (e) => {
        p.creates++;
        const invocation = e.Actor?.Attributes?.['dev.faas.invocation'];
        if (invocation) p.oneShot.add(invocation);
      }),
    );
    run.memory.set(`${name}: idle after start`, readMemory(p.pid));
    return p;
  };
  run.cleanup = [];
  /** Stops a platform (SIGTERM) and records what it left behind; a later startPlatform starts it afresh. */
  const retire = async (name) => {
    const p = platforms.get(name);
    if (!p) return;
    platforms.delete(name);
    await p.stop();
    const leaked = await engine.removeByLabel(`dev.faas.pid=${p.pid}`);
    if (leaked) run.errors.push(`platform ${p.name} left ${leaked} container(s) behind after SIGTERM (removed by the bench)`);
    const left = (await engine.listByLabel('dev.faas.managed=true')).filter((c) => c.Labels?.['dev.faas.pid'] === String(p.pid)).length;
    // An oci sandbox is no engine container: its runtime state dir and bundle carry the pid.
    const ociLeft = p.env.FAAS_EXECUTOR_TYPE === 'oci' ? ociLeftovers(p.pid) : undefined;
    if (ociLeft?.length) run.errors.push(`platform ${p.name} left ${ociLeft.join(', ')} behind after SIGTERM`);
    run.cleanup.push({ platform: p.name, pid: p.pid, leaked, left, ociLeft });
  };
  const ctx = {
    root: ROOT,
    engine,
    config,
    image: IMAGE,
    command: COMMAND,
    platforms,
    startPlatform: startNamed,
    retirePlatform: retire,
    /** Records a platform's memory now, under `${p.name}: ${when}` in the report. */
    recordMemory: (p, when) => run.memory.set(`${p.name}: ${when}`, readMemory(p.pid)),
    platformEnv,
    platformSpec: await platformSpecFactory(config),
    gvisor,
    gvisorRuntime: 'runsc',
    gvisorEvery: run.settings.gvisorEvery,
    stopped: () => interrupted,
    /** The round-robin latency loop (measureCold), for sections with variants of their own. */
    measureRounds: measureCold,
    /** Waits until a platform has nothing in flight and no container of its own being created or torn down. */
    async waitPlatformIdle(p, timeoutMs) {
      await waitPlatformIdle(engine, p, timeoutMs);
    },
  };
  run.platforms = Object.fromEntries(
    Object.keys(PLATFORMS)
      // The VM platforms, with what the bench adds to them, are listed in the MicroVMs section.
      .filter((name) => PLATFORMS[name].FAAS_EXECUTOR_TYPE === undefined)
      .map((name) => [name, platformEnv(name)]),
  );
  let variants = [];
  try {
    const coldPlatform = await startNamed('cold');
    if (opts.only.includes('latency')) {
      variants = latencyVariants(ctx).filter((v) => !opts.variants || opts.variants.includes(v.name));
      run.variants = variants;
      for (const v of variants) await v.setup?.();
      // A variant the platform cannot serve (registration on a build without it) says so once.
      for (const v of variants.filter((v) => v.skipped)) log(`latency: ${v.name} skipped: ${v.skipped}`);
      const measured = variants.filter((v) => !v.skipped);
      log(`latency: ${measured.map((v) => v.name).join(', ')}; ${opts.warmup} warm-up + ${opts.iterations} rounds`);
      const { cold, errors } = await measureCold(measured, {
        rounds: opts.iterations,
        warmup: opts.warmup,
        deadline: Date.now() + opts.maxMinutes * 60_000,
        stopped: () => interrupted,
      });
      run.cold = cold;
      run.errors.push(...errors);
      for (const p of platforms.values()) run.memory.set(`${p.name}: after latency phase`, readMemory(p.pid));
    }
    if (opts.only.includes('throughput') && !interrupted) {
      await ctx.waitPlatformIdle(coldPlatform, 30_000);
      const levels = { concurrencies: opts.concurrency, durationS: opts.durationS, log, label: 'cold' };
      run.throughput = await measureThroughput(ctx, coldPlatform, levels);
      run.memory.set('cold: after throughput phase', readMemory(coldPlatform.pid));
    }
    if (opts.only.includes('warm-throughput') && config.agentPath && !interrupted) {
      const reuse = await startNamed('reuse');
      await ctx.waitPlatformIdle(reuse, 30_000);
      const warmupS = Math.min(3, opts.durationS);
      run.warmThroughput = await measureThroughput(ctx, reuse, {
        concurrencies: opts.warmConcurrency,
        durationS: opts.durationS,
        warmupS,
        log,
        label: 'reuse',
      });
      run.sustained = await measureThroughput(ctx, reuse, {
        concurrencies: [opts.sustainedConnections],
        durationS: opts.sustainedS,
        warmupS,
        log,
        label: 'reuse, sustained',
      });
      run.memory.set('reuse: after sustained load', readMemory(reuse.pid));
      const single = await startNamed('single-use');
      await ctx.waitPlatformIdle(single, 30_000);
      run.singleUse = await measureThroughput(ctx, single, {
        concurrencies: [8],
        durationS: opts.singleUseS,
        log,
        label: 'single-use, sustained',
      });
      run.memory.set('single-use: after sustained load', readMemory(single.pid));
    }
    if (opts.only.includes('async') && !interrupted) {
      run.async = await measureAsync(ctx, { accepts: opts.asyncAccepts, durationS: opts.durationS, connections: 8 }, log);
      run.errors.push(...(run.async.errors ?? []));
    }
    if (opts.only.includes('oci') && !interrupted) {
      run.oci = await measureOci(
        ctx,
        {
          rounds: opts.ociRounds,
          warmup: opts.warmup,
          maxMinutes: opts.maxMinutes,
          durationS: opts.durationS,
          sustainedS: opts.ociSustainedS,
          variants: opts.variants,
        },
        log,
      );
      run.errors.push(...run.oci.errors);
      for (const p of platforms.values())
        if (p.env.FAAS_EXECUTOR_TYPE === 'oci') run.memory.set(`${p.name}: after the oci section`, readMemory(p.pid));
    }
    if (opts.only.includes('vm') && !interrupted) {
      run.vm = await measureVms(ctx, { boots: opts.vmBoots, warm: opts.vmWarm, maxMinutes: opts.vmMaxMinutes }, log);
      run.errors.push(...run.vm.errors);
      for (const [when, m] of run.vm.memory) run.memory.set(when, m);
    }
    if (opts.only.includes('recovery') && !interrupted) {
      run.recovery = await measureRecovery(ctx, { rounds: opts.recoveryRounds }, log);
      run.errors.push(...(run.recovery.errors ?? []));
    }
    if (opts.only.includes('tangle') && !interrupted) {
      run.tangle = await measureTangle(ctx, { rounds: opts.tangleCalls, warmup: opts.warmup }, log);
      run.errors.push(...(run.tangle.errors ?? []));
      if (run.tangle.skipped) log(`tangle: skipped: ${run.tangle.skipped}`);
    }
  } finally {
    for (const v of variants) await v.teardown?.().catch((err) => run.errors.push(`${v.name} teardown: ${err.message}`));
    for (const w of watchers) w.close();
    for (const name of [...platforms.keys()]) await retire(name);
    const ours = await engine.removeByLabel(`${BENCH_LABEL}=1`);
    if (ours) log(`removed ${ours} bench container(s)`);
    engine.close();
  }

  const markdown = renderMarkdown(run);
  process.stdout.write(`${markdown}\n`);
  if (opts.write) {
    const dir = join(ROOT, 'bench/results');
    mkdirSync(dir, { recursive: true });
    const stamp = machine.date.replace(/[:.]/g, '-');
    writeFileSync(join(dir, `${stamp}.md`), markdown);
    writeFileSync(join(dir, 'latest.md'), markdown);
    writeFileSync(join(dir, 'latest.svg'), renderSvg(run));
    log(`wrote bench/results/${stamp}.md, latest.md, latest.svg`);
  }
  if (acceptance(run).some((a) => a.pass === false)) process.exitCode = 1;
}

main().catch((err) => {
  if (err instanceof UsageError) log(`${err.message}\n\n${USAGE}`);
  else log(err.stack ?? err.message);
  process.exitCode = 2;
});
