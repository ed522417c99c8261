/**
 * Fixtures for the agent tests: the real agent binary (built on demand, so a stale binary is
 * never tested by accident), a running agent on a temp socket, and scriptable fake agents for
 * the misbehaving-guest cases. Every fixture removes what it created in `stop()`.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeFrame, type Frame, FrameDecoder } from './protocol.js';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BUILD_SCRIPT = join(REPO_ROOT, 'guest-agent', 'build.sh');
const DEFAULT_BINARY = join(REPO_ROOT, 'guest-agent/target/x86_64-unknown-linux-gnu/release/faas-guest-agent');

let cachedBinary: string | undefined;

/**
 * The agent binary: $FAAS_GUEST_AGENT if set, else built with guest-agent/build.sh (a no-op
 * when up to date). Without cargo an existing build is used; with neither, it throws.
 */
export function agentBinary(): string {
  if (cachedBinary) return cachedBinary;
  const fromEnv = process.env.FAAS_GUEST_AGENT;
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new Error(`FAAS_GUEST_AGENT=${fromEnv} does not exist`);
    cachedBinary = fromEnv;
    return fromEnv;
  }
  try {
    const out = execFileSync(BUILD_SCRIPT, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 600_000 });
    cachedBinary = out.trim().split('\n').pop() ?? DEFAULT_BINARY;
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT' || /cargo: (command )?not found/.test(e.stderr ?? '')) {
      if (existsSync(DEFAULT_BINARY)) cachedBinary = DEFAULT_BINARY;
    }
    if (!cachedBinary) {
      throw new Error(`the guest agent is not built and ${BUILD_SCRIPT} failed: ${e.stderr ?? e.message}`);
    }
  }
  return cachedBinary;
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `faas-${prefix}-`));
}

export interface RunningAgent {
  socket: string;
  dir: string;
  child: ChildProcess;
  /** Resolves with the exit code once the agent process has ended. */
  exited: Promise<number | null>;
  stderr(): string;
  stop(): Promise<void>;
}

/** Starts the real agent as a plain process listening on a fresh unix socket. */
export function startAgent(extraArgs: string[] = []): RunningAgent {
  const dir = tempDir('agent');
  const socket = join(dir, 'agent.sock');
  const child = spawn(agentBinary(), ['--unix', socket, ...extraArgs], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr?.on('data', (d: Buffer) => {
    log += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    socket,
    dir,
    child,
    exited,
    stderr: () => log,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** What a fake agent does with each host frame: answer with frames, raw bytes, or nothing. */
export type FakeBehaviour = (frame: Frame, socket: net.Socket) => void;

export interface FakeAgent {
  socket: string;
  connections: number;
  stop(): Promise<void>;
}

/** A net server speaking just enough protocol to misbehave in controlled ways. */
export async function fakeAgent(onFrame: FakeBehaviour, onConnect?: (socket: net.Socket) => void): Promise<FakeAgent> {
  const dir = tempDir('fake-agent');
  const path = join(dir, 'agent.sock');
  const sockets = new Set<net.Socket>();
  const state = { socket: path, connections: 0 } as FakeAgent;
  const server = net.createServer((socket) => {
    state.connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    onConnect?.(socket);
    const decoder = new FrameDecoder();
    socket.on('data', (chunk: Buffer) => {
      try {
        for (const frame of decoder.push(chunk)) onFrame(frame, socket);
      } catch {
        socket.destroy();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  state.stop = async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  };
  return state;
}

export function send(socket: net.Socket, frame: Frame): void {
  socket.write(encodeFrame(frame));
}

export const HELLO_OK: Frame = {
  type: 'HELLO_OK',
  protocolVersion: 1,
  agentVersion: 'fake',
  capabilities: ['exec'],
};

/** Pids of live (non-zombie) processes whose command line contains `marker`. */
export function processesWith(marker: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ');
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
      if (cmdline.includes(marker) && state !== 'Z') found.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return found;
}
