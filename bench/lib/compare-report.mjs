/** The Markdown report of `bench/compare.mjs`: one table of percentiles and ratios, then the detail. */
import { bootstrapRatios, pairedDiffs } from './paired.mjs';
import { summarize } from './stats.mjs';

const ms = (x) => (Number.isFinite(x) ? (Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 10 ? x.toFixed(1) : x.toFixed(2)) : '-');
const signed = (x) => (Number.isFinite(x) ? `${x > 0 ? '+' : ''}${ms(x)}` : '-');
const ratio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? a / b : Number.NaN);
const fmtRatio = (r) => (Number.isFinite(r) ? `${r.toFixed(2)}x` : '-');
const fmtCi = (ci) => (ci?.every(Number.isFinite) ? `${ci[0].toFixed(2)}-${ci[1].toFixed(2)}` : '-');
const STATS = ['p50', 'p90', 'p99', 'mean'];
const PHASES = ['queueMs', 'acquireMs', 'runMs'];

const pick = (s) => ({ p50: s.p50, p90: s.p90, p99: s.p99, mean: s.mean });
const statOf = (xs) => pick(summarize(xs));

/** Per mode: stats per build, ratios with bootstrap intervals, paired differences, phase rows. */
export function analyse(run) {
  for (const m of run.modes) {
    const base = m.builds.get('baseline');
    const cand = m.builds.get('candidate');
    for (const [build, r] of m.builds) {
      r.stats = summarize(r.samples.map((s) => s.ms));
      r.orchestrator = summarize(r.samples.map((s) => s.orchestrator).filter(Number.isFinite));
      r.outside = summarize(r.samples.filter((s) => Number.isFinite(s.orchestrator)).map((s) => s.ms - s.orchestrator));
      const logged = r.samples.map((s) => run.logs.get(build)?.get(s.invocation)).filter(Boolean);
      r.logged = logged.length;
      r.phases = Object.fromEntries(
        PHASES.map((p) => [p, summarize(logged.map((l) => l.phases?.[p]).filter((x) => typeof x === 'number'))]),
      );
    }
    m.ratios = Object.fromEntries(STATS.map((k) => [k, ratio(cand.stats[k], base.stats[k])]));
    m.ci = bootstrapRatios(
      base.samples.map((s) => s.ms),
      cand.samples.map((s) => s.ms),
      statOf,
    );
    m.paired = summarize(pairedDiffs(base.samples, cand.samples));
  }
}

export function renderCompare(run) {
  const { baseline: b, candidate: c } = run.builds;
  const cLabel = `${c.short}${c.dirty ? '+' : ''}`;
  const lines = [];
  const mc = run.machine;
  lines.push(`# Invocation latency: candidate against baseline`, '');
  lines.push(
    `${run.startedAt}; ${mc.cores} cores (${mc.cpuModel}), ${mc.memoryGiB} GiB RAM, ${mc.kernel}, Docker ${mc.docker}, Node ${mc.node}.`,
  );
  lines.push(
    `Load average ${run.load.start.map((x) => x.toFixed(1)).join(' ')} at the start, ${run.load.end.map((x) => x.toFixed(1)).join(' ')} at the end.`,
    '',
  );
  lines.push(`- baseline: \`${b.ref}\` = ${b.short} "${b.subject}" (temporary worktree, built in ${(b.buildMs / 1000).toFixed(0)} s)`);
  lines.push(
    `- candidate: this checkout, ${c.short} "${c.subject}"${c.dirty ? ` + local changes (${c.changedFiles} tracked file(s))` : ''}${c.inProgress ? ' (a rebase or merge was in progress: the working tree as it was)' : ''}`,
  );
  lines.push(`- command: \`${run.command}\`, wall time ${(run.wallMs / 1000).toFixed(0)} s`);
  lines.push(
    `- calls: sequential \`POST /functions/bench/invoke {"image":"faas/busybox:latest","command":["true"]}\`${run.modes.some((m) => m.mode === 'registered') ? ' (mode `registered`: `POST /functions/bench-registered/invoke {}`, the function registered once per platform with that image and command, pool_mode reuse)' : ''}, baseline and candidate alternating call by call (ABBA), ${run.settings.warmup} unrecorded warm-up calls each per mode; platforms logging at \`${run.settings.logLevel}\``,
  );
  for (const s of run.skipped ?? []) lines.push(`- mode \`${s.mode}\` skipped: ${s.reason}`);
  lines.push('');
  lines.push(
    'Milliseconds from the client (HTTP on a keep-alive connection); ratio = candidate / baseline, below 1 the candidate is faster.',
    '',
  );
  lines.push('| mode | build | n | p50 | p90 | p99 | mean |');
  lines.push('| ---- | ----- | -: | --: | --: | --: | ---: |');
  for (const m of run.modes) {
    const base = m.builds.get('baseline');
    const cand = m.builds.get('candidate');
    const n = (r) => `${r.stats.n}${r.discarded ? ` (+${r.discarded} discarded)` : ''}`;
    lines.push(`| ${m.mode} | baseline ${b.short} | ${n(base)} | ${STATS.map((k) => ms(base.stats[k])).join(' | ')} |`);
    lines.push(`| ${m.mode} | candidate ${cLabel} | ${n(cand)} | ${STATS.map((k) => ms(cand.stats[k])).join(' | ')} |`);
    lines.push(`| ${m.mode} | **ratio** | | ${STATS.map((k) => `**${fmtRatio(m.ratios[k])}**`).join(' | ')} |`);
  }
  lines.push('');
  lines.push('### Noise');
  lines.push('');
  lines.push(
    'The 95 % bootstrap interval of each ratio (each build resampled on its own, 2000 times): an interval that contains 1.00 is a difference this run cannot tell from noise. The paired difference is candidate minus baseline of the two calls of the same pair (adjacent in time).',
    '',
  );
  lines.push(
    '| mode | p50 ratio | p90 ratio | p99 ratio | mean ratio | paired diff p50 | paired diff mean | containers created (base / cand) |',
  );
  lines.push(
    '| ---- | --------: | --------: | --------: | ---------: | --------------: | ---------------: | -------------------------------: |',
  );
  for (const m of run.modes) {
    const base = m.builds.get('baseline');
    const cand = m.builds.get('candidate');
    lines.push(
      `| ${m.mode} | ${STATS.map((k) => fmtCi(m.ci[k])).join(' | ')} | ${signed(m.paired.p50)} | ${signed(m.paired.mean)} | ${base.creates} / ${cand.creates} |`,
    );
  }
  lines.push('');
  lines.push('### Where the time goes');
  lines.push('');
  lines.push(
    "p50 / mean in ms of the measured calls. `orchestrator` is the answer's `duration_ms` (the orchestrator's own clock); `outside` is the client's time minus that (HTTP, Fastify, JSON, the client). `queue`, `acquire` and `run` are the `phases` of the gateway's `invocation finished` log line, where the build logs them (the candidate does; `-` where it does not or the log level hides it).",
    '',
  );
  lines.push('| mode | build | client | orchestrator | outside | queue | acquire | run | calls with a log line |');
  lines.push('| ---- | ----- | -----: | -----------: | ------: | ----: | ------: | --: | --------------------: |');
  const pm = (s) => (s?.n ? `${ms(s.p50)} / ${ms(s.mean)}` : '-');
  for (const m of run.modes) {
    for (const [build, r] of m.builds) {
      const label = build === 'baseline' ? `baseline ${b.short}` : `candidate ${cLabel}`;
      lines.push(
        `| ${m.mode} | ${label} | ${pm(r.stats)} | ${pm(r.orchestrator)} | ${pm(r.outside)} | ${PHASES.map((p) => pm(r.phases[p])).join(' | ')} | ${r.logged}/${r.stats.n} |`,
      );
    }
  }
  lines.push('');
  lines.push('### Settings');
  lines.push('');
  for (const m of run.modes) {
    lines.push(
      `- \`${m.mode}\`: ${Object.entries(m.env)
        .map(([k, v]) => `\`${k}=${v}\``)
        .join(' ')}; ${m.pairs} pairs measured of ${m.n} asked`,
    );
  }
  lines.push('- other `FAAS_*` variables of the caller pass through to both builds alike');
  lines.push('');
  lines.push('### Cleanup');
  lines.push('');
  for (const p of run.cleanup.platforms) {
    lines.push(
      `- ${p.mode} ${p.build} (pid ${p.pid}): ${p.leaked} container(s) removed by the bench after SIGTERM, ${p.left} left${p.exit !== undefined ? `, exited ${p.exit}` : ''}`,
    );
  }
  lines.push(`- baseline worktree: ${run.cleanup.tree ?? 'not made'}`);
  if (run.cleanup.stale?.length) lines.push(`- removed compare folders of earlier runs that had died: ${run.cleanup.stale.join(', ')}`);
  if (run.errors.length) {
    lines.push('', '### Errors', '');
    for (const e of run.errors.slice(0, 40)) lines.push(`- ${e.replaceAll('\n', ' ').slice(0, 400)}`);
    if (run.errors.length > 40) lines.push(`- ... and ${run.errors.length - 40} more`);
  }
  return lines.join('\n');
}
