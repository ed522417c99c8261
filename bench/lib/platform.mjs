/**
 * Starts the real platform (`faas serve`, i.e. node bin/dist/main.js serve) as a child process on a
 * free loopback port, so the bench measures the shipped gateway and its RSS is that process's alone.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';

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
function platformEnv(port, extra) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('FAAS_BENCH_')) env[k] = v;
  return { ...env, FAAS_LOG_LEVEL: 'warn', FAAS_GATEWAY_HOST: '127.0.0.1', FAAS_GATEWAY_PORT: String(port), ...extra };
}

/**
 * `onStdoutLine`, when given, receives every line the platform writes to stdout (its JSON log at
 * the level the env asks for); without it stdout is discarded.
 */
export async function startPlatform({ root, env = {}, readyTimeoutMs = 30_000, onStdoutLine }) {
  const main = join(root, 'bin/dist/main.js');
  if (!existsSync(main)) throw new Error(`${main} is missing: build first with \`npx tsc -b\``);
  const port = await freePort();
  const stdout = onStdoutLine ? 'pipe' : 'ignore';
  const child = spawn(process.execPath, [main, 'serve'], { cwd: root, env: platformEnv(port, env), stdio: ['ignore', stdout, 'pipe'] });
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
      resolve(exited);
    }),
  );
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    if (exited !== null) throw new Error(`faas serve exited (${exited}) before it was ready:\n${stderr}`);
    try {
      const res = await fetch(`${url}/ready`, { signal: AbortSignal.timeout(2000) });
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
