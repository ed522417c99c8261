/**
 * The real agent binary, spawned as a plain process on a temp unix socket, driven through
 * AgentClient: the same path the Docker executor uses, minus the container. Process checks read
 * /proc directly, so a survivor of a timeout or RESET cannot hide behind the agent's own report.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isFaasError } from '@faas/common';
import { type AgentClient, type AgentExecRequest, connectUnix } from './client.js';
import { processesWith, type RunningAgent, startAgent, tempDir } from './test-support.js';

let agent: RunningAgent;
let client: AgentClient;
const dirs: string[] = [];

const open = (socket: string) => connectUnix(socket, { connectTimeoutMs: 5000, helloTimeoutMs: 2000 });
const run = (command: string[], extra: Partial<AgentExecRequest> = {}) =>
  client.exec({ command, env: [], stdin: Buffer.alloc(0), timeoutMs: 5000, maxOutputBytes: 1 << 20, ...extra });

/** A unique number for `sleep`, so /proc can tell this test's processes from anything else. */
const marker = () => `${300 + Math.floor(Math.random() * 600)}.${Date.now() % 100000}`;

async function gone(mark: string, withinMs = 2000): Promise<boolean> {
  const until = Date.now() + withinMs;
  while (processesWith(mark).length > 0) {
    if (Date.now() > until) return false;
    await new Promise((r) => setTimeout(r, 10));
  }
  return true;
}

before(async () => {
  agent = startAgent();
  client = await open(agent.socket);
});

after(async () => {
  client?.close();
  await agent?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('guest agent (real binary over a unix socket)', { timeout: 120_000 }, () => {
  it('says HELLO with its version and capabilities, on a 0600 socket', () => {
    assert.equal(client.protocolVersion, 1);
    assert.match(client.agentVersion, /^\d+\.\d+\.\d+/);
    assert.ok(client.capabilities.includes('exec') && client.capabilities.includes('reset'));
    assert.equal(statSync(agent.socket).mode & 0o777, 0o600);
  });

  it('runs echo', async () => {
    const r = await run(['echo', 'hello', 'world']);
    assert.equal(r.stdout.toString(), 'hello world\n');
    assert.equal(r.combined.toString(), 'hello world\n');
    assert.equal(r.stderr.length, 0);
    assert.equal(r.exitCode, 0);
    assert.equal(r.signal, null);
    assert.equal(r.truncated || r.timedOut, false);
    assert.equal(r.startError, undefined);
  });

  it('passes a binary stdin payload through byte for byte, NULs included', async () => {
    const payload = Buffer.concat([Buffer.from([0, 0, 255, 10, 0]), randomBytes(3 << 20), Buffer.from([0])]);
    const r = await run(['cat'], { stdin: payload, maxOutputBytes: 4 << 20 });
    assert.equal(r.exitCode, 0);
    assert.ok(r.stdout.equals(payload), 'stdout equals stdin');
  });

  it('does not block on a command that never reads its stdin', async () => {
    const r = await run(['sleep', '0.05'], { stdin: Buffer.alloc(4 << 20, 7) });
    assert.equal(r.exitCode, 0);
  });

  it('keeps stdout and stderr apart and interleaves them in arrival order in combined', async () => {
    const script = 'echo one; sleep 0.05; echo two >&2; sleep 0.05; echo three; sleep 0.05; echo four >&2';
    const r = await run(['sh', '-c', script]);
    assert.equal(r.stdout.toString(), 'one\nthree\n');
    assert.equal(r.stderr.toString(), 'two\nfour\n');
    assert.equal(r.combined.toString(), 'one\ntwo\nthree\nfour\n');
  });

  it('passes exactly the given env (plus a default PATH), not its own', async () => {
    const r = await run(['sh', '-c', 'env | sort'], { env: ['FOO=bar', 'EQ=a=b', 'EMPTY='] });
    const lines = r.stdout.toString().trim().split('\n');
    assert.ok(lines.includes('FOO=bar') && lines.includes('EQ=a=b') && lines.includes('EMPTY='));
    assert.ok(lines.some((l) => l.startsWith('PATH=')));
    assert.ok(!lines.some((l) => l.startsWith('HOME=') || l.startsWith('FAAS_')), lines.join(','));
  });

  it('runs in the requested working directory', async () => {
    const dir = tempDir('cwd');
    dirs.push(dir);
    assert.equal((await run(['pwd'], { cwd: dir })).stdout.toString(), `${dir}\n`);
    const missing = await run(['pwd'], { cwd: join(dir, 'nope') });
    assert.match(missing.startError ?? '', /working directory not found/);
  });

  it('starts commands with no blocked or ignored signals (the agent blocks SIGCHLD for itself)', async () => {
    const r = await run(['grep', '-E', '^Sig(Blk|Ign):', '/proc/self/status']);
    assert.equal(r.stdout.toString(), 'SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n');
  });

  it('runs every command with no_new_privs, and applies maxProcesses as its RLIMIT_NPROC', async () => {
    assert.ok(client.capabilities.includes('max_processes'));
    const status = await run(['grep', '^NoNewPrivs:', '/proc/self/status']);
    assert.equal(status.stdout.toString(), 'NoNewPrivs:\t1\n');
    const limited = await run(['grep', '^Max processes', '/proc/self/limits'], { maxProcesses: 9 });
    assert.match(limited.stdout.toString(), /^Max processes +9 +9 +processes\s*$/);
  });

  it('reports exit codes and signals', async () => {
    assert.equal((await run(['sh', '-c', 'exit 42'])).exitCode, 42);
    const killed = await run(['sh', '-c', 'kill -TERM $$']);
    assert.equal(killed.exitCode, null);
    assert.equal(killed.signal, 'SIGTERM');
    assert.equal(killed.timedOut, false);
  });

  it('reports a missing command like a shell (127) and a non-executable file (126)', async () => {
    const missing = await run(['no-such-command-xyz']);
    assert.equal(missing.exitCode, 127);
    assert.equal(missing.startError, 'command not found: no-such-command-xyz');
    const dir = tempDir('noexec');
    dirs.push(dir);
    const file = join(dir, 'script');
    writeFileSync(file, '#!/bin/sh\necho hi\n');
    chmodSync(file, 0o644);
    const denied = await run([file]);
    assert.equal(denied.exitCode, 126);
    assert.match(denied.startError ?? '', /permission denied/);
  });

  it('kills the whole process group on timeout', async () => {
    const m = marker();
    const started = Date.now();
    const r = await run(['sh', '-c', `sleep ${m} & sleep ${m}; echo never`], { timeoutMs: 300 });
    assert.equal(r.timedOut, true);
    assert.equal(r.signal, 'SIGKILL');
    assert.equal(r.exitCode, null);
    assert.ok(Date.now() - started < 2000, 'returned promptly');
    assert.ok(await gone(m), `no sleep ${m} survives`);
  });

  it('returns when the direct child exits and kills what it left in its group', async () => {
    const m = marker();
    const r = await run(['sh', '-c', `sleep ${m} & echo started`], { timeoutMs: 10_000 });
    assert.equal(r.stdout.toString(), 'started\n');
    assert.ok(r.durationMs < 2000);
    assert.ok(await gone(m), `background sleep ${m} was killed`);
  });

  it('caps each stream, flags truncation and keeps draining so the child finishes', async () => {
    const r = await run(['sh', '-c', 'head -c 20000000 /dev/zero; echo done >&2'], { maxOutputBytes: 1000 });
    assert.equal(r.exitCode, 0);
    assert.equal(r.stdout.length, 1000);
    assert.equal(r.stderr.toString(), 'done\n');
    assert.equal(r.combined.length, 1005);
    assert.equal(r.truncated, true);
    const zero = await run(['echo', 'x'], { maxOutputBytes: 0 });
    assert.equal(zero.stdout.length, 0);
    assert.equal(zero.truncated, true);
  });

  it('RESET kills processes that escaped their group and empties the scratch directory', async () => {
    const m = marker();
    // The pause lets setsid run before the agent kills the EXEC's group on exit.
    await run(['sh', '-c', `setsid sleep ${m} </dev/null >/dev/null 2>&1 & sleep 0.2`]);
    assert.equal(processesWith(m).length, 1, 'the escaped process outlives the EXEC');
    const scratch = tempDir('scratch');
    const outside = tempDir('outside');
    dirs.push(scratch, outside);
    mkdirSync(join(scratch, 'sub/deeper'), { recursive: true });
    writeFileSync(join(scratch, 'sub/deeper/f'), 'x');
    writeFileSync(join(scratch, '.hidden'), 'x');
    writeFileSync(join(outside, 'keep'), 'x');
    symlinkSync(outside, join(scratch, 'link'));
    await client.reset({ scratchDir: scratch });
    assert.ok(await gone(m, 500), `escaped sleep ${m} was killed`);
    assert.deepEqual(readdirSync(scratch), []);
    assert.ok(existsSync(join(outside, 'keep')), 'a symlink is removed, not followed');
    await assert.rejects(
      client.reset({ scratchDir: '/' }),
      (err: unknown) => isFaasError(err) && err.details?.agentCode === 'reset_failed',
    );
  });

  it('answers a bad request with an error and keeps the connection', async () => {
    await assert.rejects(run(['']), (err: unknown) => isFaasError(err) && err.details?.agentCode === 'invalid_request');
    await assert.rejects(run(['true'], { env: ['NOEQUALS'] }), /KEY=VALUE/);
    assert.equal((await run(['true'])).exitCode, 0);
  });

  // A valid REFRESH would reseed this host's CRNG and set its clock, so only refusals run here;
  // the qemu snapshot suite checks a real one inside a VM.
  it('advertises refresh and refuses bad entropy or time before touching the system', async () => {
    assert.ok(client.capabilities.includes('refresh'));
    const refused = (err: unknown) => isFaasError(err) && err.details?.agentCode === 'refresh_failed';
    await assert.rejects(client.refresh({ entropy: Buffer.alloc(8) }), refused);
    await assert.rejects(client.refresh({ entropy: randomBytes(32), unixTimeMs: 5 }), refused);
    assert.equal((await run(['true'])).exitCode, 0);
  });

  it('runs many requests in sequence on one connection, and serves sequential connections', async () => {
    for (let i = 0; i < 30; i++) {
      assert.equal((await run(['echo', String(i)])).stdout.toString(), `${i}\n`);
    }
    for (let i = 0; i < 3; i++) {
      const other = await open(agent.socket);
      assert.equal(
        (await other.exec({ command: ['true'], env: [], stdin: Buffer.alloc(0), timeoutMs: 1000, maxOutputBytes: 10 })).exitCode,
        0,
      );
      other.close();
    }
  });

  it('kills the running command when the host hangs up (abort)', async () => {
    const other = await open(agent.socket);
    const m = marker();
    const ac = new AbortController();
    const pending = other.exec(
      { command: ['sh', '-c', `sleep ${m}`], env: [], stdin: Buffer.alloc(0), timeoutMs: 60_000, maxOutputBytes: 10 },
      { signal: ac.signal },
    );
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(processesWith(m).length > 0, true);
    ac.abort(new Error('caller gave up'));
    await assert.rejects(pending, /caller gave up/);
    assert.ok(await gone(m), 'the command died with the connection');
    // The agent is free again for the next connection.
    const next = await open(agent.socket);
    next.close();
  });

  it('runs as another uid/gid when asked (needs root)', async (t) => {
    if (process.getuid?.() !== 0) {
      t.skip('not running as root: cannot test setuid');
      return;
    }
    const r = await run(['sh', '-c', 'id -u; id -g; id -G'], { uid: 65534, gid: 65534 });
    assert.equal(r.stdout.toString(), '65534\n65534\n65534\n');
  });

  it('refuses an oversize frame with an ERROR and closes the connection', async () => {
    const socket = net.createConnection(agent.socket);
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    await new Promise((r) => socket.once('connect', r));
    socket.write(Buffer.from([0x04, 0, 0, 1, 0x02]));
    await new Promise((r) => socket.once('close', r));
    const reply = Buffer.concat(chunks);
    assert.equal(reply[4], 0xff);
    assert.match(reply.subarray(5).toString(), /"code":"frame_too_large"/);
  });

  it('shuts down on SHUTDOWN and exits 0', async () => {
    const own = startAgent();
    try {
      const c = await open(own.socket);
      await c.shutdown();
      assert.equal(await own.exited, 0);
      assert.equal(existsSync(own.socket), false, 'the socket file is removed');
    } finally {
      await own.stop();
    }
  });
});
