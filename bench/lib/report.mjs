/** Renders one run's results as Markdown (stdout and bench/results/) and as a hand-written SVG chart. */
import { asyncGoals, renderAsyncMarkdown } from './async.mjs';
import { machineLine } from './machine.mjs';
import { renderOciMarkdown } from './oci.mjs';
import { recoveryGoals, renderRecoveryMarkdown } from './recovery.mjs';
import { renderTangleMarkdown } from './tangle.mjs';
import { FC_GOALS, VM_MEASURES } from './vm.mjs';

const ms = (x) => (Number.isFinite(x) ? (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2)) : '-');
const mib = (kb) => (Number.isFinite(kb) ? (kb / 1024).toFixed(1) : '-');
const ratio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? a / b : Number.NaN);
const fmtRatio = (r) => (Number.isFinite(r) ? `${r.toFixed(r >= 100 ? 0 : r >= 10 ? 1 : 2)}x` : '-');

/** The platform's latency variants, cold first, and the baselines, in report order. */
const PLATFORM_ROWS = [
  'gateway-docker',
  'gateway-docker-single-use',
  'gateway-docker-reuse',
  'gateway-docker-reuse-registered',
  'gateway-gvisor',
];
const BASELINES = ['docker-run', 'api-lifecycle', 'docker-exec', 'api-exec', 'agent-direct', 'agent-direct-fresh', 'agent-direct-spare'];

/** Which baselines each platform variant is compared with in the detailed ratio table. */
const COMPARE = {
  'gateway-docker': [
    'docker-run',
    'api-lifecycle',
    'api-lifecycle (to-exit)',
    'api-platform-calls',
    'api-platform-calls (to-exit)',
    'docker-exec',
    'api-exec',
  ],
  'gateway-docker-single-use': [
    'docker-run',
    'api-lifecycle',
    'docker-exec',
    'api-exec',
    'agent-direct-fresh',
    'agent-direct-spare',
    'gateway-docker',
  ],
  'gateway-docker-reuse': ['docker-run', 'api-lifecycle', 'docker-exec', 'api-exec', 'agent-direct', 'gateway-docker'],
  // The registered function against the ad-hoc call of the same reuse platform first (p50 and p99).
  'gateway-docker-reuse-registered': ['gateway-docker-reuse', 'agent-direct', 'docker-exec', 'docker-run'],
  'gateway-gvisor': ['docker-run-runsc', 'docker-run', 'api-lifecycle'],
};

const RSS_BOUND_KB = 250 * 1024;

/**
 * Every acceptance goal of the run: { group, goal, value, shown, pass } with pass undefined when it
 * was not measured in this run.
 *
 * Cold (the foundation): gateway-docker p50 / docker-run p50 < 0.7, and / api-lifecycle <= 1.15.
 * Warm: reuse p50 <= 5 ms, p99 <= 25 ms, 20x faster than docker exec and 100x faster than
 * docker run (p50 by p50); single-use p50 <= 10 ms. Sustained reuse load: >= 300 req/s, no errors,
 * non-2xx or timeouts, platform RSS (sampled VmRSS and VmHWM) < 250 MiB. Registered function:
 * its reuse p50 <= 1.2x the ad-hoc reuse p50 (both on the reuse platform, same command).
 */
export function acceptance(run) {
  const cold = run.cold ?? new Map();
  const p = (name, key) => cold.get(name)?.stats[key];
  const check = (value, ok) => (Number.isFinite(value) ? ok(value) : undefined);
  const goals = [
    {
      group: 'cold',
      goal: 'gateway-docker p50 / docker-run p50 < 0.7',
      value: ratio(p('gateway-docker', 'p50'), p('docker-run', 'p50')),
      fmt: fmtRatio,
      ok: (v) => v < 0.7,
    },
    {
      group: 'cold',
      goal: 'gateway-docker p50 / api-lifecycle p50 <= 1.15',
      value: ratio(p('gateway-docker', 'p50'), p('api-lifecycle', 'p50')),
      fmt: fmtRatio,
      ok: (v) => v <= 1.15,
    },
    { group: 'warm', goal: 'reuse p50 <= 5 ms', value: p('gateway-docker-reuse', 'p50'), fmt: (v) => `${ms(v)} ms`, ok: (v) => v <= 5 },
    { group: 'warm', goal: 'reuse p99 <= 25 ms', value: p('gateway-docker-reuse', 'p99'), fmt: (v) => `${ms(v)} ms`, ok: (v) => v <= 25 },
    {
      group: 'warm',
      goal: 'reuse p50 at least 20x faster than docker-exec p50',
      value: ratio(p('docker-exec', 'p50'), p('gateway-docker-reuse', 'p50')),
      fmt: (v) => `${fmtRatio(v)} faster`,
      ok: (v) => v >= 20,
    },
    {
      group: 'warm',
      goal: 'reuse p50 at least 100x faster than docker-run p50',
      value: ratio(p('docker-run', 'p50'), p('gateway-docker-reuse', 'p50')),
      fmt: (v) => `${fmtRatio(v)} faster`,
      ok: (v) => v >= 100,
    },
    {
      group: 'warm',
      goal: 'single-use (spare ready) p50 <= 10 ms',
      value: p('gateway-docker-single-use', 'p50'),
      fmt: (v) => `${ms(v)} ms`,
      ok: (v) => v <= 10,
    },
    {
      group: 'warm',
      goal: 'registered function, reuse',
      value: ratio(p('gateway-docker-reuse-registered', 'p50'), p('gateway-docker-reuse', 'p50')),
      fmt: (v) =>
        `p50 ${ms(p('gateway-docker-reuse-registered', 'p50'))} ms vs ad-hoc ${ms(p('gateway-docker-reuse', 'p50'))} ms (ratio ${v.toFixed(2)}, target ≤ 1.2)`,
      ok: (v) => v <= 1.2,
      // A build that cannot register functions (an older commit): said so instead of 'not measured'.
      unmeasured: run.variants?.find((v) => v.name === 'gateway-docker-reuse-registered')?.skipped,
    },
  ];
  const s = run.sustained?.[0];
  if (s) {
    goals.push(
      {
        group: 'throughput',
        goal: `reuse, ${s.connections} connections, ${s.durationS} s: >= 300 req/s`,
        value: s.reqPerSec,
        fmt: (v) => `${v.toFixed(0)} req/s`,
        ok: (v) => v >= 300,
      },
      {
        group: 'throughput',
        goal: 'no errors, timeouts or non-2xx answers',
        value: s.errors + s.timeouts + s.non2xx,
        fmt: () => `${s.errors} errors, ${s.timeouts} timeouts, ${s.non2xx} non-2xx`,
        ok: (v) => v === 0,
      },
      {
        group: 'throughput',
        goal: 'platform RSS < 250 MiB (max sampled VmRSS and VmHWM)',
        value: Math.max(s.memory.maxRssKb, s.memory.hwmKb),
        fmt: () => `VmRSS max ${mib(s.memory.maxRssKb)} MiB, VmHWM ${mib(s.memory.hwmKb)} MiB`,
        ok: (v) => v < RSS_BOUND_KB,
      },
    );
  } else {
    goals.push({
      group: 'throughput',
      goal: 'sustained reuse load >= 300 req/s, no errors, RSS < 250 MiB',
      value: Number.NaN,
      fmt: () => '-',
      ok: () => false,
    });
  }
  goals.push(...asyncGoals(run.async));
  goals.push(...recoveryGoals(run.recovery));
  if (run.vm) {
    // Firecracker on KVM only: QEMU under TCG is software emulation and has no timing goal.
    const fc = run.vm.targets.find((t) => t.kind === 'firecracker')?.stats;
    const restore = run.vm.snapshot?.stats?.get('restore-result')?.p50;
    goals.push(
      {
        group: 'microvm',
        goal: `firecracker (KVM) boot to agent ready p50 <= ${FC_GOALS.bootP50Ms} ms`,
        value: fc?.get('boot')?.p50 ?? Number.NaN,
        fmt: (v) => `${ms(v)} ms`,
        ok: (v) => v <= FC_GOALS.bootP50Ms,
      },
      {
        group: 'microvm',
        goal: `firecracker (KVM) restore to result p50 <= ${FC_GOALS.restoreResultP50Ms} ms`,
        value: fc ? (fc.get('restore-result')?.p50 ?? Number.NaN) : Number.NaN,
        fmt: (v) => `${ms(v)} ms`,
        ok: (v) => v <= FC_GOALS.restoreResultP50Ms,
      },
    );
    // Shown, not judged: QEMU restore under whatever accelerator ran.
    if (Number.isFinite(restore) && run.vm.accel === 'kvm')
      goals.push({
        group: 'microvm',
        goal: `qemu (KVM) restore to result p50 <= ${FC_GOALS.restoreResultP50Ms} ms`,
        value: restore,
        fmt: (v) => `${ms(v)} ms`,
        ok: (v) => v <= FC_GOALS.restoreResultP50Ms,
      });
  }
  return goals.map((g) => ({
    group: g.group,
    goal: g.goal,
    value: g.value,
    shown: Number.isFinite(g.value) ? g.fmt(g.value) : g.unmeasured ? `skipped: ${g.unmeasured}` : 'not measured',
    pass: check(g.value, g.ok),
  }));
}

const verdict = (pass) => (pass === undefined ? 'not measured' : pass ? 'PASS' : 'FAIL');

export function renderMarkdown(run) {
  const { machine, settings, cold, memory } = run;
  const out = [`# faas bench, ${machine.date}`, '', `Machine: ${machineLine(machine)}.`, ''];
  const gvisorNote =
    settings.gvisorEvery > 1 && cold?.has('gateway-gvisor') ? ` (gVisor variants in 1 of every ${settings.gvisorEvery} rounds)` : '';
  out.push(
    `Workload: \`${settings.command.join(' ')}\` on \`${settings.image}\`, sequential, one keep-alive connection per variant.` +
      (cold
        ? ` Latency: ${settings.iterations} round-robin rounds after ${settings.warmup} warm-up rounds${gvisorNote}; fast variants run several times in a row per round (n below).`
        : ''),
    '',
    'Platforms (each its own `faas serve`, FAAS_EXECUTOR_TYPE=docker unless listed):',
    '',
    ...Object.entries(run.platforms ?? {}).map(
      ([name, env]) =>
        `- \`${name}\`: ${Object.entries(env)
          .filter(([k, v]) => !(k === 'FAAS_EXECUTOR_TYPE' && v === 'docker'))
          .map(([k, v]) => `${k}=${v}`)
          .join(' ')}`,
    ),
    '',
  );
  const accept = acceptance(run);
  out.push('## Acceptance', '', '| group | goal | measured | verdict |', '|---|---|--:|---|');
  for (const a of accept) out.push(`| ${a.group} | ${a.goal} | ${a.shown} | **${verdict(a.pass)}** |`);
  out.push('');
  if (cold) {
    const cell = (name, key) => ms(cold.get(name)?.stats[key]);
    out.push(
      '## Cold and warm, side by side (ms)',
      '',
      '| executor | cold p50 | cold p99 | single-use p50 | single-use p99 | reuse p50 | reuse p99 |',
      '|---|--:|--:|--:|--:|--:|--:|',
      `| docker (runc) | ${cell('gateway-docker', 'p50')} | ${cell('gateway-docker', 'p99')} | ${cell('gateway-docker-single-use', 'p50')} | ${cell('gateway-docker-single-use', 'p99')} | ${cell('gateway-docker-reuse', 'p50')} | ${cell('gateway-docker-reuse', 'p99')} |`,
    );
    if (cold.has('gateway-docker-reuse-registered'))
      out.push(
        `| docker (runc), registered function | not measured | not measured | not measured | not measured | ${cell('gateway-docker-reuse-registered', 'p50')} | ${cell('gateway-docker-reuse-registered', 'p99')} |`,
      );
    if (cold.has('gateway-gvisor'))
      out.push(
        `| gvisor (runsc) | ${cell('gateway-gvisor', 'p50')} | ${cell('gateway-gvisor', 'p99')} | not measured | not measured | not measured | not measured |`,
      );
    const vmGw = run.vm?.gatewayStats;
    if (vmGw?.size) {
      const g = (key, k) => (vmGw.has(key) ? ms(vmGw.get(key)[k]) : 'not measured');
      const a = run.vm.accel ?? '?';
      if (vmGw.has('qemu:cold') || vmGw.has('qemu:reuse'))
        out.push(
          `| qemu (${a}, boot; \`vm\` section) | ${g('qemu:cold', 'p50')} | ${g('qemu:cold', 'p99')} | not measured | not measured | ${g('qemu:reuse', 'p50')} | ${g('qemu:reuse', 'p99')} |`,
        );
      if (vmGw.has('qemu:restore'))
        out.push(
          `| qemu (${a}, restore from snapshot; \`vm\` section) | ${g('qemu:restore', 'p50')} | ${g('qemu:restore', 'p99')} | not measured | not measured | - | - |`,
        );
    }
    out.push(
      '',
      "gVisor sandboxes are warm in the pooled modes too (runsc keeps sockets inside the sandbox, so their agent speaks over the container's attached stdio), but this bench measures gvisor cold only.",
      '',
      '| baseline | p50 | p99 |',
      '|---|--:|--:|',
      ...BASELINES.filter((b) => cold.has(b)).map((b) => `| ${b} | ${cell(b, 'p50')} | ${cell(b, 'p99')} |`),
      '',
      'Ratios, platform / baseline as p50 ratio (p99 ratio); below 1 the platform is faster:',
      '',
      `| platform | ${BASELINES.filter((b) => cold.has(b)).join(' | ')} |`,
      `|---|${BASELINES.filter((b) => cold.has(b))
        .map(() => '--:')
        .join('|')}|`,
    );
    for (const pName of PLATFORM_ROWS.filter((n) => cold.has(n))) {
      const p = cold.get(pName).stats;
      const cells = BASELINES.filter((b) => cold.has(b)).map((b) => {
        const s = cold.get(b).stats;
        return `${fmtRatio(ratio(p.p50, s.p50))} (${fmtRatio(ratio(p.p99, s.p99))})`;
      });
      out.push(`| ${pName} | ${cells.join(' | ')} |`);
    }
    out.push(
      '',
      '## Invocation latency, every variant (ms)',
      '',
      '| variant | n | p50 | p90 | p99 | mean | min | max | failed | discarded |',
      '|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
    );
    for (const [name, v] of cold) {
      const s = v.stats;
      out.push(
        `| ${name} | ${s.n} | ${ms(s.p50)} | ${ms(s.p90)} | ${ms(s.p99)} | ${ms(s.mean)} | ${ms(s.min)} | ${ms(s.max)} | ${v.failures} | ${v.discarded ?? 0} |`,
      );
    }
    out.push(
      '',
      "`discarded`: single-use calls that found no spare (the platform created a one-shot container for that invocation id, seen in the engine's events); they are not in the figures.",
      '',
      '## Ratios (platform / baseline; below 1 means the platform is faster)',
      '',
      '| platform | baseline | p50 ratio | p99 ratio | baseline p50 / platform p50 |',
      '|---|---|--:|--:|--:|',
    );
    for (const [platform, baselines] of Object.entries(COMPARE)) {
      const p = cold.get(platform)?.stats;
      if (!p) continue;
      for (const b of baselines) {
        const s = cold.get(b)?.stats;
        if (s)
          out.push(
            `| ${platform} | ${b} | ${fmtRatio(ratio(p.p50, s.p50))} | ${fmtRatio(ratio(p.p99, s.p99))} | ${fmtRatio(ratio(s.p50, p.p50))} |`,
          );
      }
    }
    out.push('', '### Variants', '');
    for (const v of run.variants) out.push(`- \`${v.name}\`: ${v.skipped ? `skipped: ${v.skipped}. ` : ''}${v.description}`);
    out.push(
      '- `(to-exit)` rows: the same runs, timed up to the container having exited, before its removal (the gateway answers at this point too).',
    );
    out.push('');
  }
  const levels = [...(run.throughput ?? []), ...(run.warmThroughput ?? []), ...(run.sustained ?? []), ...(run.singleUse ?? [])];
  if (levels.length) {
    out.push(
      '## Throughput (autocannon, POST /functions/bench/invoke)',
      '',
      '| platform | connections | s | req/s (2xx) | p50 ms | p90 ms | p99 ms | 2xx | non-2xx | errors | timeouts | cold-path calls | containers created | platform CPU ms/req | bench CPU ms/req | machine CPU busy | RSS max MiB | RSS mean MiB | VmHWM MiB |',
      '|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
    );
    for (const l of levels) {
      out.push(
        `| ${l.label} | ${l.connections} | ${l.durationS} | ${l.reqPerSec.toFixed(1)} | ${ms(l.latency.p50)} | ${ms(l.latency.p90)} | ${ms(l.latency.p99)} | ${l.ok} | ${l.non2xx} | ${l.errors} | ${l.timeouts} | ${l.label === 'cold' ? 'all' : (l.oneShot ?? '-')} | ${l.creates ?? '-'} | ${l.cpu.platformMsPerReq.toFixed(2)} | ${l.cpu.benchMsPerReq.toFixed(2)} | ${(l.cpu.machineBusy * 100).toFixed(0)} % | ${mib(l.memory.maxRssKb)} | ${mib(l.memory.meanRssKb)} | ${mib(l.memory.hwmKb)} |`,
      );
    }
    out.push(
      '',
      'Warm levels had an unrecorded warm-up at the same concurrency first. `cold-path calls`: invocations that found no warm sandbox and ran in a one-shot container (a single-use pool is refilled two containers at a time, so under sustained load most calls take the cold path; its rate is bounded by container creation). `containers created`: every container the platform created during the level (one-shot, spares and, in reuse mode, pool growth). CPU: user + system time of the platform process and of the bench process (which runs autocannon) per request, and the share of all cores busy during the level (the machine is shared: other work counts too). RSS: the platform process, /proc/<pid>/status sampled every 100 ms during the level; VmHWM is its lifetime peak.',
      '',
    );
  }
  out.push(...renderAsyncMarkdown(run.async));
  out.push(...renderOciMarkdown(run.oci, settings));
  out.push(...renderRecoveryMarkdown(run.recovery));
  out.push(...renderTangleMarkdown(run.tangle));
  if (run.vm) out.push(...renderVmMarkdown(run));
  out.push('## Platform memory (each `faas serve` process, /proc/<pid>/status)', '', '| when | VmRSS MiB | VmHWM MiB |', '|---|--:|--:|');
  for (const [when, m] of memory) out.push(`| ${when} | ${mib(m?.rssKb)} | ${mib(m?.hwmKb)} |`);
  out.push('');
  if (run.cleanup?.length) {
    out.push(
      '## Cleanup',
      '',
      ...run.cleanup.map(
        (c) =>
          `- \`${c.platform}\` (pid ${c.pid}): stopped with SIGTERM; ${c.leaked} container(s) left behind and removed by the bench; ${c.left} container(s) labelled dev.faas.managed=true with its pid remain${c.ociLeft ? `; ${c.ociLeft.length} oci runtime state dir(s) or bundle(s) named for its pid remain under /run/faas${c.ociLeft.length ? ` (${c.ociLeft.join(', ')})` : ''}` : ''}.`,
      ),
      '',
    );
  }
  const vmc = run.vm?.cleanup;
  if (vmc) {
    if (run.cleanup?.length) out.pop();
    else out.push('## Cleanup', '');
    out.push(
      `- microVMs: after every executor was closed and the VM platforms stopped, ${vmc.processes.length} VMM process(es) and ${vmc.dirs.length} VM state dir(s) of the bench remained${vmc.processes.length ? ` (killed by the bench: ${vmc.processes.join('; ')})` : ''}${vmc.dirs.length ? ` (${vmc.dirs.join(', ')})` : ''}; its folder ${vmc.removedRoot ? 'was removed' : 'could NOT be removed'}; afterwards ${vmc.after.processes.length} process(es) of the bench remain, and the machine runs ${vmc.after.qemuProcessesOnHost} qemu-system process(es) in all (anybody's).`,
      '',
    );
  }
  if (run.errors.length) out.push('## Errors', '', ...run.errors.map((e) => `- ${e}`), '');
  return out.join('\n');
}

const VM_ROW_LABELS = {
  boot: 'boot to agent ready (`acquire`)',
  first: 'first invoke',
  warm: 'warm invoke after RESET',
  reset: 'RESET (`release`)',
  destroy: 'destroy',
  restore: 'restore from snapshot to ready',
  'restore-first': 'first invoke after restore',
  'restore-result': 'restore to first result',
  'gateway-cold': 'gateway, pool off (boot per invocation)',
  'gateway-cold (orchestrator)': '… its `duration_ms` (orchestrator)',
  'gateway-restore': 'gateway, pool off (restore per invocation)',
  'gateway-restore (orchestrator)': '… its `duration_ms` (orchestrator)',
  'gateway-reuse': 'gateway, reuse (warm)',
  'gateway-reuse (orchestrator)': '… its `duration_ms` (orchestrator)',
};

const VM_SVG_LABELS = {
  boot: 'boot to agent ready',
  'gateway-cold': 'gateway, pool off (boot per call)',
  'gateway-restore': 'gateway, pool off (restore per call)',
};

/** The docker row a VM-only row is compared with in the ratio column. */
const VM_DOCKER_PEER = { restore: 'boot', 'restore-first': 'first', 'restore-result': 'boot', 'gateway-restore': 'gateway-cold' };

/** The accelerator in words, for the MicroVMs headings. */
export function accelLine(vm) {
  if (vm.accel === 'kvm') return 'QEMU accelerator: **kvm** (hardware virtualisation)';
  if (vm.accel === 'tcg')
    return `QEMU accelerator: **tcg** (software emulation${vm.kvmDevice ? ': /dev/kvm exists but a KVM guest cannot run on it, so the executor fell back' : ': no /dev/kvm'})`;
  return 'QEMU: not available';
}

/** Stats of one row of one executor column: direct lifecycle rows, restore and gateway rows. */
function vmStat(vm, kind, row) {
  if (row.startsWith('gateway-')) {
    const [, mode, extra] = /^gateway-(\w+)( \(orchestrator\))?$/.exec(row);
    if (kind === 'docker' && mode === 'restore') return undefined;
    return vm.gatewayStats?.get(`${kind}:${mode}${extra ?? ''}`);
  }
  if (row.startsWith('restore'))
    return kind === 'qemu' ? vm.snapshot?.stats?.get(row) : vm.targets.find((t) => t.kind === kind)?.stats?.get(row);
  return vm.targets.find((t) => t.kind === kind)?.stats?.get(row);
}

function renderVmMarkdown(run) {
  const vm = run.vm;
  const cols = vm.targets.filter((t) => t.stats?.size || t.kind === 'qemu');
  const head = (t) => `${t.label}${t.accel ? ` (${t.accel})` : ''}`;
  const out = [
    `## MicroVMs (${accelLine(vm).replace(/\*\*/g, '')})`,
    '',
    `Machine: ${machineLine(run.machine)}. ${accelLine(vm)}.`,
    '',
    `\`${run.settings.command.join(' ')}\` on \`${run.settings.image}\`, default limits. Each executor directly (the platform's own classes from executor/dist, no HTTP): one unrecorded warm-up sandbox, then ${run.settings.vmBoots} sandboxes, each booted, invoked once, RESET and invoked again ${Math.max(1, Math.ceil(run.settings.vmWarm / run.settings.vmBoots))} time(s), destroyed; executors interleaved, one sandbox at a time. Then through the gateway: the docker and the qemu platform alternating, ${run.settings.vmBoots} pool-off calls and ${run.settings.vmWarm} reuse calls each. p50 / p99 in ms; qemu / docker is the p50 ratio.`,
    '',
    `| measure | ${cols.map(head).join(' | ')} | ${cols
      .filter((t) => t.kind !== 'docker')
      .map((t) => `${t.kind} / docker`)
      .join(' | ')} | n |`,
    `|---|${cols.map(() => '--:').join('|')}|${cols
      .filter((t) => t.kind !== 'docker')
      .map(() => '--:')
      .join('|')}|--:|`,
  ];
  const rows = Object.keys(VM_ROW_LABELS);
  for (const row of rows) {
    if (row !== 'restore' && row.startsWith('restore') && !vm.snapshot?.stats) continue;
    if (row.startsWith('gateway') && !cols.some((t) => vmStat(vm, t.kind, row)?.n) && !(row === 'gateway-cold' && vm.gatewayNote)) continue;
    const cells = cols.map((t) => {
      if (t.note) return t.note;
      if ((row.startsWith('restore') || row === 'gateway-restore') && t.kind === 'docker') return 'n/a';
      if (row.startsWith('restore') && t.kind === 'qemu' && !vm.snapshot?.stats) return vm.snapshot?.note ?? 'not measured';
      if (row === 'gateway-cold' && t.kind === 'qemu' && vm.gatewayNote) return 'not measured (see below)';
      if (row.startsWith('gateway') && t.kind === 'firecracker') return 'not measured';
      const st = vmStat(vm, t.kind, row);
      return st?.n ? `${ms(st.p50)} / ${ms(st.p99)}` : '-';
    });
    if (row.endsWith('(orchestrator)') && !cols.some((t) => vmStat(vm, t.kind, row)?.n)) continue;
    const dockerP50 = vmStat(vm, 'docker', VM_DOCKER_PEER[row] ?? row)?.p50;
    const ratios = cols.filter((t) => t.kind !== 'docker').map((t) => fmtRatio(ratio(vmStat(vm, t.kind, row)?.p50, dockerP50)));
    const n = vmStat(vm, 'qemu', row)?.n ?? '-';
    out.push(`| ${VM_ROW_LABELS[row]} | ${cells.join(' | ')} | ${ratios.join(' | ')} | ${n || '-'} |`);
  }
  out.push('');
  out.push(
    `Firecracker: ${vm.firecracker?.measured ? 'measured (columns above); through the gateway not measured (a firecracker platform needs FAAS_FC_ROOTFS_PATH)' : (vm.firecracker?.note ?? 'not measured')}.`,
  );
  if (vm.snapshot && !vm.snapshot.stats) out.push('', `Restore from snapshot: ${vm.snapshot.note}.`);
  if (vm.snapshot?.stats)
    out.push(
      '',
      `Restore from snapshot: the qemu executor with \`snapshots: true\` and a snapshot folder of the bench's own; the snapshot was built by the first acquire (untimed, ${ms(vm.snapshot.buildMs)} ms for up to 3 warm-up sandboxes)${vm.snapshot.fellBack ? `; ${vm.snapshot.fellBack} acquire(s) booted instead of restoring and are not in the figures` : ''}. The boot rows above run with \`snapshots: false\`. Restore rows are compared with docker's start of a fresh agent container (\`boot\`, \`first invoke\`) and its pool-off call.`,
    );
  if (vm.gatewayNote) out.push('', `Gateway: ${vm.gatewayNote}.`);
  const q = vm.targets.find((t) => t.kind === 'qemu');
  if (vm.qemuRssKb)
    out.push(
      '',
      `Memory of one QEMU VM (the qemu-system process's VmRSS after the first invoke): booted ${mib(vm.qemuRssKb)} MiB${q?.restoredRssKb ? `, restored from a snapshot ${mib(q.restoredRssKb)} MiB (before its first invoke)` : ''}.`,
    );
  if (vm.platformsUsed?.length)
    out.push(
      '',
      'VM platforms (each its own `faas serve`, TMPDIR a folder of the bench so that its VMs are found):',
      '',
      ...vm.platformsUsed.map(
        (p) =>
          `- \`${p.name}\` (${p.key}): ${Object.entries(p.env)
            .map(([k, v]) => `${k}=${v}`)
            .join(' ')}`,
      ),
    );
  out.push('', 'Rows:', '', ...Object.entries(VM_MEASURES).map(([k, d]) => `- \`${k}\`: ${d}`), '');
  out.push(
    '### MicroVMs, every row (ms)',
    '',
    '| executor | measure | n | p50 | p90 | p99 | mean | min | max |',
    '|---|---|--:|--:|--:|--:|--:|--:|--:|',
  );
  for (const t of vm.targets)
    for (const row of rows) {
      const st = vmStat(vm, t.kind, row);
      if (st?.n)
        out.push(
          `| ${t.kind} | ${VM_ROW_LABELS[row]} | ${st.n} | ${ms(st.p50)} | ${ms(st.p90)} | ${ms(st.p99)} | ${ms(st.mean)} | ${ms(st.min)} | ${ms(st.max)} |`,
        );
    }
  out.push('');
  return out;
}

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * One chart: grouped p50/p99 bars of every latency variant (platform cold, platform warm,
 * baselines; log axis when the values span more than 20x), throughput bars with RSS, and the
 * acceptance verdicts and key ratios as text. Titled with the date and the machine.
 */
export function renderSvg(run) {
  const cold = run.cold ?? new Map();
  const order = [...PLATFORM_ROWS, ...BASELINES, 'api-platform-calls', 'docker-run-runsc'];
  const names = [...cold.keys()].filter((n) => !n.includes('(')).sort((a, b) => rank(order, a) - rank(order, b));
  const rows = names.map((name) => ({ name, p50: cold.get(name).stats.p50, p99: cold.get(name).stats.p99 }));
  const levels = [...(run.throughput ?? []), ...(run.warmThroughput ?? []), ...(run.sustained ?? []), ...(run.singleUse ?? [])];
  const accept = acceptance(run);
  const width = Math.max(960, 140 + rows.length * 84);
  const plot = { x: 70, y: 70, w: width - 100, h: 250 };
  // Panels without data (a run with --only vm) collapse to a line.
  if (!rows.length) plot.h = 0;
  const tpTop = rows.length ? plot.y + plot.h + 110 : plot.y + 10;
  const tpRow = 20;
  const vmTop = levels.length ? tpTop + 30 + levels.length * tpRow + 30 : tpTop;
  const vmPanel = run.vm ? renderVmPanel(run, plot.x, vmTop, width) : { parts: [], height: 0 };
  const textTop = vmTop + vmPanel.height;
  const height = textTop + 20 + accept.length * 16 + 20;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="14">faas invoke latency, cold and warm, vs baselines: p50 / p99 (ms), ${esc(run.machine.date.slice(0, 16).replace('T', ' '))} UTC</text>`,
    `<text x="${width / 2}" y="36" text-anchor="middle" fill="#555">${esc(machineLine(run.machine))}</text>`,
    `<text x="${width / 2}" y="52" text-anchor="middle" fill="#555">\`true\` on ${esc(run.settings.image)}, sequential; absolute values are this machine's, shared with other work: compare within the run</text>`,
  ];
  const values = rows.flatMap((r) => [r.p50, r.p99]).filter((x) => Number.isFinite(x) && x > 0);
  if (values.length) {
    const max = Math.max(...values);
    const min = Math.min(...values);
    const log = max / min > 20;
    const lo = log ? 10 ** Math.floor(Math.log10(min)) : 0;
    const hi = log ? 10 ** Math.ceil(Math.log10(max)) : niceCeil(max);
    const y = (v) => plot.y + plot.h - (log ? (Math.log10(v / lo) / Math.log10(hi / lo)) * plot.h : (v / hi) * plot.h);
    const ticks = log ? logTicks(lo, hi) : [0, 0.25, 0.5, 0.75, 1].map((f) => f * hi);
    for (const t of ticks) {
      parts.push(`<line x1="${plot.x}" x2="${plot.x + plot.w}" y1="${y(t).toFixed(1)}" y2="${y(t).toFixed(1)}" stroke="#ddd"/>`);
      parts.push(`<text x="${plot.x - 6}" y="${(y(t) + 4).toFixed(1)}" text-anchor="end">${t}</text>`);
    }
    parts.push(
      `<text transform="translate(16 ${plot.y + plot.h / 2}) rotate(-90)" text-anchor="middle">ms${log ? ' (log scale)' : ''}</text>`,
    );
    const group = plot.w / rows.length;
    const bar = Math.min(28, group / 3);
    rows.forEach((r, i) => {
      const cx = plot.x + group * i + group / 2;
      const kind = r.name.startsWith('gateway-') ? (r.name.includes('reuse') || r.name.includes('single-use') ? 'warm' : 'cold') : 'base';
      for (const [j, key] of [
        [0, 'p50'],
        [1, 'p99'],
      ]) {
        const v = r[key];
        if (!Number.isFinite(v) || v <= 0) continue;
        const x = cx - bar + j * bar;
        const top = y(Math.max(v, log ? lo : 0));
        parts.push(
          `<rect x="${x.toFixed(1)}" y="${top.toFixed(1)}" width="${bar.toFixed(1)}" height="${(plot.y + plot.h - top).toFixed(1)}" fill="${COLORS[kind][j]}"/>`,
        );
        parts.push(`<text x="${(x + bar / 2).toFixed(1)}" y="${(top - 3).toFixed(1)}" text-anchor="middle" font-size="9">${ms(v)}</text>`);
      }
      parts.push(
        `<text transform="translate(${(cx - 4).toFixed(1)} ${plot.y + plot.h + 12}) rotate(30)" font-size="10">${esc(r.name)}</text>`,
      );
    });
    parts.push(`<line x1="${plot.x}" x2="${plot.x}" y1="${plot.y}" y2="${plot.y + plot.h}" stroke="#333"/>`);
    parts.push(`<line x1="${plot.x}" x2="${plot.x + plot.w}" y1="${plot.y + plot.h}" y2="${plot.y + plot.h}" stroke="#333"/>`);
    const ly = plot.y + plot.h + 95;
    let lx = plot.x;
    for (const [kind, label] of [
      ['cold', 'platform, cold (pool off)'],
      ['warm', 'platform, warm (single-use / reuse pool)'],
      ['base', 'baseline'],
    ]) {
      parts.push(`<rect x="${lx}" y="${ly - 9}" width="10" height="10" fill="${COLORS[kind][0]}"/>`);
      parts.push(`<rect x="${lx + 11}" y="${ly - 9}" width="10" height="10" fill="${COLORS[kind][1]}"/>`);
      parts.push(`<text x="${lx + 26}" y="${ly}">${label}: p50, p99</text>`);
      lx += 60 + label.length * 6;
    }
  }
  // Throughput bars, one per level, with the platform's RSS.
  if (levels.length)
    parts.push(`<text x="${plot.x}" y="${tpTop}" font-size="13">Throughput (autocannon, req/s with 2xx) and platform RSS</text>`);
  const maxRate = Math.max(1, ...levels.map((l) => l.reqPerSec));
  const labelW = 230;
  const barMax = width - plot.x - labelW - 470;
  levels.forEach((l, i) => {
    const yy = tpTop + 14 + i * tpRow;
    const w = Math.max(1, (l.reqPerSec / maxRate) * barMax);
    const color = l.label === 'cold' ? COLORS.cold[0] : COLORS.warm[0];
    parts.push(`<text x="${plot.x}" y="${yy + 12}">${esc(`${l.label}, ${l.connections} conn, ${l.durationS} s`)}</text>`);
    parts.push(`<rect x="${plot.x + labelW}" y="${yy + 2}" width="${w.toFixed(1)}" height="13" fill="${color}"/>`);
    const bad = l.errors + l.timeouts + l.non2xx;
    parts.push(
      `<text x="${(plot.x + labelW + w + 6).toFixed(1)}" y="${yy + 12}">${l.reqPerSec.toFixed(1)} req/s, p50 ${ms(l.latency.p50)} ms, p99 ${ms(l.latency.p99)} ms, RSS max ${mib(l.memory.maxRssKb)} MiB${bad ? `, ${bad} failed` : ''}</text>`,
    );
  });
  parts.push(...vmPanel.parts);
  parts.push(`<text x="${plot.x}" y="${textTop}" font-size="13">Acceptance and ratios</text>`);
  accept.forEach((a, i) => {
    const color = a.pass === undefined ? '#777' : a.pass ? '#2a7a2a' : '#b22';
    parts.push(
      `<text x="${plot.x}" y="${textTop + 18 + i * 16}" fill="${color}">${esc(`${verdict(a.pass)}  ${a.group}: ${a.goal}: ${a.shown}`)}</text>`,
    );
  });
  parts.push('</svg>', '');
  return parts.join('\n');
}

const VM_COLORS = { docker: ['#666666', '#cccccc'], qemu: ['#e6811c', '#f8c48d'], firecracker: ['#8e44ad', '#d2b4de'] };

/**
 * The MicroVMs panel: one group of horizontal bars per measure, one bar per executor (p50 dark,
 * extended to p99 light), on a log axis; the accelerator and the Firecracker line as text.
 */
function renderVmPanel(run, x0, top, width) {
  const vm = run.vm;
  const cols = vm.targets.filter((t) => t.stats?.size);
  const measures = Object.keys(VM_ROW_LABELS).filter((r) => !r.endsWith('(orchestrator)'));
  const groups = measures
    .map((row) => ({
      row,
      bars: cols.map((t) => ({ kind: t.kind, st: vmStat(vm, t.kind, row) })).filter((b) => b.st?.n),
    }))
    .filter((g) => g.bars.length);
  const parts = [
    `<text x="${x0}" y="${top}" font-size="13">MicroVMs: sandbox lifecycle per executor and through the gateway, p50 (dark) to p99 (light), ms, log scale</text>`,
    `<text x="${x0}" y="${top + 16}" fill="#555">${esc(`${accelLine(vm).replace(/\*\*/g, '')}; ${run.machine.cores} cores (${run.machine.cpuModel})`)}</text>`,
  ];
  let y = top + 40;
  const labelW = 215;
  const axisX = x0 + labelW;
  const axisW = width - axisX - 260;
  const values = groups.flatMap((g) => g.bars.flatMap((b) => [b.st.p50, b.st.p99])).filter((v) => v > 0);
  if (values.length) {
    const lo = 10 ** Math.floor(Math.log10(Math.min(...values)));
    const hi = 10 ** Math.ceil(Math.log10(Math.max(...values)));
    const sx = (v) => axisX + (Math.log10(Math.max(v, lo) / lo) / Math.log10(hi / lo)) * axisW;
    const barH = 10;
    const groupH = (g) => g.bars.length * (barH + 2) + 8;
    const bottom = y + groups.reduce((a, g) => a + groupH(g), 0);
    for (let d = lo; d <= hi; d *= 10) {
      parts.push(`<line x1="${sx(d).toFixed(1)}" x2="${sx(d).toFixed(1)}" y1="${y - 4}" y2="${bottom}" stroke="#ddd"/>`);
      parts.push(
        `<text x="${sx(d).toFixed(1)}" y="${y - 6}" text-anchor="middle" font-size="9">${d >= 1000 ? `${d / 1000} s` : `${d} ms`}</text>`,
      );
    }
    for (const g of groups) {
      parts.push(`<text x="${x0}" y="${y + 10}">${esc(VM_SVG_LABELS[g.row] ?? VM_ROW_LABELS[g.row].replace(/`/g, ''))}</text>`);
      for (const b of g.bars) {
        const [dark, light] = VM_COLORS[b.kind] ?? VM_COLORS.docker;
        parts.push(`<rect x="${axisX}" y="${y}" width="${(sx(b.st.p99) - axisX).toFixed(1)}" height="${barH}" fill="${light}"/>`);
        parts.push(`<rect x="${axisX}" y="${y}" width="${(sx(b.st.p50) - axisX).toFixed(1)}" height="${barH}" fill="${dark}"/>`);
        parts.push(
          `<text x="${(sx(b.st.p99) + 4).toFixed(1)}" y="${y + 9}" font-size="9">${esc(`${b.kind}: ${ms(b.st.p50)} / ${ms(b.st.p99)}`)}</text>`,
        );
        y += barH + 2;
      }
      y += 8;
    }
  }
  const notes = [];
  let lx = x0;
  for (const t of cols) {
    const [dark, light] = VM_COLORS[t.kind] ?? VM_COLORS.docker;
    parts.push(
      `<rect x="${lx}" y="${y + 2}" width="10" height="10" fill="${dark}"/><rect x="${lx + 11}" y="${y + 2}" width="10" height="10" fill="${light}"/>`,
    );
    const label = `${t.label}${t.accel ? ` (${t.accel})` : ''}`;
    parts.push(`<text x="${lx + 26}" y="${y + 11}">${esc(label)}</text>`);
    lx += 40 + label.length * 6;
  }
  y += 30;
  // The chart keeps the first clause of a note; the report has the detail.
  const short = (note) => (note ?? 'not measured').replace(/ \(.*$/, '');
  notes.push(`Firecracker: ${vm.firecracker?.measured ? 'measured (purple)' : short(vm.firecracker?.note)}`);
  if (!vm.snapshot?.stats) notes.push(`Restore from snapshot: ${short(vm.snapshot?.note)}`);
  if (vm.gatewayNote)
    notes.push('Gateway, QEMU pool off: restored per call (faas serve has no setting to turn snapshots off), boot per call not measured');
  for (const n of notes) {
    parts.push(`<text x="${x0}" y="${y}" fill="#555">${esc(n)}</text>`);
    y += 16;
  }
  return { parts, height: y - top + 24 };
}

const COLORS = { cold: ['#4c78a8', '#9ecae9'], warm: ['#2ca02c', '#98df8a'], base: ['#666666', '#bbbbbb'] };

function rank(order, name) {
  const i = order.indexOf(name);
  return i < 0 ? order.length : i;
}

function niceCeil(v) {
  const p = 10 ** Math.floor(Math.log10(v));
  return [1, 2, 5, 10].map((m) => m * p).find((c) => c >= v);
}

function logTicks(lo, hi) {
  const ticks = [];
  for (let d = lo; d <= hi; d *= 10) for (const m of [1, 2, 5]) if (d * m <= hi) ticks.push(Math.round(d * m * 1000) / 1000);
  return ticks;
}
