/**
 * Runs the `faas` command as a separate process, the way an operator does: `node bin/dist/main.js`
 * with an environment and a working directory of its own (so no developer `.env` leaks in).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI_PATH } from './paths.js';
import { platformEnv } from './platform.js';

export interface CliExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function spawnCli(args: string[], env: Record<string, string>, cwd: string): ChildProcess {
  return spawn(process.execPath, [CLI_PATH, ...args], { env: platformEnv(env), cwd, stdio: ['ignore', 'pipe', 'pipe'] });
}

function collect(child: ChildProcess, withinMs: number): Promise<CliExit> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (c: Buffer) => {
    stdout += c.toString();
  });
  child.stderr?.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`faas did not exit within ${withinMs} ms; stderr: ${stderr.slice(-2000)}`));
    }, withinMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Runs `faas ARGS` to completion in a scratch folder. */
export async function runCli(args: string[], env: Record<string, string>, withinMs = 20_000): Promise<CliExit> {
  const cwd = mkdtempSync(join(tmpdir(), 'faas-cli-'));
  try {
    return await collect(spawnCli(args, env, cwd), withinMs);
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
}

export interface RunningServer {
  url: string;
  pid: number;
  /** Sends the signal and waits for the process to exit. */
  stop(signal?: NodeJS.Signals): Promise<CliExit>;
}

/** Starts `faas serve` and resolves once it logs the address it listens on. */
export async function startServe(env: Record<string, string>, withinMs = 30_000): Promise<RunningServer> {
  const cwd = mkdtempSync(join(tmpdir(), 'faas-cli-'));
  const child = spawnCli(['serve'], { FAAS_LOG_LEVEL: 'info', ...env }, cwd);
  const exited = collect(child, 10 * 60_000);
  exited.catch(() => undefined);
  const url = await new Promise<string>((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`faas serve did not report its address: ${seen.slice(-2000)}`)), withinMs);
    const onData = (c: Buffer) => {
      seen += c.toString();
      const match = /listening on (http:\/\/[^\s"]+)/.exec(seen);
      if (match?.[1]) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        resolve(match[1]);
      }
    };
    child.stdout?.on('data', onData);
    child.on('close', (code) => {
      clearTimeout(timer);
      reject(new Error(`faas serve exited with ${code} before listening: ${seen.slice(-2000)}`));
    });
  }).catch((err: unknown) => {
    child.kill('SIGKILL');
    rmSync(cwd, { recursive: true, force: true });
    throw err;
  });
  return {
    url,
    pid: child.pid as number,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      child.kill(signal);
      try {
        return await exited;
      } finally {
        rmSync(cwd, { recursive: true, force: true });
      }
    },
  };
}
