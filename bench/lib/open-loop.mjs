/**
 * An open-loop load: calls sent at evenly spaced times (`rate` per second) over at most
 * `connections` keep-alive connections, whatever the answers do, and each call's latency measured
 * from the time it was due, not from when a connection was free (no coordinated omission: a
 * platform that falls behind shows it as latency). autocannon's `overallRate` paces each
 * connection on its own timer, so the connections fire together in bursts and wait for their
 * answers; this sends what a steady stream of independent callers would.
 *
 * Returns a record shaped like measureThroughput's levels (lib/throughput.mjs), with
 * `offeredRate` and `openLoop: true`.
 */
import http from 'node:http';
import { authHeaders } from './platform.mjs';
import { readCpuMs, readMachineCpuMs, sampleMemory } from './proc.mjs';

function percentile(sorted, p) {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

/** One run of `durationS` seconds at `rate` calls/s; `counters` as in measureThroughput. */
export async function openLoopLevel(ctx, platform, { rate, durationS, connections, functionId = 'bench', counters, label }) {
  const url = new URL(`${platform.url}/functions/${functionId}/invoke`);
  const body = JSON.stringify({ image: ctx.image, command: ctx.command });
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const headers = { ...authHeaders(), 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
  const latencies = [];
  let ok = 0;
  let non2xx = 0;
  let errors = 0;
  const poolBefore = counters ? await counters() : undefined;
  const memory = sampleMemory(platform.pid, 100);
  const cpu0 = { platform: readCpuMs(platform.pid), bench: process.cpuUsage(), machine: readMachineCpuMs() };
  const calls = Math.round(rate * durationS);
  const interval = 1000 / rate;
  const started = performance.now();
  const pending = [];
  for (let i = 0; i < calls && !ctx.stopped?.(); i++) {
    const due = started + i * interval;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    pending.push(
      new Promise((resolve) => {
        const req = http.request(
          { hostname: url.hostname, port: url.port, path: url.pathname, method: 'POST', agent, headers, timeout: 60_000 },
          (res) => {
            res.resume();
            res.on('end', () => {
              latencies.push(performance.now() - due);
              if (res.statusCode >= 200 && res.statusCode < 300) ok++;
              else non2xx++;
              resolve();
            });
          },
        );
        req.on('timeout', () => req.destroy(new Error('timeout')));
        req.on('error', () => {
          errors++;
          resolve();
        });
        req.end(body);
      }),
    );
  }
  await Promise.all(pending);
  const elapsedS = (performance.now() - started) / 1000;
  agent.destroy();
  const poolAfter = counters ? await counters() : undefined;
  const bench = process.cpuUsage(cpu0.bench);
  const machine = readMachineCpuMs();
  const mem = memory.stop();
  latencies.sort((a, b) => a - b);
  const requests = ok + non2xx + errors;
  return {
    label,
    platform: platform.name,
    connections,
    offeredRate: rate,
    openLoop: true,
    durationS,
    /** From the first call to the last answer: longer than durationS when the platform lagged. */
    elapsedS: Math.round(elapsedS * 10) / 10,
    requests,
    ok,
    non2xx,
    errors,
    timeouts: 0,
    // Answered calls per second of the offered window: `rate` when every call succeeded (how late
    // the answers came shows in the latency).
    reqPerSec: ok / durationS,
    latency: {
      p50: percentile(latencies, 0.5),
      p90: percentile(latencies, 0.9),
      p99: percentile(latencies, 0.99),
      mean: latencies.reduce((a, b) => a + b, 0) / Math.max(1, latencies.length),
    },
    memory: mem,
    cpu: {
      platformMsPerReq: (readCpuMs(platform.pid) - cpu0.platform) / Math.max(1, requests),
      benchMsPerReq: (bench.user + bench.system) / 1000 / Math.max(1, requests),
      machineBusy: (machine.busyMs - cpu0.machine.busyMs) / Math.max(1, machine.totalMs - cpu0.machine.totalMs),
    },
    pool: poolBefore && poolAfter ? { hits: poolAfter.hits - poolBefore.hits, misses: poolAfter.misses - poolBefore.misses } : undefined,
  };
}
