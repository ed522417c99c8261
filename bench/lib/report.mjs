/** Renders one run's results as Markdown (stdout and bench/results/) and as a hand-written SVG chart. */
import { machineLine } from './machine.mjs';

const ms = (x) => (Number.isFinite(x) ? (x >= 100 ? x.toFixed(0) : x.toFixed(1)) : '-');
const mib = (kb) => (Number.isFinite(kb) ? (kb / 1024).toFixed(1) : '-');
const ratio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? a / b : Number.NaN);
const fmtRatio = (r) => (Number.isFinite(r) ? `${r.toFixed(2)}x` : '-');

/** Acceptance bounds of the foundation: gateway cold p50 against each baseline's p50. */
export const ACCEPTANCE = [
  { platform: 'gateway-docker', baseline: 'docker-run', op: '<', bound: 0.7 },
  { platform: 'gateway-docker', baseline: 'api-lifecycle', op: '<=', bound: 1.15 },
];

/** Which baselines each platform variant is compared with. */
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
  'gateway-gvisor': ['docker-run-runsc', 'docker-run', 'api-lifecycle'],
};

export function acceptance(cold) {
  return ACCEPTANCE.map((a) => {
    const value = ratio(cold.get(a.platform)?.stats.p50, cold.get(a.baseline)?.stats.p50);
    const pass = a.op === '<' ? value < a.bound : value <= a.bound;
    return { ...a, value, pass: Number.isFinite(value) ? pass : undefined };
  });
}

export function renderMarkdown(run) {
  const { machine, settings, cold, throughput, memory } = run;
  const out = [`# faas bench, ${machine.date}`, '', `Machine: ${machineLine(machine)}.`, ''];
  const gvisorNote =
    settings.gvisorEvery > 1 && cold?.has('gateway-gvisor') ? ` (gVisor variants in 1 of every ${settings.gvisorEvery} rounds)` : '';
  out.push(
    `Workload: \`${settings.command.join(' ')}\` on \`${settings.image}\`.` +
      (cold ? ` Cold: ${settings.iterations} round-robin rounds after ${settings.warmup} warm-up rounds${gvisorNote}.` : '') +
      (throughput ? ` Throughput: ${settings.durationS} s per concurrency.` : ''),
    '',
  );
  if (cold) {
    out.push(
      '## Cold invocation latency (ms)',
      '',
      '| variant | n | p50 | p90 | p99 | mean | min | max | failed |',
      '|---|--:|--:|--:|--:|--:|--:|--:|--:|',
    );
    for (const [name, v] of cold) {
      const s = v.stats;
      out.push(
        `| ${name} | ${s.n} | ${ms(s.p50)} | ${ms(s.p90)} | ${ms(s.p99)} | ${ms(s.mean)} | ${ms(s.min)} | ${ms(s.max)} | ${v.failures} |`,
      );
    }
    out.push(
      '',
      '## Ratios (platform / baseline; below 1 means the platform is faster)',
      '',
      '| platform | baseline | p50 ratio | p99 ratio |',
      '|---|---|--:|--:|',
    );
    for (const [platform, baselines] of Object.entries(COMPARE)) {
      const p = cold.get(platform)?.stats;
      if (!p) continue;
      for (const b of baselines) {
        const s = cold.get(b)?.stats;
        if (s) out.push(`| ${platform} | ${b} | ${fmtRatio(ratio(p.p50, s.p50))} | ${fmtRatio(ratio(p.p99, s.p99))} |`);
      }
    }
    out.push('', '## Acceptance', '');
    for (const a of acceptance(cold)) {
      const verdict = a.pass === undefined ? 'not measured' : a.pass ? 'PASS' : 'FAIL';
      out.push(`- ${a.platform} p50 / ${a.baseline} p50 = ${fmtRatio(a.value)} (must be ${a.op} ${a.bound}): **${verdict}**`);
    }
    out.push('', '### Variants', '');
    for (const v of run.variants) out.push(`- \`${v.name}\`: ${v.description}`);
    out.push(
      '- `(to-exit)` rows: the same runs, timed up to the container having exited, before its removal (the gateway answers at this point too).',
    );
    out.push('');
  }
  if (throughput) {
    out.push(
      '## Throughput (`gateway-docker`, platform "cold": FAAS_POOL_MODE=off, autocannon)',
      '',
      '| connections | req/s (2xx) | p50 ms | p90 ms | p99 ms | 2xx | non-2xx | errors | timeouts | RSS max MiB | RSS mean MiB | VmHWM MiB |',
      '|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
    );
    for (const l of throughput) {
      out.push(
        `| ${l.connections} | ${l.reqPerSec.toFixed(2)} | ${ms(l.latency.p50)} | ${ms(l.latency.p90)} | ${ms(l.latency.p99)} | ${l.ok} | ${l.non2xx} | ${l.errors} | ${l.timeouts} | ${mib(l.memory.maxRssKb)} | ${mib(l.memory.meanRssKb)} | ${mib(l.memory.hwmKb)} |`,
      );
    }
    out.push('');
  }
  out.push('## Platform memory (each `faas serve` process, /proc/<pid>/status)', '', '| when | VmRSS MiB | VmHWM MiB |', '|---|--:|--:|');
  for (const [when, m] of memory) out.push(`| ${when} | ${mib(m.rssKb)} | ${mib(m.hwmKb)} |`);
  out.push('');
  if (run.errors.length) out.push('## Errors', '', ...run.errors.map((e) => `- ${e}`), '');
  return out.join('\n');
}

/** Grouped bars of p50 and p99 per variant; a log axis when the values span more than 20x. */
export function renderSvg(run) {
  const rows = [...(run.cold ?? new Map())]
    .filter(([name]) => !name.includes('('))
    .map(([name, v]) => ({ name, p50: v.stats.p50, p99: v.stats.p99 }));
  const values = rows.flatMap((r) => [r.p50, r.p99]).filter((x) => Number.isFinite(x) && x > 0);
  const width = 120 + rows.length * 90;
  const height = 380;
  const plot = { x: 70, y: 50, w: width - 100, h: 230 };
  const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="14">faas cold invoke vs baselines: p50 / p99 (ms)</text>`,
    `<text x="${width / 2}" y="36" text-anchor="middle" fill="#555">${esc(machineLine(run.machine))}</text>`,
  ];
  if (values.length === 0) return `${parts.join('\n')}\n</svg>\n`;
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
    for (const [j, key, color] of [
      [0, 'p50', '#4c78a8'],
      [1, 'p99', '#f58518'],
    ]) {
      const v = r[key];
      if (!Number.isFinite(v) || v <= 0) continue;
      const x = cx - bar + j * bar;
      const top = y(Math.max(v, log ? lo : 0));
      parts.push(
        `<rect x="${x.toFixed(1)}" y="${top.toFixed(1)}" width="${bar.toFixed(1)}" height="${(plot.y + plot.h - top).toFixed(1)}" fill="${color}"/>`,
      );
      parts.push(`<text x="${(x + bar / 2).toFixed(1)}" y="${(top - 3).toFixed(1)}" text-anchor="middle" font-size="9">${ms(v)}</text>`);
    }
    parts.push(`<text transform="translate(${cx.toFixed(1)} ${plot.y + plot.h + 12}) rotate(30)" font-size="10">${esc(r.name)}</text>`);
  });
  parts.push(`<line x1="${plot.x}" x2="${plot.x}" y1="${plot.y}" y2="${plot.y + plot.h}" stroke="#333"/>`);
  parts.push(`<line x1="${plot.x}" x2="${plot.x + plot.w}" y1="${plot.y + plot.h}" y2="${plot.y + plot.h}" stroke="#333"/>`);
  const ly = height - 14;
  parts.push(`<rect x="${plot.x}" y="${ly - 9}" width="10" height="10" fill="#4c78a8"/><text x="${plot.x + 14}" y="${ly}">p50</text>`);
  parts.push(`<rect x="${plot.x + 50}" y="${ly - 9}" width="10" height="10" fill="#f58518"/><text x="${plot.x + 64}" y="${ly}">p99</text>`);
  parts.push('</svg>', '');
  return parts.join('\n');
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
