/**
 * Sustained load: autocannon against the invoke endpoint at each concurrency for a fixed duration,
 * sampling the platform's RSS meanwhile. Between levels the platform is let to finish removing
 * its containers, so one level's cleanup does not slow the next.
 */
import autocannon from 'autocannon';
import { sampleMemory } from './proc.mjs';

export async function measureThroughput(ctx, platform, { concurrencies, durationS, log }) {
  const body = JSON.stringify({ image: ctx.image, command: ctx.command });
  const levels = [];
  for (const connections of concurrencies) {
    log(`throughput: ${connections} connection(s) for ${durationS} s`);
    const memory = sampleMemory(platform.pid, 100);
    const result = await autocannon({
      url: `${platform.url}/functions/bench/invoke`,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      connections,
      duration: durationS,
      // A cold invoke takes hundreds of ms and queues behind FAAS_MAX_CONCURRENCY: do not count slowness as errors.
      timeout: 60,
    });
    const mem = memory.stop();
    const ok = result['2xx'];
    levels.push({
      connections,
      durationS: result.duration,
      requests: result.requests.total,
      ok,
      non2xx: result.non2xx,
      errors: result.errors,
      timeouts: result.timeouts,
      reqPerSec: ok / result.duration,
      latency: { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, mean: result.latency.mean },
      memory: mem,
    });
    await ctx.waitPlatformIdle(platform, 60_000);
  }
  return levels;
}
