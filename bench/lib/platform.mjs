/**
 * Starts the real platform (`faas serve`, i.e. node bin/dist/main.js serve) as a child process on a
 * free loopback port, so the bench measures the shipped gateway and its RSS is that process's alone.
 *
 * Every platform gets the bench's admin key (FAAS_ADMIN_KEY, one random key per bench process:
 * BENCH_ADMIN_KEY, sent by every request as `authorization: Bearer <key>`, see authHeaders) and a
 * state folder of its own (FAAS_DATA_DIR, `$TMPDIR/faas-bench-data-XXXXXX/data`, removed when the
 * platform has stopped; one whose owner is gone is removed by the next bench). A build that does
 * not know one of these variables (an older commit in bench/compare.mjs: the platform refuses
 * unknown FAAS_* variables at start-up) gets neither from the bench nor from the caller; it has no
 * API keys, and ignores the header.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The admin key of every platform this bench process starts: 64 hex digits, new per run. */
export const BENCH_ADMIN_KEY = randomBytes(32).toString('hex');

/** The header every request of the bench to a platform carries (public routes ignore it). */
export function authHeaders() {
  return { authorization: `Bearer ${BENCH_ADMIN_KEY}` };
}

/** The variables the bench sets for the platform's state and keys, where the build knows them. */
const STATE_VARIABLES = ['FAAS_ADMIN_KEY', 'FAAS_DATA_DIR'];
const DATA_PREFIX = 'faas-bench-data-';
const known = new Map();

/**
 * Which of STATE_VARIABLES the build in `root` accepts: the names its configuration source
 * (common/src/config.ts, or any .ts file under common/src when that file has moved) mentions.
 */
export function stateVariablesOf(root) {
  if (known.has(root)) return known.get(root);
  const dir = join(root, 'common/src');
  let text = '';
  try {
    text = readFileSync(join(dir, 'config.ts'), 'utf8');
  } catch {
    try {
      for (const f of readdirSync(dir, { recursive: true }))
        if (String(f).endsWith('.ts')) text += readFileSync(join(dir, String(f)), 'utf8');
    } catch {}
  }
  const names = STATE_VARIABLES.filter((name) => new RegExp(`\\b${name}\\b`).test(text));
  known.set(root, names);
  return names;
}

/** Removes state folders of earlier bench processes that are gone (killed before their cleanup). */
function removeStaleData() {
  let names = [];
  try {
    names = readdirSync(tmpdir()).filter((n) => n.startsWith(DATA_PREFIX));
  } catch {}
  for (const name of names) {
    const dir = join(tmpdir(), name);
    let owner = Number.NaN;
    try {
      owner = Number(readFileSync(join(dir, 'owner.pid'), 'utf8'));
    } catch {}
    if (Number.isInteger(owner) && alive(owner)) continue;
    rmSync(dir, { recursive: true, force: true });
  }
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

let staleChecked = false;

/** A fresh folder for one platform: `dir` (removed at stop) holds owner.pid and `data` (FAAS_DATA_DIR). */
function makeDataDir() {
  if (!staleChecked) {
    staleChecked = true;
    removeStaleData();
  }
  const dir = mkdtempSync(join(tmpdir(), DATA_PREFIX));
  writeFileSync(join(dir, 'owner.pid'), String(process.pid));
  const data = join(dir, 'data');
  mkdirSync(data, { mode: 0o700 });
  return { dir, data };
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * The child's environment: the caller's FAAS_* settings pass through (so a bench can be run against
 * a tuned configuration), except the bench's own FAAS_BENCH_* knobs, which the platform would
 * reject as unknown variables.
 */
function platformEnv(port, extra, state, knownState) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('FAAS_BENCH_')) env[k] = v;
  const out = { ...env, FAAS_LOG_LEVEL: 'warn', FAAS_GATEWAY_HOST: '127.0.0.1', FAAS_GATEWAY_PORT: String(port), ...extra, ...state };
  for (const name of STATE_VARIABLES) if (!knownState.includes(name)) delete out[name];
  return out;
}

/**
 * `onStdoutLine`, when given, receives every line the platform writes to stdout (its JSON log at
 * the level the env asks for); without it stdout is discarded.
 */
export async function startPlatform({ root, env = {}, readyTimeoutMs = 30_000, onStdoutLine }) {
  const main = join(root, 'bin/dist/main.js');
  if (!existsSync(main)) throw new Error(`${main} is missing: build first with \`npx tsc -b\``);
  const port = await freePort();
  const knownState = stateVariablesOf(root);
  const folder = knownState.includes('FAAS_DATA_DIR') ? makeDataDir() : undefined;
  const state = { FAAS_ADMIN_KEY: BENCH_ADMIN_KEY, ...(folder ? { FAAS_DATA_DIR: folder.data } : {}) };
  const removeData = () => {
    if (folder) rmSync(folder.dir, { recursive: true, force: true });
  };
  const stdout = onStdoutLine ? 'pipe' : 'ignore';
  let child;
  try {
    child = spawn(process.execPath, [main, 'serve'], {
      cwd: root,
      env: platformEnv(port, env, state, knownState),
      stdio: ['ignore', stdout, 'pipe'],
    });
  } catch (err) {
    removeData();
    throw err;
  }
  if (onStdoutLine) {
    let pending = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      pending += chunk;
      for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
        onStdoutLine(pending.slice(0, nl));
        pending = pending.slice(nl + 1);
      }
    });
  }
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr = (stderr + d).slice(-4000);
  });
  let exited = null;
  const exit = new Promise((resolve) =>
    child.on('exit', (code, signal) => {
      exited = signal ?? code;
      // Its state goes with it (a platform that was never ready, or was killed, too).
      removeData();
      resolve(exited);
    }),
  );
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    if (exited !== null) throw new Error(`faas serve exited (${exited}) before it was ready:\n${stderr}`);
    try {
      const res = await fetch(`${url}/ready`, { headers: authHeaders(), signal: AbortSignal.timeout(2000) });
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`faas serve was not ready within ${readyTimeoutMs} ms:\n${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    pid: child.pid,
    /** FAAS_DATA_DIR and FAAS_ADMIN_KEY where this build knows them (see stateVariablesOf). */
    dataDir: folder?.data,
    auth: knownState.includes('FAAS_ADMIN_KEY'),
    stderrTail: () => stderr,
    /** SIGTERM (the platform drains and removes its sandboxes), then SIGKILL after graceMs. */
    async stop(graceMs = 15_000) {
      if (exited !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exit;
      clearTimeout(timer);
    },
  };
}
