/**
 * A Docker engine of the test's own, for fault tests that stop and start the engine under a
 * running platform. It is a second `dockerd` with its own socket, state and containerd, so stopping
 * it (SIGTERM, as an operator's restart does) never disturbs the host's engine, which every other
 * test uses at the same time. The images a test needs are copied in from the host's engine; the
 * runtimes (runc, and runsc for gVisor) are the host's.
 *
 * Always `dispose()` it (in `after`): the engine is stopped and its folders removed. One left
 * running by a killed test is stopped by the next test process that starts one.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { DOCKER_HOST } from './docker.js';

const RUN_ROOT = '/run/faas-e2e-engines';
const DATA_ROOT = '/var/lib/faas-e2e-engines';

/** The host engine's runsc runtime, as scripts/setup-host.sh registers it. */
const DAEMON_CONFIG = {
  runtimes: { runsc: { path: '/usr/bin/runsc', runtimeArgs: ['--platform=ptrace', '--network=none', '--oci-seccomp'] } },
};

/** Why a private engine cannot be started here, or undefined when it can. */
export function privateEngineUnavailableReason(): string | undefined {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'a private Docker engine needs root';
  try {
    execFileSync('sh', ['-c', 'command -v dockerd'], { stdio: 'ignore' });
  } catch {
    return 'dockerd is not installed (scripts/setup-host.sh)';
  }
  return undefined;
}

function unixRequest(
  socketPath: string,
  method: string,
  path: string,
  options: { body?: NodeJS.ReadableStream; timeoutMs?: number } = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath, method, path, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.setTimeout(options.timeoutMs ?? 5000, () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.on('error', reject);
    if (options.body) options.body.pipe(req);
    else req.end();
  });
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitFor(what: string, check: () => boolean | Promise<boolean>, withinMs: number): Promise<void> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`${what} within ${withinMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Processes whose command line names `text`, with their command lines. */
function processesNaming(text: string): Array<{ pid: number; cmdline: string }> {
  const found: Array<{ pid: number; cmdline: string }> = [];
  for (const entry of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ');
      if (cmdline.includes(text)) found.push({ pid: Number(entry), cmdline });
    } catch {
      // Exited while we looked.
    }
  }
  return found;
}

function kill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Gone already.
  }
}

/**
 * Removes everything an engine left in its folders, even one that was killed (its containers'
 * processes, containerd and its shims, the mounts): a clean stop leaves nothing of this to do.
 */
function scrub(runDir: string, dataDir: string): void {
  const processes = processesNaming(runDir);
  for (const { cmdline } of processes) {
    const id = /-id ([0-9a-f]{64})/.exec(cmdline)?.[1];
    if (!id) continue;
    for (const controller of ['pids', 'memory', '']) {
      try {
        const procs = readFileSync(join('/sys/fs/cgroup', controller, 'docker', id, 'cgroup.procs'), 'utf8');
        for (const pid of procs.split('\n').filter(Boolean)) kill(Number(pid));
        break;
      } catch {
        // Another cgroup layout, or the container is gone.
      }
    }
  }
  for (const { pid } of processes) kill(pid);
  try {
    const mounts = readFileSync('/proc/mounts', 'utf8')
      .split('\n')
      .map((line) => line.split(' ')[1] ?? '')
      .filter((m) => m.startsWith(dataDir) || m.startsWith(runDir))
      .sort((a, b) => b.length - a.length);
    for (const mount of mounts) execFileSync('umount', ['-l', mount], { stdio: 'ignore' });
  } catch {
    // Nothing mounted, or nothing more to do about it.
  }
  rmSync(runDir, { recursive: true, force: true });
  rmSync(dataDir, { recursive: true, force: true });
}

/** Stops engines of earlier test processes that are gone, and removes their folders. */
function removeStale(): void {
  const names = new Set<string>();
  for (const root of [RUN_ROOT, DATA_ROOT]) {
    try {
      for (const name of readdirSync(root)) names.add(name);
    } catch {
      // Never used here.
    }
  }
  for (const name of names) {
    const owner = Number(/^(\d+)$/.exec(name)?.[1]);
    if (!owner || pidAlive(owner)) continue;
    scrub(join(RUN_ROOT, name), join(DATA_ROOT, name));
  }
}

export class PrivateEngine {
  /** The DOCKER_HOST value of this engine. */
  readonly host: string;
  readonly socket: string;
  private readonly runDir: string;
  private readonly dataDir: string;
  private child: ChildProcess | undefined;
  /** Settles when the current dockerd process has exited. */
  private childExit: Promise<void> = Promise.resolve();
  private childExited = true;

  private constructor(readonly id: string) {
    this.runDir = join(RUN_ROOT, id);
    this.dataDir = join(DATA_ROOT, id);
    this.socket = join(this.runDir, 'docker.sock');
    this.host = `unix://${this.socket}`;
  }

  /** Starts an engine with `images` copied in from the host's engine. */
  static async start(images: string[]): Promise<PrivateEngine> {
    removeStale();
    const engine = new PrivateEngine(String(process.pid));
    mkdirSync(engine.runDir, { recursive: true, mode: 0o700 });
    mkdirSync(engine.dataDir, { recursive: true, mode: 0o700 });
    writeFileSync(join(engine.runDir, 'daemon.json'), JSON.stringify(DAEMON_CONFIG));
    try {
      await engine.up();
      for (const image of images) await engine.copyImage(image);
    } catch (err) {
      await engine.dispose();
      throw err;
    }
    return engine;
  }

  /** The engine process's pid while it runs. */
  get pid(): number | undefined {
    return this.childExited ? undefined : this.child?.pid;
  }

  /** True when the engine answers /_ping. */
  async answers(): Promise<boolean> {
    try {
      return (await unixRequest(this.socket, 'GET', '/_ping', { timeoutMs: 1000 })).status === 200;
    } catch {
      return false;
    }
  }

  /** Starts dockerd and waits until it answers. */
  async up(): Promise<void> {
    if (this.pid) {
      if (await this.answers()) return;
      // Killed, and not reaped yet: wait for it before starting another on the same folders.
      await Promise.race([this.childExit, new Promise((r) => setTimeout(r, 30_000).unref())]);
    }
    const log = openSync(join(this.runDir, 'dockerd.log'), 'a');
    this.child = spawn(
      'dockerd',
      [
        `--host=${this.host}`,
        `--data-root=${this.dataDir}`,
        `--exec-root=${join(this.runDir, 'exec')}`,
        `--pidfile=${join(this.runDir, 'docker.pid')}`,
        `--config-file=${join(this.runDir, 'daemon.json')}`,
        '--bridge=none',
        '--iptables=false',
        '--ip-masq=false',
      ],
      // In the test's process group: a Ctrl-C stops it with the tests.
      { stdio: ['ignore', log, log] },
    );
    closeSync(log);
    const child = this.child;
    this.childExited = false;
    this.childExit = new Promise((resolve) =>
      child.once('exit', () => {
        this.childExited = true;
        resolve();
      }),
    );
    await waitFor(
      `the private Docker engine did not answer (see ${join(this.runDir, 'dockerd.log')})`,
      async () => {
        if (!this.pid) throw new Error(`the private Docker engine exited at start (see ${join(this.runDir, 'dockerd.log')})`);
        return this.answers();
      },
      30_000,
    );
  }

  /** Stops dockerd with SIGTERM, as an operator's restart does, and waits until it has exited. */
  async down(): Promise<void> {
    const child = this.child;
    if (!child || !this.pid) return;
    child.kill('SIGTERM');
    const timer = new Promise<void>((resolve) => setTimeout(resolve, 30_000).unref());
    await Promise.race([this.childExit, timer]);
    if (this.pid) {
      child.kill('SIGKILL');
      await this.childExit;
    }
  }

  private async copyImage(image: string): Promise<void> {
    const source = DOCKER_HOST.startsWith('unix://') ? DOCKER_HOST.slice('unix://'.length) : '/var/run/docker.sock';
    const exported = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = http.request(
        { socketPath: source, method: 'GET', path: `/images/${encodeURIComponent(image)}/get`, agent: false },
        resolve,
      );
      req.on('error', reject);
      req.end();
    });
    if (exported.statusCode !== 200) throw new Error(`the host engine cannot export ${image} (${exported.statusCode})`);
    const loaded = await unixRequest(this.socket, 'POST', '/images/load?quiet=1', { body: exported, timeoutMs: 120_000 });
    if (loaded.status !== 200) throw new Error(`the private engine cannot load ${image}: ${loaded.status} ${loaded.body}`);
  }

  /** Stops the engine, whatever it holds, and removes its folders. */
  async dispose(): Promise<void> {
    await this.down().catch(() => undefined);
    scrub(this.runDir, this.dataDir);
  }
}
