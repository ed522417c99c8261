/**
 * The measuring loop of `bench/compare.mjs`: two platforms of the same mode (baseline and
 * candidate builds) called alternately, one call at a time, so that whatever else the machine does
 * lands on both. Pair i runs baseline then candidate when i is even and the other way round when it
 * is odd (ABBA), so neither build always follows the other. After every call, untimed, the platform
 * just called is let to finish what the call left behind (`settle`) before the other is called:
 *
 * - reuse: nothing in flight (the sandbox reset and the slot freed: both builds keep the slot until
 *   release is done) and no container of its own being created or torn down;
 * - single-use: the same, then at least FAAS_POOL_MIN_IDLE spares (running containers of that
 *   platform without an invocation label) and 50 ms more, as variants.mjs warmInvoke does; then the
 *   call is a miss, discarded and counted, if its invocation id showed up as the
 *   `dev.faas.invocation` label of a container the platform created (its cold path; spares carry no
 *   invocation label). Both builds label a one-shot sandbox with its invocation.
 * - off: the invocation's container removed, nothing in flight.
 *
 * Reuse calls are never discarded (a reuse miss of the baseline build carries no invocation label,
 * so the rule would not be symmetric); the containers a platform created during the measured calls
 * are counted instead, and a reuse run that creates any is visible in the report.
 */
import { authHeaders } from './platform.mjs';
import { waitSpares } from './variants.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls until `platform` has nothing running or queued and no container of its own not running. */
export async function waitPlatformIdle(engine, platform, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    // /ready is public; the key does no harm there (and a build without keys ignores it).
    const ready = await fetch(`${platform.url}/ready`, { headers: authHeaders(), signal: AbortSignal.timeout(2000) })
      .then((r) => r.json())
      .catch(() => undefined);
    const busy =
      !ready ||
      ready.running > 0 ||
      ready.queued > 0 ||
      (await engine.listByLabel(`dev.faas.pid=${platform.pid}`)).some((c) => c.State !== 'running');
    if (!busy) return true;
    await sleep(10);
  }
  return false;
}

/** Polls until no container carries `label`. */
async function waitGone(engine, label, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await engine.listByLabel(label)).length === 0) return true;
    await sleep(20);
  }
  return false;
}

/**
 * `sides`: [{ build, platform, inv }] with `platform` from startPlatform plus `oneShot` (a Set of the
 * invocation ids seen on created containers) and `creates` (a count), kept from the engine's events;
 * `inv` a gatewayInvoke. Returns per build { samples: [{ ms, orchestrator, invocation, pair }],
 * discarded, failures, creates }, plus errors.
 */
export async function measurePairs({ engine, mode, minIdle, sides, n, warmup, deadline, stopped, log }) {
  const ctx = { engine, platforms: new Map(sides.map((s) => [s.build, s.platform])) };
  const rec = new Map(sides.map((s) => [s.build, { samples: [], discarded: 0, failures: 0, creates: 0, settleTimeouts: 0 }]));
  const errors = [];
  const settle = async (side) => {
    const r = rec.get(side.build);
    if (mode === 'off' && side.inv.lastInvocation) {
      if (!(await waitGone(engine, `dev.faas.invocation=${side.inv.lastInvocation}`, 15_000))) r.settleTimeouts++;
    }
    if (!(await waitPlatformIdle(engine, side.platform, 15_000))) r.settleTimeouts++;
    if (mode === 'single-use') {
      await waitSpares(ctx, side.platform, minIdle, 15_000);
      await sleep(50);
      if (side.platform.oneShot.has(side.inv.lastInvocation)) return 'discard';
    }
  };
  let createsAtStart;
  let done = 0;
  const began = Date.now();
  for (let i = -warmup; i < n; i++) {
    if (Date.now() > deadline || stopped()) {
      errors.push(`${mode}: stopped after ${Math.max(0, i)} of ${n} pairs (${stopped() ? 'interrupted' : 'time bound reached'})`);
      break;
    }
    if (i === 0) createsAtStart = sides.map((s) => s.platform.creates);
    const order = i % 2 === 0 ? sides : [...sides].reverse();
    for (const side of order) {
      const r = rec.get(side.build);
      if (r.failures >= 5) continue;
      side.inv.lastInvocation = undefined;
      const t0 = performance.now();
      let sample;
      try {
        const marks = await side.inv.run();
        sample = { ms: performance.now() - t0, orchestrator: marks.orchestrator, invocation: side.inv.lastInvocation, pair: i };
      } catch (err) {
        r.failures++;
        errors.push(`${mode} ${side.build}: ${err.message}`);
        log(`${mode} ${side.build} failed: ${err.message}`);
      }
      let verdict;
      try {
        verdict = await settle(side);
      } catch (err) {
        errors.push(`${mode} ${side.build} settle: ${err.message}`);
      }
      if (!sample || i < 0) continue;
      if (verdict === 'discard') r.discarded++;
      else r.samples.push(sample);
    }
    if (i >= 0) done = i + 1;
    if (i >= 0 && (i + 1) % 50 === 0) log(`${mode}: ${i + 1}/${n} pairs (${((Date.now() - began) / 1000).toFixed(0)} s)`);
  }
  if (createsAtStart) {
    for (const [k, s] of sides.entries()) rec.get(s.build).creates = s.platform.creates - createsAtStart[k];
  }
  for (const [build, r] of rec) {
    if (r.settleTimeouts) errors.push(`${mode} ${build}: ${r.settleTimeouts} settle wait(s) ran out of time (15 s)`);
  }
  return { builds: rec, pairs: done, errors };
}

/** A small seeded PRNG (mulberry32), so a report's intervals can be reproduced from its samples. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * 95 % percentile-bootstrap intervals of candidate/baseline for each statistic of `stat(sample)`
 * (an object of numbers), resampling each build's samples independently `rounds` times.
 */
export function bootstrapRatios(base, cand, stat, rounds = 2000, seed = 1) {
  const rand = prng(seed);
  const resample = (xs) => Array.from(xs, () => xs[Math.floor(rand() * xs.length)]);
  const ratios = {};
  if (base.length < 2 || cand.length < 2) return ratios;
  for (let k = 0; k < rounds; k++) {
    const b = stat(resample(base));
    const c = stat(resample(cand));
    for (const key of Object.keys(b)) {
      if (!ratios[key]) ratios[key] = [];
      ratios[key].push(c[key] / b[key]);
    }
  }
  const out = {};
  for (const [key, xs] of Object.entries(ratios)) {
    xs.sort((x, y) => x - y);
    out[key] = [xs[Math.floor(0.025 * (xs.length - 1))], xs[Math.ceil(0.975 * (xs.length - 1))]];
  }
  return out;
}

/** candidate - baseline of the calls of the same pair, both kept. */
export function pairedDiffs(base, cand) {
  const byPair = new Map(base.map((s) => [s.pair, s.ms]));
  return cand.filter((s) => byPair.has(s.pair)).map((s) => s.ms - byPair.get(s.pair));
}
