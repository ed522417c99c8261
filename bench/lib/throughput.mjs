/**
 * Sustained load: autocannon against the invoke endpoint at each concurrency for a fixed duration,
 * sampling the platform's RSS meanwhile. An optional unrecorded warm-up at the same concurrency
 * first (a reuse pool then holds one sandbox per connection before the clock starts). Between
 * levels the platform is let to finish removing its containers, so one level's cleanup does not
 * slow the next.
 */
import autocannon from 'autocannon';
import { authHeaders } from './platform.mjs';
import { readCpuMs, readMachineCpuMs, sampleMemory } from './proc.mjs';

function load(ctx, platform, { connections, durationS, functionId, executor, overallRate }) {
  return autocannon({
    url: `${platform.url}/functions/${functionId}/invoke`,
    method: 'POST',
    headers: { ...authHeaders(), 'content-type': 'application/json' },
    body: JSON.stringify({ image: ctx.image, command: ctx.command, ...(executor && executor !== 'docker' ? { executor } : {}) }),
    connections,
    duration: durationS,
    // An offered load (requests/s over all connections) instead of each connection sending its
    // next request as soon as the last one is answered.
    ...(overallRate ? { overallRate } : {}),
    // A cold invoke takes hundreds of ms and queues behind FAAS_MAX_CONCURRENCY: do not count slowness as errors.
    timeout: 60,
  });
}

/**
 * Returns one record per level. `platform.oneShot` (a Set of invocation ids, kept by run.mjs from the
 * engine's events) counts the invocations that took the cold path during a level of a pooled platform.
 * `executor`: the body's "executor" (e.g. gvisor; default none, the platform's own). `counters`: an
 * async function read right before and after each recorded level (the platform's pool hits and
 * misses from /metrics, lib/oci.mjs), its difference kept as `pool`. `overallRate`: an offered load in
 * requests/s over all connections (a level then measures latency at that rate; without it each
 * connection sends as fast as it is answered, which measures the most the platform serves).
 */
export async function measureThroughput(
  ctx,
  platform,
  { concurrencies, durationS, warmupS = 0, functionId = 'bench', executor, counters, log, label, overallRate },
) {
  const levels = [];
  for (const connections of concurrencies) {
    if (ctx.stopped?.()) break;
    if (warmupS > 0) {
      log(`throughput (${label}): warm-up, ${connections} connection(s) for ${warmupS} s`);
      await load(ctx, platform, { connections, durationS: warmupS, functionId, executor, overallRate });
      await ctx.waitPlatformIdle(platform, 60_000);
    }
    log(
      `throughput (${label}): ${connections} connection(s) for ${durationS} s${overallRate ? ` at ${overallRate} requests/s offered` : ''}`,
    );
    const oneShotBefore = platform.oneShot?.size ?? 0;
    const createsBefore = platform.creates ?? 0;
    const poolBefore = counters ? await counters() : undefined;
    const memory = sampleMemory(platform.pid, 100);
    const cpu0 = { platform: readCpuMs(platform.pid), bench: process.cpuUsage(), machine: readMachineCpuMs() };
    const result = await load(ctx, platform, { connections, durationS, functionId, executor, overallRate });
    const poolAfter = counters ? await counters() : undefined;
    const bench = process.cpuUsage(cpu0.bench);
    const machine = readMachineCpuMs();
    const mem = memory.stop();
    const ok = result['2xx'];
    levels.push({
      label,
      platform: platform.name,
      connections,
      offeredRate: overallRate,
      durationS: result.duration,
      requests: result.requests.total,
      ok,
      non2xx: result.non2xx,
      errors: result.errors,
      timeouts: result.timeouts,
      reqPerSec: ok / result.duration,
      latency: { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, mean: result.latency.mean },
      memory: mem,
      cpu: {
        // CPU the platform process (gateway, orchestrator, pool, agent clients) spent per answered request.
        platformMsPerReq: (readCpuMs(platform.pid) - cpu0.platform) / Math.max(1, result.requests.total),
        // The bench process itself runs autocannon: its share of the two cores is not the platform's.
        benchMsPerReq: (bench.user + bench.system) / 1000 / Math.max(1, result.requests.total),
        machineBusy: (machine.busyMs - cpu0.machine.busyMs) / Math.max(1, machine.totalMs - cpu0.machine.totalMs),
      },
      oneShot: platform.oneShot ? platform.oneShot.size - oneShotBefore : undefined,
      creates: platform.creates === undefined ? undefined : platform.creates - createsBefore,
      pool: poolBefore && poolAfter ? { hits: poolAfter.hits - poolBefore.hits, misses: poolAfter.misses - poolBefore.misses } : undefined,
    });
    await ctx.waitPlatformIdle(platform, 60_000);
  }
  return levels;
}
