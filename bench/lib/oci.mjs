/**
 * The `oci` section: the oci executor (FAAS_EXECUTOR_TYPE=oci, an OCI runtime driven directly,
 * no Docker engine in the path) with runc, crun and runsc, side by side with the docker executor
 * (runc, and gVisor through the engine's runsc runtime) and plain `docker run`, in the same run:
 *
 * 1. cold latency (pool off): sequential POSTs to each cold platform, interleaved round-robin
 *    (run.mjs measureCold), with docker-run and docker-run-runsc as baselines;
 * 2. cold throughput: each cold platform at 8 connections for --duration seconds;
 * 3. single-use throughput: each single-use platform at 8 connections for --duration seconds, each
 *    connection sending as soon as it is answered, after an unrecorded 3 s warm-up;
 * 4. the target's load: the oci crun, then runc, single-use platform at 100 calls/s offered (open
 *    loop) for --oci-sustained seconds (60 by default) after a 3 s warm-up, each alone: every other
 *    platform of the run is stopped first (and its memory recorded), and the machine must be quiet.
 *
 * Pool hits and misses are read from each platform's own /metrics (faas_pool_hits_total and
 * faas_pool_misses_total, summed over its label sets) before and after each recorded level: an oci
 * sandbox never goes through the Docker engine, so the engine's create events cannot count it, and
 * the same counters are used for the docker platforms, so the columns compare alike.
 *
 * The issue's targets (issue 11) are figures of the report, met / not met, never an exit status.
 */
import { accessSync, constants, readdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { openLoopLevel } from './open-loop.mjs';
import { authHeaders } from './platform.mjs';
import { PLATFORMS } from './platforms.mjs';
import { readMachineCpuMs } from './proc.mjs';
import { measureThroughput } from './throughput.mjs';
import { dockerRun, gatewayInvoke } from './variants.mjs';

/** The oci runtimes measured, with what to install when the binary is missing. */
export const OCI_RUNTIMES = {
  runc: 'apt-get install runc',
  crun: 'apt-get install crun',
  runsc: "Debian 12 has no package: gVisor's apt repository (https://gvisor.dev/docs/user_guide/install/), package runsc",
};

/** The issue's targets, as figures. */
export const OCI_TARGETS = { rate: 100, sustainedS: 60, connections: 8, p50Ms: 15, p99Ms: 60, coldP50Ms: 40, gvisorRatio: 0.5 };

/**
 * The load offered for the sustained target: the target rate as an open loop (lib/open-loop.mjs:
 * evenly spaced calls over the target's connections, latency from each call's due time).
 */
export const OCI_OFFERED_RATE = OCI_TARGETS.rate;

/** The rows measured at the offered target rate (the issue's single-use target names runc and crun). */
const TARGET_ROWS = ['oci-runc', 'oci-crun'];

/** Waits until the machine's CPUs are below 15 % busy over a second, up to `maxMs`; false if never. */
async function waitMachineQuiet(maxMs) {
  const deadline = Date.now() + maxMs;
  while (Date.now() < deadline) {
    const a = readMachineCpuMs();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const b = readMachineCpuMs();
    if ((b.busyMs - a.busyMs) / Math.max(1, b.totalMs - a.totalMs) < 0.15) return true;
  }
  return false;
}

/** The folder the oci executor keeps its runtime state and bundles in (its default runRoot). */
const OCI_RUN_ROOT = '/run/faas';

/**
 * The rows of the section, in report order: `cold` the platform (and the body's executor) of the
 * pool-off column, `singleUse` that of the single-use column; `runtime` an oci runtime binary to
 * look for first.
 */
export function ociRows(ctx) {
  const rows = [
    {
      key: 'docker',
      label: 'docker executor (runc)',
      cold: { platform: 'cold', executor: 'docker' },
      singleUse: { platform: 'single-use', executor: 'docker' },
    },
  ];
  if (ctx.gvisor)
    rows.push({
      key: 'docker-gvisor',
      label: 'docker executor, gVisor (engine runtime runsc)',
      cold: { platform: 'cold', executor: 'gvisor' },
      singleUse: { platform: 'single-use', executor: 'gvisor' },
    });
  for (const runtime of Object.keys(OCI_RUNTIMES))
    rows.push({
      key: `oci-${runtime}`,
      label: `oci executor, ${runtime}`,
      runtime,
      cold: { platform: `oci-${runtime}-cold`, executor: 'docker' },
      singleUse: { platform: `oci-${runtime}-single-use`, executor: 'docker' },
    });
  return rows;
}

/** The binary `name` on PATH, or undefined. */
export function onPath(name) {
  for (const dir of (process.env.PATH ?? '').split(delimiter).filter(Boolean)) {
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {}
  }
  return undefined;
}

/** Sum of the platform's pool hit and miss counters (GET /metrics with the run's admin key). */
export async function poolCounters(platform) {
  const res = await fetch(`${platform.url}/metrics`, { headers: authHeaders(), signal: AbortSignal.timeout(5000) });
  if (!res.ok) throw new Error(`GET /metrics answered ${res.status}`);
  const counts = { hits: 0, misses: 0 };
  for (const line of (await res.text()).split('\n')) {
    const m = /^faas_pool_(hits|misses)_total(?:\{[^}]*\})?\s+(\S+)/.exec(line);
    if (m) counts[m[1]] += Number(m[2]);
  }
  return counts;
}

/** Runtime state dirs and bundles named for `pid` (`faas-<pid>-...`) left under the oci run root. */
export function ociLeftovers(pid) {
  const prefix = `faas-${pid}-`;
  const found = [];
  let dirs = [];
  try {
    dirs = readdirSync(OCI_RUN_ROOT).filter((d) => d.startsWith('oci-'));
  } catch {
    return found;
  }
  for (const d of dirs) {
    try {
      for (const name of readdirSync(join(OCI_RUN_ROOT, d))) if (name.startsWith(prefix)) found.push(join(OCI_RUN_ROOT, d, name));
    } catch {}
  }
  return found;
}

/** The cold latency variant's name of a row (also its name for --variants). */
export const rowVariant = (row) =>
  row.key === 'docker' ? 'gateway-docker' : row.key === 'docker-gvisor' ? 'gateway-gvisor' : `gateway-${row.key}`;

/** One cold latency variant: POST to the row's cold platform, settle until it has nothing in flight. */
function coldVariant(ctx, row) {
  const { platform: platformName, executor } = row.cold;
  const inv = gatewayInvoke(ctx, executor, platformName);
  const variant = {
    ...inv,
    name: rowVariant(row),
    description: row.runtime
      ? `POST /functions/bench/invoke to the \`${platformName}\` platform (FAAS_EXECUTOR_TYPE=oci FAAS_OCI_RUNTIME=${row.runtime}, pool off): a fresh sandbox started by ${row.runtime} directly, destroyed after the answer`
      : inv.description,
    skipped: undefined,
    async setup() {
      if (row.runtime && !onPath(row.runtime)) {
        variant.skipped = `${row.runtime} is not on PATH (${OCI_RUNTIMES[row.runtime]})`;
        return;
      }
      try {
        await ctx.startPlatform(platformName);
      } catch (err) {
        variant.skipped = `faas serve (${platformName}) did not start: ${err.message.split('\n').filter(Boolean).slice(0, 3).join(' / ')}`;
      }
    },
    async settle() {
      await inv.settle();
      await ctx.waitPlatformIdle(ctx.platforms.get(platformName), 15_000);
    },
  };
  return variant;
}

/**
 * Measures the section; returns { rows, cold, levels, skipped, errors } for renderOciMarkdown.
 * `measureRounds` is run.mjs's round-robin loop.
 */
export async function measureOci(ctx, opts, log) {
  // --variants keeps the rows (and baselines) it names.
  const wanted = (name) => !opts.variants || opts.variants.includes(name);
  const rows = ociRows(ctx).filter((row) => wanted(rowVariant(row)));
  const out = { rows, gvisor: ctx.gvisor, cold: new Map(), levels: new Map(), skipped: new Map(), errors: [], settings: {} };
  for (const row of rows) if (row.runtime) out.settings[row.key] = [PLATFORMS[row.cold.platform], PLATFORMS[row.singleUse.platform]];
  if (!ctx.config.agentPath) {
    out.skipped.set('*', "the guest agent is not built (bash guest-agent/build.sh): the oci executor runs it as every sandbox's PID 1");
    log(`oci: skipped: ${out.skipped.get('*')}`);
    return out;
  }

  // 1. Cold latency, interleaved.
  const variants = rows.map((row) => coldVariant(ctx, row));
  if (wanted('docker-run')) variants.push(dockerRun(ctx));
  if (ctx.gvisor && wanted(`docker-run-${ctx.gvisorRuntime}`)) variants.push(dockerRun(ctx, ctx.gvisorRuntime));
  for (const v of variants) await v.setup?.();
  for (const [i, v] of variants.entries()) {
    if (!v.skipped) continue;
    if (rows[i]) out.skipped.set(rows[i].key, v.skipped);
    log(`oci: ${v.name} skipped: ${v.skipped}`);
  }
  const measured = variants.filter((v) => !v.skipped);
  log(`oci: cold latency: ${measured.map((v) => v.name).join(', ')}; ${opts.warmup} warm-up + ${opts.rounds} rounds`);
  try {
    const { cold, errors } = await ctx.measureRounds(measured, {
      rounds: opts.rounds,
      warmup: opts.warmup,
      deadline: Date.now() + opts.maxMinutes * 60_000,
      stopped: ctx.stopped,
    });
    out.cold = cold;
    out.errors.push(...errors.map((e) => `oci cold latency: ${e}`));
  } finally {
    for (const v of variants) await v.teardown?.().catch(() => {});
  }
  out.coldVariants = measured;

  // 2, 3 and 4. Throughput at 8 connections: cold, single-use as fast as answered (the most it
  // serves), then the oci runc and crun single-use platforms sustained at the offered target rate
  // (latency under that load: the issue's target).
  for (const [mode, durationS, warmupS, overallRate] of [
    ['cold', opts.durationS, 0, undefined],
    ['singleUse', opts.durationS, Math.min(3, opts.durationS), undefined],
    ['singleUseTarget', opts.sustainedS, Math.min(3, opts.sustainedS), OCI_OFFERED_RATE],
  ]) {
    // The target levels: crun first, and each on a quiet machine (a level that overloaded its
    // platform leaves work behind, in the platform and in the kernel, for a while after it).
    const order = mode === 'singleUseTarget' ? [...rows].sort((a, b) => TARGET_ROWS.indexOf(b.key) - TARGET_ROWS.indexOf(a.key)) : rows;
    for (const row of order) {
      if (ctx.stopped()) break;
      if (out.skipped.has(row.key) && mode === 'cold') continue;
      if (mode === 'singleUseTarget' && !TARGET_ROWS.includes(row.key)) continue;
      const { platform: platformName, executor } = row[mode === 'singleUseTarget' ? 'singleUse' : mode];
      const key = `${row.key}:${mode}`;
      if (row.runtime && !onPath(row.runtime)) continue;
      let platform;
      try {
        platform = await ctx.startPlatform(platformName);
      } catch (err) {
        const why = `faas serve (${platformName}) did not start: ${err.message.split('\n').filter(Boolean).slice(0, 3).join(' / ')}`;
        out.skipped.set(key, why);
        out.errors.push(`oci: ${why}`);
        log(`oci: ${why}`);
        continue;
      }
      try {
        if (overallRate) {
          // The target is the measured platform's alone: every other platform of the run is
          // stopped first (their idle spares, gVisor's above all, take CPU of their own).
          for (const other of [...ctx.platforms.keys()]) {
            if (other === platformName) continue;
            const p = ctx.platforms.get(other);
            if (p?.env?.FAAS_EXECUTOR_TYPE === 'oci') ctx.recordMemory?.(p, 'after the oci section');
            await ctx.retirePlatform(other);
          }
        }
        await ctx.waitPlatformIdle(platform, 30_000);
        if (overallRate) {
          const quiet = await waitMachineQuiet(120_000);
          if (!quiet) log('oci: the machine did not become quiet within 120 s; measuring anyway');
          log(
            `oci: ${row.key}, single-use: ${warmupS} s warm-up, then ${durationS} s at ${overallRate} calls/s (open loop, ${OCI_TARGETS.connections} connections)`,
          );
          await openLoopLevel(ctx, platform, { rate: overallRate, durationS: warmupS, connections: OCI_TARGETS.connections });
          await ctx.waitPlatformIdle(platform, 30_000);
          const level = await openLoopLevel(ctx, platform, {
            rate: overallRate,
            durationS,
            connections: OCI_TARGETS.connections,
            counters: () => poolCounters(platform),
            label: `${row.key}, single-use at ${overallRate}/s offered (open loop)`,
          });
          out.levels.set(key, level);
          continue;
        }
        const [level] = await measureThroughput(ctx, platform, {
          concurrencies: [OCI_TARGETS.connections],
          durationS,
          warmupS,
          executor,
          counters: () => poolCounters(platform),
          log,
          label: `${row.key}, ${mode === 'cold' ? 'pool off' : mode === 'singleUse' ? 'single-use' : `single-use at ${overallRate}/s offered`}`,
        });
        if (level) out.levels.set(key, level);
      } catch (err) {
        out.errors.push(`oci ${key}: ${err.message}`);
        log(`oci ${key} failed: ${err.message}`);
      }
    }
  }
  return out;
}

const ms = (x) => (Number.isFinite(x) ? (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2)) : '-');
const rate = (x) => (Number.isFinite(x) ? x.toFixed(x >= 100 ? 0 : 1) : '-');
const fmtRatio = (r) => (Number.isFinite(r) ? `${r.toFixed(2)}x` : '-');
const div = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? a / b : Number.NaN);

/** The targets of issue 11, each { target, measured, met } with met undefined when not measured. */
export function ociTargets(oci) {
  const out = [];
  if (!oci) return out;
  const coldP50 = (name) => oci.cold.get(name)?.stats.p50;
  for (const runtime of ['runc', 'crun']) {
    const l = oci.levels.get(`oci-${runtime}:singleUseTarget`);
    const bad = l ? l.errors + l.timeouts + l.non2xx : Number.NaN;
    const full = l && l.durationS >= OCI_TARGETS.sustainedS;
    out.push({
      target: `oci ${runtime}, single-use, ${OCI_TARGETS.sustainedS} s at ${OCI_OFFERED_RATE}/s offered (open loop, ${OCI_TARGETS.connections} connections): >= ${OCI_TARGETS.rate} invocations/s answered, 0 errors, p50 <= ${OCI_TARGETS.p50Ms} ms, p99 <= ${OCI_TARGETS.p99Ms} ms`,
      measured: l
        ? `${rate(l.reqPerSec)}/s over ${l.durationS} s${l.elapsedS ? ` (last answer ${l.elapsedS} s after the first call)` : ''}, ${bad} errors, p50 ${ms(l.latency.p50)} ms, p99 ${ms(l.latency.p99)} ms${full ? '' : ` (shorter than ${OCI_TARGETS.sustainedS} s: not a test of the target)`}`
        : (oci.skipped.get(`oci-${runtime}`) ?? oci.skipped.get(`oci-${runtime}:singleUse`) ?? 'not measured'),
      // A shorter level (--quick, --oci-sustained) is shown, not judged.
      met:
        l && full
          ? l.reqPerSec >= OCI_TARGETS.rate && bad === 0 && l.latency.p50 <= OCI_TARGETS.p50Ms && l.latency.p99 <= OCI_TARGETS.p99Ms
          : undefined,
    });
    const c = coldP50(`gateway-oci-${runtime}`);
    out.push({
      target: `oci ${runtime}, pool off: cold p50 <= ${OCI_TARGETS.coldP50Ms} ms`,
      measured: Number.isFinite(c) ? `${ms(c)} ms` : (oci.skipped.get(`oci-${runtime}`) ?? 'not measured'),
      met: Number.isFinite(c) ? c <= OCI_TARGETS.coldP50Ms : undefined,
    });
  }
  const g = div(coldP50('gateway-oci-runsc'), coldP50('gateway-gvisor'));
  out.push({
    target: `gVisor through oci: cold p50 <= ${OCI_TARGETS.gvisorRatio} x the docker executor's gVisor cold p50`,
    measured: Number.isFinite(g)
      ? `${ms(coldP50('gateway-oci-runsc'))} ms vs ${ms(coldP50('gateway-gvisor'))} ms (${fmtRatio(g)})`
      : (oci.skipped.get('oci-runsc') ??
        (!oci.gvisor
          ? 'the engine has no runsc runtime (or FAAS_BENCH_GVISOR=0)'
          : 'not measured (needs gateway-oci-runsc and gateway-gvisor)')),
    met: Number.isFinite(g) ? g <= OCI_TARGETS.gvisorRatio : undefined,
  });
  return out;
}

export function renderOciMarkdown(oci, settings) {
  if (!oci) return [];
  const out = ['## OCI runtimes: the oci executor next to the docker executor', ''];
  if (oci.skipped.has('*')) return [...out, `Skipped: ${oci.skipped.get('*')}.`, ''];
  out.push(
    `\`${settings.command.join(' ')}\` on \`${settings.image}\`. Cold: sequential POSTs, one keep-alive connection per variant, ${settings.ociRounds} round-robin rounds after ${settings.warmup} warm-up rounds (every variant in every round), then each cold platform at ${OCI_TARGETS.connections} connections for ${settings.durationS} s. Single-use: each single-use platform (docker: FAAS_POOL_MIN_IDLE=3; oci: 8, one spare per connection; FAAS_POOL_MAX_IDLE=16) at ${OCI_TARGETS.connections} connections for ${settings.durationS} s after an unrecorded 3 s warm-up, each connection sending as soon as it is answered (the most it serves); then the oci runc and crun single-use platforms at ${OCI_OFFERED_RATE} calls/s offered as an open loop (evenly spaced calls over at most ${OCI_TARGETS.connections} keep-alive connections, each call's latency counted from the time it was due) for ${settings.ociSustainedS} s after a 3 s warm-up: the target's load. Pool hits / misses: the platform's own \`faas_pool_hits_total\` / \`faas_pool_misses_total\` (GET /metrics) before and after the level. Ratios: the row's figure / the docker executor's of the same isolation (\`ratios vs\`: runc rows against docker with runc, runsc rows against docker with gVisor); below 1 is faster for latency, above 1 is more for rates.`,
    '',
    'Platforms of the section (beside `cold` and `single-use` above):',
    '',
  );
  for (const [key, envs] of Object.entries(oci.settings))
    for (const env of envs) {
      const name = Object.keys(PLATFORMS).find((n) => PLATFORMS[n] === env);
      out.push(
        `- \`${name}\`: ${Object.entries(env)
          .map(([k, v]) => `${k}=${v}`)
          .join(' ')}${oci.skipped.has(key) ? ` (skipped: ${oci.skipped.get(key)})` : ''}`,
      );
    }
  out.push(
    '',
    '| variant | cold p50 ms | cold p99 ms | cold req/s (8 conn.) | single-use req/s (8 conn.) | single-use p50 ms | single-use p99 ms | errors (cold / single-use) | pool hits / misses (single-use) | ratios vs | cold p50 ratio | single-use req/s ratio | single-use p50 ratio |',
    '|---|--:|--:|--:|--:|--:|--:|--:|--:|---|--:|--:|--:|',
  );
  // The docker executor's row of the same isolation is each row's baseline: runsc rows are
  // compared with gVisor through the engine, the others with runc through the engine.
  const peerOf = (key) => (key === 'oci-runsc' || key === 'docker-gvisor' ? 'docker-gvisor' : 'docker');
  const base = (key) => {
    const peer = peerOf(key);
    const row = oci.rows.find((r) => r.key === peer);
    return {
      label: peer === 'docker' ? 'docker (runc)' : 'docker (gVisor)',
      coldP50: row && oci.cold.get(rowVariant(row))?.stats.p50,
      rate: oci.levels.get(`${peer}:singleUse`)?.reqPerSec,
      p50: oci.levels.get(`${peer}:singleUse`)?.latency.p50,
    };
  };
  const errs = (l) => (l ? String(l.errors + l.timeouts + l.non2xx) : '-');
  for (const row of oci.rows) {
    const c = oci.cold.get(rowVariant(row));
    const lc = oci.levels.get(`${row.key}:cold`);
    const ls = oci.levels.get(`${row.key}:singleUse`);
    const skipped = oci.skipped.get(row.key);
    if (skipped && !lc && !ls) {
      out.push(`| ${row.label} | skipped: ${skipped} | | | | | | | | | | | |`);
      continue;
    }
    const fail = c?.failures ? ` (${c.failures} failed)` : '';
    const b = base(row.key);
    out.push(
      `| ${row.label} | ${ms(c?.stats.p50)}${fail} | ${ms(c?.stats.p99)} | ${rate(lc?.reqPerSec)} | ${rate(ls?.reqPerSec)} | ${ms(ls?.latency.p50)} | ${ms(ls?.latency.p99)} | ${errs(lc)} / ${errs(ls)} | ${ls?.pool ? `${ls.pool.hits} / ${ls.pool.misses}` : oci.skipped.get(`${row.key}:singleUse`) ? 'not started' : 'not counted'} | ${b.label} | ${fmtRatio(div(c?.stats.p50, b.coldP50))} | ${fmtRatio(div(ls?.reqPerSec, b.rate))} | ${fmtRatio(div(ls?.latency.p50, b.p50))} |`,
    );
  }
  for (const [name, peer] of [
    ['docker-run', 'docker'],
    ['docker-run-runsc', 'docker-gvisor'],
  ]) {
    const c = oci.cold.get(name);
    const b = base(peer);
    if (c)
      out.push(
        `| \`${name}\` (baseline) | ${ms(c.stats.p50)} | ${ms(c.stats.p99)} | - | - | - | - | - | - | ${b.label} | ${fmtRatio(div(c.stats.p50, b.coldP50))} | - | - |`,
      );
  }
  out.push(
    '',
    "`errors`: autocannon's errors + timeouts + non-2xx answers of the level. `pool hits / misses`: acquires the single-use pool served from a spare / that had to start a sandbox during the recorded level (a miss is a cold start; the pool refills in the background).",
    '',
    '### Targets of issue 11 (figures, not an exit status)',
    '',
    '| target | measured | |',
    '|---|---|---|',
    ...ociTargets(oci).map(
      (t) => `| ${t.target} | ${t.measured} | **${t.met === undefined ? 'not measured' : t.met ? 'met' : 'not met'}** |`,
    ),
    '',
    '### Cold latency, every variant of the section (ms)',
    '',
    '| variant | n | p50 | p90 | p99 | mean | min | max | failed |',
    '|---|--:|--:|--:|--:|--:|--:|--:|--:|',
  );
  for (const [name, v] of oci.cold) {
    const s = v.stats;
    out.push(
      `| ${name} | ${s.n} | ${ms(s.p50)} | ${ms(s.p90)} | ${ms(s.p99)} | ${ms(s.mean)} | ${ms(s.min)} | ${ms(s.max)} | ${v.failures} |`,
    );
  }
  out.push(
    '',
    '### Throughput levels of the section',
    '',
    '| level | s | req/s (2xx) | p50 ms | p90 ms | p99 ms | 2xx | non-2xx | errors | timeouts | pool hits | pool misses | platform CPU ms/req | machine CPU busy | RSS max MiB |',
    '|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
  );
  for (const l of oci.levels.values())
    out.push(
      `| ${l.label} | ${l.durationS} | ${l.reqPerSec.toFixed(1)} | ${ms(l.latency.p50)} | ${ms(l.latency.p90)} | ${ms(l.latency.p99)} | ${l.ok} | ${l.non2xx} | ${l.errors} | ${l.timeouts} | ${l.pool?.hits ?? '-'} | ${l.pool?.misses ?? '-'} | ${l.cpu.platformMsPerReq.toFixed(2)} | ${(l.cpu.machineBusy * 100).toFixed(0)} % | ${(l.memory.maxRssKb / 1024).toFixed(1)} |`,
    );
  out.push('');
  return out;
}
