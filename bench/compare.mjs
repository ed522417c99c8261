#!/usr/bin/env node
/**
 * `node bench/compare.mjs --baseline <ref>`: warm invocation latency of this checkout (the
 * candidate) side by side with another commit (the baseline), so a change to the invocation path can
 * show that it does not slow warm calls down. The baseline is built in a temporary git worktree
 * outside the repository (lib/worktree.mjs); for each mode (reuse, single-use, optionally off, and
 * registered: a function registered with POST /functions on a reuse platform) both
 * builds run as `faas serve` at once and are called alternately, one call at a time, so machine
 * noise hits both alike (lib/paired.mjs). Prints a Markdown table (p50, p90, p99, mean per build and
 * mode, and candidate / baseline) and writes it to bench/results/compare-<date>.md. No verdict on
 * timings: the numbers are for a reader. Everything it starts is stopped and removed at the end.
 * See bench/README.md.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { analyse, renderCompare } from './lib/compare-report.mjs';
import { Engine } from './lib/docker.mjs';
import { describeMachine } from './lib/machine.mjs';
import { measurePairs, waitPlatformIdle } from './lib/paired.mjs';
import { startPlatform } from './lib/platform.mjs';
import { baseEnv, PLATFORMS } from './lib/platforms.mjs';
import { gatewayInvoke, REGISTERED_ID, registerFunction } from './lib/variants.mjs';
import {
  defaultBaseline,
  describeCheckout,
  prepareTree,
  removeStaleTrees,
  removeTree,
  resolveRef,
  runCommand,
  worktreeListed,
} from './lib/worktree.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const MODES = ['reuse', 'registered', 'single-use', 'off'];
const DEFAULT_N = { reuse: 300, registered: 300, 'single-use': 200, off: 40 };
const USAGE = `usage: node bench/compare.mjs [--baseline <git-ref>] [options]

  --baseline REF       the commit to compare with (default: git merge-base HEAD main, i.e. where this
                       branch left main; on main itself that is HEAD, so local changes are compared
                       with HEAD). Any ref git knows: a hash, a branch, HEAD~3, a tag.
  --modes LIST         reuse, registered, single-use, off (default reuse,single-use; off = pool
                       off, a cold container per call; registered = the reuse platform, calls to
                       a function registered once with POST /functions, body {}; skipped with one
                       line when either build answers 404 there)
  --reuse N            measured calls per build in reuse mode (default 300)
  --registered N       measured calls per build in registered mode (default 300)
  --single-use N       measured calls per build in single-use mode (default 200)
  --off N              measured calls per build with the pool off (default 40)
  --warmup N           unrecorded calls per build and mode first (default 20)
  --log-level LEVEL    FAAS_LOG_LEVEL of both builds (default info: the platform's default, and
                       where the gateway logs each invocation's phases; warn measures without it)
  --max-minutes M      bound on the measuring loops of all modes together (default 15)
  --no-build           do not run \`npx tsc -b\` in this checkout first (it is measured as built)
  --no-write           print only; write nothing under bench/results/

Both builds run at once, one pair of \`faas serve\` processes per mode, and are called in turns.
Each gets a temporary FAAS_DATA_DIR and the run's random FAAS_ADMIN_KEY where it knows them (an
older build that does not is started without them, and ignores the key the calls carry).`;

const log = (msg) => process.stderr.write(`compare: ${msg}\n`);
const IMAGE = 'faas/busybox:latest';
const COMMAND = ['true'];

class UsageError extends Error {}

function options(argv) {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        baseline: { type: 'string' },
        modes: { type: 'string' },
        reuse: { type: 'string' },
        registered: { type: 'string' },
        'single-use': { type: 'string' },
        off: { type: 'string' },
        warmup: { type: 'string' },
        'log-level': { type: 'string' },
        'max-minutes': { type: 'string' },
        'no-build': { type: 'boolean', default: false },
        'no-write': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (err) {
    throw new UsageError(err.message);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const int = (name, fallback, min, max) => {
    const raw = values[name];
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name}=${raw}: use an integer from ${min} to ${max}`);
    return n;
  };
  const modes = (values.modes ?? 'reuse,single-use')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const m of modes) if (!MODES.includes(m)) throw new UsageError(`--modes ${m}: use ${MODES.join(', ')}`);
  if (modes.length === 0) throw new UsageError('--modes: name at least one mode');
  const logLevel = values['log-level'] ?? 'info';
  if (!/^[a-z]+$/.test(logLevel)) throw new UsageError(`--log-level ${logLevel}: use trace, debug, info, warn, error or off`);
  return {
    baseline: values.baseline,
    modes: MODES.filter((m) => modes.includes(m)),
    n: Object.fromEntries(MODES.map((m) => [m, int(m, DEFAULT_N[m], 1, 100_000)])),
    warmup: int('warmup', 20, 0, 10_000),
    logLevel,
    maxMinutes: int('max-minutes', 15, 1, 240),
    build: !values['no-build'],
    write: !values['no-write'],
  };
}

/** What one mode's platforms get: the bench's settings for that mode, docker executor, the log level. */
function modeEnv(mode, logLevel) {
  const name = mode === 'off' ? 'cold' : mode === 'registered' ? 'reuse' : mode;
  return { ...baseEnv(false), ...PLATFORMS[name], FAAS_LOG_LEVEL: logLevel };
}

async function main() {
  const wallStart = performance.now();
  const opts = options(process.argv.slice(2));
  let interrupted = false;
  const onSignal = (sig) => {
    if (interrupted) process.exit(130);
    interrupted = true;
    log(`${sig}: finishing the current call and cleaning up (again to exit now)`);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const engine = new Engine();
  const ping = await engine.request('GET', '/_ping', undefined, 5000).catch((err) => ({ status: 0, body: err.message }));
  if (ping.status !== 200) throw new Error(`Docker engine not reachable on ${engine.socketPath}: ${ping.body}`);

  const run = {
    command: `node bench/compare.mjs ${process.argv.slice(2).join(' ')}`.trim(),
    startedAt: new Date().toISOString(),
    machine: describeMachine(ROOT),
    load: { start: os.loadavg() },
    settings: { warmup: opts.warmup, logLevel: opts.logLevel },
    modes: [],
    skipped: [],
    logs: new Map([
      ['baseline', new Map()],
      ['candidate', new Map()],
    ]),
    errors: [],
    cleanup: { platforms: [] },
  };
  const stale = await removeStaleTrees(ROOT);
  if (stale.length) log(`removed ${stale.length} compare folder(s) of earlier runs that had died`);
  run.cleanup.stale = stale;

  const ref = opts.baseline ?? (await defaultBaseline(ROOT));
  const baseline = await resolveRef(ROOT, ref);
  const candidate = await describeCheckout(ROOT);
  run.builds = { baseline: { ...baseline, ref: opts.baseline ?? `merge-base HEAD main (${baseline.short})` }, candidate };
  log(`baseline ${baseline.short} "${baseline.subject}"; candidate ${candidate.short}${candidate.dirty ? ' + local changes' : ''}`);
  if (baseline.sha === candidate.sha && !candidate.dirty) log('baseline and candidate are the same code: this run shows the noise floor');
  if (candidate.inProgress) log('note: a rebase or merge is in progress in this checkout; the candidate is its working tree as it is');

  let tree;
  const live = [];
  const watchers = [];
  try {
    if (opts.build) {
      log('candidate: npx tsc -b');
      await runCommand('npx', ['tsc', '-b'], { cwd: ROOT, timeoutMs: 600_000 });
    }
    tree = await prepareTree(ROOT, baseline.sha, { log }).catch((err) => {
      if (err.dir) tree = { dir: err.dir };
      throw err;
    });
    run.builds.baseline.buildMs = tree.buildMs;
    const roots = { baseline: tree.tree, candidate: ROOT };
    const deadline = Date.now() + opts.maxMinutes * 60_000;

    for (const mode of opts.modes) {
      if (interrupted) break;
      const env = modeEnv(mode, opts.logLevel);
      const ctx = { image: IMAGE, command: COMMAND, engine, platforms: new Map() };
      const sides = [];
      for (const build of ['baseline', 'candidate']) {
        const logs = run.logs.get(build);
        const p = await startPlatform({
          root: roots[build],
          env,
          onStdoutLine: (line) => {
            if (!line.includes('invocation finished')) return;
            try {
              const e = JSON.parse(line);
              if (e.invocationId) logs.set(e.invocationId, { durationMs: e.durationMs, phases: e.phases });
            } catch {}
          },
        });
        p.name = `${mode} ${build}`;
        p.oneShot = new Set();
        p.creates = 0;
        live.push({ mode, build, p });
        const filters = { type: ['container'], event: ['create'], label: [`dev.faas.pid=${p.pid}`] };
        watchers.push(
          await engine.watchEvents(filters, (e) => {
            p.creates++;
            const invocation = e.Actor?.Attributes?.['dev.faas.invocation'];
            if (invocation) p.oneShot.add(invocation);
          }),
        );
        ctx.platforms.set(build, p);
        const registered = mode === 'registered' ? { functionId: REGISTERED_ID, registered: true } : {};
        sides.push({ build, platform: p, inv: gatewayInvoke(ctx, 'docker', build, registered) });
      }
      if (mode === 'registered') {
        // Registered once per platform; the warm-up calls then create its pool entry.
        const unsupported = [];
        for (const s of sides) {
          const outcome = await registerFunction(s.platform.url, { image: IMAGE, command: COMMAND, poolMode: 'reuse' });
          if (outcome === 'unsupported') unsupported.push(s.build);
        }
        if (unsupported.length) {
          const reason = `${unsupported.join(' and ')} answered 404 to POST /functions (cannot register functions)`;
          log(`registered: skipped: ${reason}`);
          run.skipped.push({ mode, reason });
          for (const s of sides) await s.inv.teardown();
          for (const entry of live.splice(0)) await stopAndCheck(engine, entry, run);
          continue;
        }
      }
      for (const s of sides) await waitPlatformIdle(engine, s.platform, 30_000);
      log(`${mode}: ${opts.warmup} warm-up + ${opts.n[mode]} measured calls per build, alternating`);
      const out = await measurePairs({
        engine,
        mode,
        minIdle: Number(env.FAAS_POOL_MIN_IDLE ?? 0),
        sides,
        n: opts.n[mode],
        warmup: opts.warmup,
        deadline,
        stopped: () => interrupted,
        log,
      });
      run.errors.push(...out.errors);
      run.modes.push({
        mode,
        env: Object.fromEntries(Object.entries(env).filter(([k]) => k !== 'FAAS_LOG_LEVEL')),
        n: opts.n[mode],
        ...out,
      });
      for (const s of sides) await s.inv.teardown();
      // One mode's platforms are stopped before the next mode's start: only two run at a time.
      for (const entry of live.splice(0)) await stopAndCheck(engine, entry, run);
    }
  } finally {
    for (const w of watchers) w.close();
    for (const entry of live.splice(0)) await stopAndCheck(engine, entry, run).catch((err) => run.errors.push(err.message));
    if (tree?.dir) {
      const gone = await removeTree(ROOT, tree.dir).catch((err) => {
        run.errors.push(`worktree removal: ${err.message}`);
        return false;
      });
      const listed = await worktreeListed(ROOT, tree.dir);
      run.cleanup.tree = `${tree.dir} ${gone && !listed ? 'removed' : 'NOT fully removed'} (git worktree remove --force)`;
      if (!gone || listed) run.errors.push(`baseline worktree ${tree.dir} is still there`);
    }
    engine.close();
  }

  run.load.end = os.loadavg();
  run.wallMs = performance.now() - wallStart;
  analyse(run);
  const markdown = renderCompare(run);
  process.stdout.write(`${markdown}\n`);
  if (opts.write) {
    const dir = join(ROOT, 'bench/results');
    mkdirSync(dir, { recursive: true });
    const file = `compare-${run.startedAt.replace(/[:.]/g, '-')}.md`;
    writeFileSync(join(dir, file), `${markdown}\n`);
    log(`wrote bench/results/${file}`);
  }
  const failed = run.modes.some((m) => [...m.builds.values()].some((r) => r.failures > 0));
  const left = run.cleanup.platforms.some((p) => p.left > 0) || /NOT/.test(run.cleanup.tree ?? '');
  if (failed || left || interrupted) process.exitCode = 1;
}

/** SIGTERM (the platform drains and removes its sandboxes), then removes and counts what is left. */
async function stopAndCheck(engine, { mode, build, p }, run) {
  await p.stop();
  const leaked = await engine.removeByLabel(`dev.faas.pid=${p.pid}`);
  if (leaked) run.errors.push(`${mode} ${build} left ${leaked} container(s) behind after SIGTERM (removed by the bench)`);
  const left = (await engine.listByLabel(`dev.faas.pid=${p.pid}`)).length;
  run.cleanup.platforms.push({ mode, build, pid: p.pid, leaked, left });
}

main().catch((err) => {
  if (err instanceof UsageError) log(`${err.message}\n\n${USAGE}`);
  else log(err.stack ?? err.message);
  process.exitCode = 2;
});
