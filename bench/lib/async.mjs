/**
 * Asynchronous invocations in the bench (`--only async`): how long `POST /functions/{id}/invoke`
 * with `Prefer: respond-async` takes to answer its 202 (the invocation committed to the queue),
 * and the sustained rate of accepted-and-completed asynchronous invocations next to the rate of
 * synchronous calls, on the same platform and function.
 *
 * Two platforms of their own, warm (reuse pool), FAAS_MAX_CONCURRENCY 8 and FAAS_ASYNC_CONCURRENCY
 * 8 (the worker may use every slot here, so the two rates compare the paths, not the fairness
 * share): one with the worker off measures acceptance alone; one with the worker on measures
 * acceptance while the worker runs what was accepted, then the two rates. The sync rate is
 * autocannon for `durationS`; the async rate is as many invocations, accepted by autocannon as
 * fast as it can, from the first request to the last completion (read from the worker's metrics).
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { authHeaders, startPlatform } from './platform.mjs';
import { baseEnv } from './platforms.mjs';
import { summarize } from './stats.mjs';

export const ASYNC_PLATFORM = {
  FAAS_POOL_MODE: 'reuse',
  FAAS_POOL_MIN_IDLE: '2',
  FAAS_POOL_MAX_IDLE: '16',
  FAAS_MAX_CONCURRENCY: '8',
  FAAS_ASYNC_CONCURRENCY: '8',
};
const ACCEPT_ONLY = { ...ASYNC_PLATFORM, FAAS_ASYNC_WORKER: 'off' };
const FUNCTION_ID = 'bench-async';
/** The acceptance goal of the issue: a 202 within 2 ms at the median. */
export const ACCEPT_P50_GOAL_MS = 2;

/** True when the build in `root` has asynchronous invocations (an older commit in compare.mjs may not). */
function hasAsync(root) {
  try {
    return readFileSync(join(root, 'common/src/config.ts'), 'utf8').includes('FAAS_ASYNC_WORKER');
  } catch {
    return false;
  }
}

function call(agent, url, path, { method = 'GET', body, headers = {} } = {}) {
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  const all = {
    ...authHeaders(),
    ...headers,
    ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}),
  };
  const target = new URL(path, url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: target.hostname, port: target.port, path: target.pathname + target.search, method, headers: all, agent },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

async function registerFunction(agent, url, command) {
  const res = await call(agent, url, '/functions', { method: 'POST', body: { id: FUNCTION_ID, image: 'faas/busybox:latest', command } });
  if (res.status !== 201) throw new Error(`registering ${FUNCTION_ID} answered ${res.status}: ${res.text.slice(0, 300)}`);
}

/** Sequential accepts on one keep-alive connection; the wall time of each, in ms. */
async function acceptLatency(agent, url, count, warmup) {
  const samples = [];
  for (let i = -warmup; i < count; i++) {
    const t0 = performance.now();
    const res = await call(agent, url, `/functions/${FUNCTION_ID}/invoke`, { method: 'POST', headers: { prefer: 'respond-async' } });
    const elapsed = performance.now() - t0;
    if (res.status !== 202) throw new Error(`an asynchronous invoke answered ${res.status}: ${res.text.slice(0, 300)}`);
    if (i >= 0) samples.push(elapsed);
  }
  return summarize(samples);
}

/** The worker's figures from /metrics. */
async function asyncFigures(agent, url) {
  const { text } = await call(agent, url, '/metrics');
  const read = (re) => Number(re.exec(text)?.[1] ?? Number.NaN);
  return {
    queued: read(/^faas_async_queue_depth (\S+)$/m),
    running: read(/^faas_async_running_invocations (\S+)$/m),
    succeeded: read(/^faas_async_attempts_total\{result="succeeded"\} (\S+)$/m) || 0,
  };
}

async function waitDrained(agent, url, succeededAtLeast, withinMs) {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const f = await asyncFigures(agent, url);
    if (f.queued === 0 && f.running === 0 && f.succeeded >= succeededAtLeast) return { at: performance.now(), ...f };
    if (Date.now() > deadline) throw new Error(`the asynchronous backlog did not drain within ${withinMs} ms: ${JSON.stringify(f)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function cannon(url, { connections, durationS, amount, async }) {
  return autocannon({
    url: `${url}/functions/${FUNCTION_ID}/invoke`,
    method: 'POST',
    headers: { ...authHeaders(), ...(async ? { prefer: 'respond-async' } : {}) },
    connections,
    ...(amount ? { amount } : { duration: durationS }),
    timeout: 60,
  });
}

/**
 * Runs the async section; returns { skipped } for a build without it. `accepts`: sequential
 * accepts measured per platform; `durationS`, `connections`: the sync load that sets the count.
 */
export async function measureAsync(ctx, { accepts, durationS, connections }, log) {
  if (!hasAsync(ctx.root)) return { skipped: 'this build has no asynchronous invocations' };
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const out = { settings: { accepts, durationS, connections, platform: ASYNC_PLATFORM }, errors: [] };
  try {
    log('async: acceptance alone (worker off)');
    const quiet = await startPlatform({ root: ctx.root, env: { ...baseEnv(false), ...ACCEPT_ONLY } });
    try {
      await registerFunction(agent, quiet.url, ['true']);
      out.acceptOnly = await acceptLatency(agent, quiet.url, accepts, Math.min(50, accepts));
    } finally {
      await quiet.stop();
      agent.destroy();
    }

    log('async: acceptance with the worker running, then sync and async rates');
    const busy = await startPlatform({ root: ctx.root, env: { ...baseEnv(false), ...ASYNC_PLATFORM } });
    const live = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      await registerFunction(live, busy.url, ['true']);
      // Warm sandboxes first: a cold start is not what either path is about.
      await cannon(busy.url, { connections, amount: connections * 4, async: false });
      out.acceptWithWorker = await acceptLatency(live, busy.url, accepts, Math.min(50, accepts));
      const before = await waitDrained(live, busy.url, accepts, 120_000);

      const sync = await cannon(busy.url, { connections, durationS, async: false });
      out.sync = {
        completed: sync['2xx'],
        non2xx: sync.non2xx,
        errors: sync.errors,
        seconds: sync.duration,
        perSecond: sync['2xx'] / sync.duration,
        latency: { p50: sync.latency.p50, p99: sync.latency.p99 },
      };
      const count = Math.max(1, sync['2xx']);
      const t0 = performance.now();
      const accepted = await cannon(busy.url, { connections, amount: count, async: true });
      const acceptedAt = performance.now();
      const drained = await waitDrained(live, busy.url, before.succeeded + accepted['2xx'], 300_000);
      const seconds = (drained.at - t0) / 1000;
      out.async = {
        accepted: accepted['2xx'],
        non2xx: accepted.non2xx,
        errors: accepted.errors,
        acceptSeconds: (acceptedAt - t0) / 1000,
        acceptPerSecond: accepted['2xx'] / ((acceptedAt - t0) / 1000),
        completed: drained.succeeded - before.succeeded,
        seconds,
        perSecond: (drained.succeeded - before.succeeded) / seconds,
        acceptLatency: { p50: accepted.latency.p50, p99: accepted.latency.p99 },
      };
    } finally {
      await busy.stop();
      live.destroy();
    }
  } catch (err) {
    out.errors.push(`async: ${err.message}`);
    log(`async failed: ${err.message}`);
  }
  return out;
}

const ms = (x) => (Number.isFinite(x) ? (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2)) : '-');

/** The acceptance goal of this section, in report.mjs's shape. */
export function asyncGoals(result) {
  if (!result) return [];
  return [
    {
      group: 'async',
      goal: `accept (202, committed) p50 <= ${ACCEPT_P50_GOAL_MS} ms, worker off`,
      value: result.acceptOnly?.p50 ?? Number.NaN,
      fmt: (v) => `${ms(v)} ms (worker running: ${ms(result.acceptWithWorker?.p50)} ms)`,
      ok: (v) => v <= ACCEPT_P50_GOAL_MS,
      unmeasured: result.skipped,
    },
  ];
}

export function renderAsyncMarkdown(result) {
  if (!result) return [];
  if (result.skipped) return ['## Asynchronous invocations', '', `Skipped: ${result.skipped}.`, ''];
  const { settings } = result;
  const row = (label, s) =>
    s
      ? `| ${label} | ${s.n} | ${ms(s.p50)} | ${ms(s.p90)} | ${ms(s.p99)} | ${ms(s.mean)} | ${ms(s.max)} |`
      : `| ${label} | - | - | - | - | - | - |`;
  const ratio = result.sync && result.async ? result.async.perSecond / result.sync.perSecond : Number.NaN;
  return [
    '## Asynchronous invocations',
    '',
    `Platform: ${Object.entries(settings.platform)
      .map(([k, v]) => `${k}=${v}`)
      .join(
        ' ',
      )}; a registered function running \`true\`. Accept: \`POST /functions/${FUNCTION_ID}/invoke\` with \`Prefer: respond-async\`, sequential on one keep-alive connection, ${settings.accepts} measured after a warm-up; the 202 leaves once the invocation is committed to the store.`,
    '',
    '| accept latency (ms) | n | p50 | p90 | p99 | mean | max |',
    '|---|--:|--:|--:|--:|--:|--:|',
    row('worker off (acceptance alone)', result.acceptOnly),
    row('worker on (running what it accepted)', result.acceptWithWorker),
    '',
    `Rates, ${settings.connections} connections: synchronous calls for ${settings.durationS} s; then as many asynchronous invocations, accepted as fast as autocannon sends them, timed from the first request to the last completion (the worker's metrics).`,
    '',
    '| path | invocations | seconds | completed/s | accepted/s | p50 ms | p99 ms | non-2xx | errors |',
    '|---|--:|--:|--:|--:|--:|--:|--:|--:|',
    result.sync
      ? `| synchronous | ${result.sync.completed} | ${result.sync.seconds.toFixed(1)} | ${result.sync.perSecond.toFixed(1)} | - | ${ms(result.sync.latency.p50)} | ${ms(result.sync.latency.p99)} | ${result.sync.non2xx} | ${result.sync.errors} |`
      : '| synchronous | not measured | | | | | | | |',
    result.async
      ? `| asynchronous (accepted and completed) | ${result.async.completed} | ${result.async.seconds.toFixed(1)} | ${result.async.perSecond.toFixed(1)} | ${result.async.acceptPerSecond.toFixed(0)} | ${ms(result.async.acceptLatency.p50)} (202) | ${ms(result.async.acceptLatency.p99)} (202) | ${result.async.non2xx} | ${result.async.errors} |`
      : '| asynchronous | not measured | | | | | | | |',
    '',
    Number.isFinite(ratio) ? `Asynchronous / synchronous completed rate: ${ratio.toFixed(2)}.` : '',
    '',
    ...(result.errors.length ? ['Errors:', '', ...result.errors.map((e) => `- ${e}`), ''] : []),
  ];
}
