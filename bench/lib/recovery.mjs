/**
 * Recovery after a Docker engine restart (`--only recovery`): the time from the engine answering
 * again to the first successful invocation, and to a full pool (every spare started again and
 * /ready no longer `rebuilding`), per pool mode; and what the invocation in flight during the
 * restart was answered.
 *
 * The engine restarted is one of the bench's own (tester/dist/support/engine.js: a second dockerd
 * with its own socket and state, the bench image copied in), stopped with SIGTERM as an operator's
 * restart does, so the host's engine, which the other phases use, is never touched. Each round: the
 * pool is full; an invocation running `sleep 5` is in flight; the engine is stopped, then started;
 * from the moment it answers /_ping, one invocation after another (`true`) until one succeeds,
 * then the pool is watched until it is full. Every invocation that fails after the engine answers
 * is counted: the goal is none.
 */
import { existsSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { authHeaders, startPlatform } from './platform.mjs';
import { summarize } from './stats.mjs';

const FUNCTION_ID = 'bench-recovery';
const MIN_IDLE = 2;
const MODES = ['single-use', 'reuse'];
/** Bound on each wait (first success, full pool, the engine's own restart). */
const WAIT_MS = 60_000;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Running containers of a platform process on an engine. */
function runningOf(socketPath, pid) {
  const filters = encodeURIComponent(JSON.stringify({ label: [`dev.faas.pid=${pid}`], status: ['running'] }));
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath, path: `/containers/json?filters=${filters}`, agent: false }, (res) => {
      let body = '';
      res.on('data', (c) => {
        body += c;
      });
      res.on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(body).length) : reject(new Error(`${res.statusCode} ${body}`))));
    });
    req.setTimeout(5000, () => req.destroy(new Error('listing containers timed out')));
    req.on('error', reject);
    req.end();
  });
}

async function invoke(url, command, timeoutMs = 30_000) {
  try {
    const res = await fetch(`${url}/functions/${FUNCTION_ID}/invoke`, {
      method: 'POST',
      headers: { ...authHeaders(), 'content-type': 'application/json' },
      body: JSON.stringify({ image: 'faas/busybox:latest', command, timeout_ms: timeoutMs }),
      signal: AbortSignal.timeout(timeoutMs + 30_000),
    });
    const body = await res.json().catch(() => ({}));
    return { status: res.status, body };
  } catch (err) {
    return { status: 0, body: { error: err.message } };
  }
}

async function ready(url) {
  try {
    const res = await fetch(`${url}/ready`, { headers: authHeaders(), signal: AbortSignal.timeout(2000) });
    return { status: res.status, body: await res.json() };
  } catch {
    return { status: 0, body: {} };
  }
}

/** Waits until the pool holds MIN_IDLE spares and /ready says it is not rebuilding; ms, or NaN. */
async function fullPool(p, socket, since) {
  const deadline = since + WAIT_MS;
  while (performance.now() < deadline) {
    const r = await ready(p.url);
    // A build without the field (an older commit) is judged by its spares alone.
    if (r.status === 200 && r.body.rebuilding !== true && (await runningOf(socket, p.pid).catch(() => 0)) >= MIN_IDLE) {
      return performance.now() - since;
    }
    await sleep(25);
  }
  return Number.NaN;
}

/** The bench's own engine, or why there is none (a build without it, not root, no dockerd). */
async function privateEngine(root) {
  const path = join(root, 'tester/dist/support/engine.js');
  if (!existsSync(path)) return { skipped: 'this build has no private engine for fault tests (tester/dist/support/engine.js)' };
  const { PrivateEngine, privateEngineUnavailableReason } = await import(pathToFileURL(path).href);
  const why = privateEngineUnavailableReason();
  if (why) return { skipped: why };
  return { engine: await PrivateEngine.start(['faas/busybox:latest']) };
}

export async function measureRecovery(ctx, { rounds }, log) {
  const { engine, skipped } = await privateEngine(ctx.root).catch((err) => ({
    skipped: `the private engine did not start: ${err.message}`,
  }));
  if (!engine) {
    log(`recovery: skipped: ${skipped}`);
    return { skipped };
  }
  const result = { settings: { rounds, minIdle: MIN_IDLE }, modes: [], errors: [] };
  try {
    for (const mode of MODES) {
      if (ctx.stopped()) break;
      const env = { FAAS_EXECUTOR_TYPE: 'docker', FAAS_POOL_MODE: mode, FAAS_POOL_MIN_IDLE: String(MIN_IDLE), DOCKER_HOST: engine.host };
      log(`recovery: ${mode}: ${rounds} engine restart(s) under a platform on the bench's own engine`);
      const p = await startPlatform({ root: ctx.root, env });
      const row = { mode, firstOk: [], full: [], inFlight: [], failedAfterUp: 0, restartMs: [] };
      try {
        const warm = await invoke(p.url, ['true']);
        if (warm.status !== 200) throw new Error(`the first invocation answered ${warm.status}: ${JSON.stringify(warm.body)}`);
        for (let round = 0; round < rounds && !ctx.stopped(); round++) {
          if (Number.isNaN(await fullPool(p, engine.socket, performance.now()))) throw new Error('the pool never filled before a restart');
          const inFlight = invoke(p.url, ['sh', '-c', 'sleep 5']);
          await sleep(1000);
          const stopping = performance.now();
          try {
            await engine.down();
          } finally {
            await engine.up();
          }
          const answering = performance.now();
          row.restartMs.push(answering - stopping);
          const answer = await inFlight;
          row.inFlight.push(
            answer.status === 200
              ? `200 exit ${answer.body.exit_code}`
              : `${answer.status} ${answer.body.code ?? answer.body.error}${answer.body.started === undefined ? '' : ` started=${answer.body.started}`}`,
          );
          let firstOk = Number.NaN;
          while (performance.now() - answering < WAIT_MS) {
            const r = await invoke(p.url, ['true']);
            if (r.status === 200 && r.body.exit_code === 0) {
              firstOk = performance.now() - answering;
              break;
            }
            row.failedAfterUp++;
            result.errors.push(
              `recovery ${mode}: an invocation after the engine answered got ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`,
            );
            await sleep(20);
          }
          row.firstOk.push(firstOk);
          row.full.push(await fullPool(p, engine.socket, answering));
        }
      } catch (err) {
        result.errors.push(`recovery ${mode}: ${err.message}`);
      } finally {
        await p.stop();
      }
      result.modes.push({
        ...row,
        firstOkStats: summarize(row.firstOk.filter(Number.isFinite)),
        fullStats: summarize(row.full.filter(Number.isFinite)),
        restartStats: summarize(row.restartMs),
      });
    }
  } finally {
    await engine.dispose();
  }
  return result;
}

const ms = (x) => (Number.isFinite(x) ? (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2)) : '-');

export function recoveryGoals(result) {
  if (!result) return [];
  const failed = (result.modes ?? []).reduce((n, m) => n + m.failedAfterUp, 0);
  return [
    {
      group: 'recovery',
      goal: 'no invocation fails once the Docker engine answers again',
      value: result.skipped ? Number.NaN : failed,
      fmt: (v) => `${v} failed`,
      ok: (v) => v === 0,
      unmeasured: result.skipped,
    },
  ];
}

export function renderRecoveryMarkdown(result) {
  if (!result) return [];
  if (result.skipped) return ['## Recovery after a Docker engine restart', '', `Skipped: ${result.skipped}.`, ''];
  const { settings } = result;
  return [
    '## Recovery after a Docker engine restart',
    '',
    `A platform (\`FAAS_POOL_MIN_IDLE=${settings.minIdle}\`) on a Docker engine of the bench's own, stopped with SIGTERM and started again ${settings.rounds} time(s) per pool mode with an invocation (\`sleep 5\`) in flight. Times are from the engine answering \`/_ping\` again: to the first successful invocation, and to a full pool (${settings.minIdle} spares running, \`/ready\` not \`rebuilding\`). Medians, with the largest in brackets.`,
    '',
    '| pool mode | engine stop to answering (s) | to first success (ms) | to full pool (ms) | failed after it answered | answer of the invocation in flight |',
    '|---|--:|--:|--:|--:|---|',
    ...result.modes.map(
      (m) =>
        `| ${m.mode} | ${(m.restartStats.p50 / 1000).toFixed(1)} | ${ms(m.firstOkStats.p50)} (${ms(m.firstOkStats.max)}) | ${ms(m.fullStats.p50)} (${ms(m.fullStats.max)}) | ${m.failedAfterUp} | ${[...new Set(m.inFlight)].join('; ')} |`,
    ),
    '',
  ];
}
