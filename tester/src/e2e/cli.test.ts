/**
 * `faas` as a spawned process, the way an operator runs it: every command answers --help and
 * --version; `faas config` prints the effective configuration; every start-up mistake (a bad value,
 * a malformed .env line, a bad log filter, the port in use, no Docker engine, a missing file) is one
 * line that names its source and the fix, with exit code 2 and no stack trace; otherwise it serves
 * and drains on SIGTERM. Each case here is a stumble a new user met (issue 14).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { AGENT_MAX_OUTPUT_BYTES } from '@faas/common';
import { type CliExit, type RunningServer, runCli, startServe } from '../support/cli.js';
import { describeContainers, waitForNoContainers } from '../support/docker.js';
import { assertError, HttpClient } from '../support/http.js';
import { BUSYBOX } from '../support/images.js';
import { CLI_PATH, REPO_ROOT } from '../support/paths.js';
import { platformEnv } from '../support/platform.js';

const VERSION = (JSON.parse(readFileSync(join(REPO_ROOT, 'bin/package.json'), 'utf8')) as { version: string }).version;
const SHIM = join(REPO_ROOT, 'bin/faas.mjs');
const MIB = 1024 * 1024;

/** A start-up failure as the issue asks for it: exit 2, exactly one line on stderr, no stack trace. */
function assertOneLineFailure(run: CliExit, ...mentions: RegExp[]): string {
  assert.equal(run.signal, null, `it must exit by itself: ${run.stderr}`);
  assert.equal(run.code, 2, `exit code 2 expected; stderr: ${run.stderr}`);
  const lines = run.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `one line expected on stderr, got:\n${run.stderr}`);
  assert.doesNotMatch(run.stderr, /\n\s+at |Error: |node:internal/, 'no stack trace');
  assert.match(run.stderr, /^faas: /);
  for (const mention of mentions) assert.match(run.stderr, mention);
  return lines[0] as string;
}

/** Runs the CLI in a given folder (runCli picks a scratch one), so that `.env` there is found. */
function runIn(cwd: string, args: string[], env: Record<string, string> = {}, withinMs = 20_000): Promise<CliExit> {
  const child = spawn(process.execPath, [CLI_PATH, ...args], { env: platformEnv(env), cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => {
    stdout += c.toString();
  });
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`faas ${args.join(' ')} did not exit within ${withinMs} ms: ${stderr}`));
    }, withinMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** A scratch folder holding a .env with `content`; removed after fn. */
async function withDotenv<T>(content: string, fn: (dir: string, file: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'faas-dotenv-'));
  try {
    const file = join(dir, '.env');
    writeFileSync(file, content);
    return await fn(dir, file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

describe('the faas command', { concurrency: 4 }, () => {
  it('is what npm links onto the PATH: bin/package.json "bin" names an executable shim that runs the build', async () => {
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'bin/package.json'), 'utf8')) as { bin: Record<string, string> };
    assert.equal(pkg.bin.faas, 'faas.mjs');
    assert.ok((statSync(SHIM).mode & 0o111) !== 0, 'bin/faas.mjs must be executable (git keeps the bit)');
    const run = spawnSync(SHIM, ['--version'], { encoding: 'utf8', cwd: tmpdir() });
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout.trim(), VERSION);
  });

  it('is on the PATH after the set-up (scripts/setup-host.sh runs npm link -w bin)', (t) => {
    const which = spawnSync('sh', ['-c', 'command -v faas'], { encoding: 'utf8' });
    if (which.status !== 0) {
      t.skip('no faas on this PATH: run bash scripts/setup-host.sh');
      return;
    }
    const setup = readFileSync(join(REPO_ROOT, 'scripts/setup-host.sh'), 'utf8');
    assert.match(setup, /npm link -w bin/);
    const run = spawnSync('faas', ['--version'], { encoding: 'utf8', cwd: tmpdir() });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout.trim(), /^\d+\.\d+\.\d+/);
  });

  it('answers --help and --version on every command, and --help never starts a server', async () => {
    for (const command of [[], ['serve'], ['config']]) {
      const help = await runCli([...command, '--help'], { FAAS_GATEWAY_PORT: '0' }, 10_000);
      assert.equal(help.code, 0, help.stderr);
      assert.match(help.stdout, new RegExp(`^Usage: faas${command.length ? ` ${command[0]}` : ''}`));
      assert.match(help.stdout, /--version/);
      assert.doesNotMatch(help.stdout, /listening/);
      const version = await runCli([...command, '--version'], {}, 10_000);
      assert.equal(version.code, 0, version.stderr);
      assert.equal(version.stdout.trim(), VERSION);
    }
    const helpServe = await runCli(['help', 'serve'], {}, 10_000);
    assert.equal(helpServe.code, 0, helpServe.stderr);
    assert.match(helpServe.stdout, /^Usage: faas serve/);
    // Even a configuration that would fail does not matter for --help: nothing is read or started.
    const badConfig = await runCli(['serve', '--help'], { FAAS_POOL_MODE: 'nonsense' }, 10_000);
    assert.equal(badConfig.code, 0, badConfig.stderr);
  });

  it('exits 2 on an unknown command or option, suggesting the nearest', async () => {
    const typo = await runCli(['srve'], {}, 10_000);
    assert.equal(typo.code, 2, typo.stderr);
    assert.match(typo.stderr, /unknown command 'srve'/);
    assert.match(typo.stderr, /serve/);
    const option = await runCli(['serve', '--prot', '1'], {}, 10_000);
    assert.equal(option.code, 2, option.stderr);
    assert.match(option.stderr, /unknown option '--prot'/);
  });
});

describe('faas config', { concurrency: 4 }, () => {
  it('prints the effective configuration as JSON: defaults, the environment over .env, secrets redacted', async () => {
    await withDotenv('# faas\nFAAS_GATEWAY_PORT=9000\nFAAS_POOL_MODE=reuse\n', async (dir) => {
      const run = await runIn(dir, ['config'], { FAAS_GATEWAY_PORT: '7000', DOCKER_HOST: 'tcp://ops:hunter2@127.0.0.1:2375' });
      assert.equal(run.code, 0, run.stderr);
      const config = JSON.parse(run.stdout) as {
        gateway: { port: number; maxBodyBytes: number };
        pool: { mode: string };
        dockerHost: string;
      };
      assert.equal(config.gateway.port, 7000, 'the environment wins over .env');
      assert.equal(config.pool.mode, 'reuse', '.env fills in what the environment does not set');
      assert.equal(config.gateway.maxBodyBytes, 8 * MIB + 448 * 1024);
      assert.equal(config.dockerHost, 'tcp://[redacted]@127.0.0.1:2375');
      assert.doesNotMatch(run.stdout, /hunter2/);
    });
  });

  it('is documented in README.md and docs/CONFIGURATION.md', () => {
    for (const doc of ['README.md', 'docs/CONFIGURATION.md']) {
      const text = readFileSync(join(REPO_ROOT, doc), 'utf8');
      assert.match(text, /faas config/, `${doc} documents faas config`);
      assert.match(text, /faas serve/, `${doc} documents faas serve`);
      assert.doesNotMatch(text, /node bin\/dist\/main\.js/, `${doc} uses the faas command`);
    }
  });

  it('reads --dotenv, and a missing one is an error', async () => {
    await withDotenv('FAAS_POOL_MODE=off\n', async (_dir, file) => {
      const run = await runCli(['config', '--dotenv', file], {});
      assert.equal(run.code, 0, run.stderr);
      assert.equal((JSON.parse(run.stdout) as { pool: { mode: string } }).pool.mode, 'off');
    });
    assertOneLineFailure(
      await runCli(['config', '--dotenv', '/nonexistent/faas.env'], {}),
      /--dotenv \/nonexistent\/faas\.env: no such file/,
    );
  });
});

describe('.env mistakes are errors naming the file and line', { concurrency: 4 }, () => {
  const cases: Array<[string, string, RegExp]> = [
    ['a junk line', 'FAAS_GATEWAY_PORT=0\njunk line\n', /:2: "junk line" is not a NAME=value line/],
    ['KEY = value', '# settings\nFAAS_POOL_MODE = reuse\n', /:2: spaces around "=".*write FAAS_POOL_MODE=reuse/],
    ['KEY: value', 'FAAS_POOL_MODE: reuse\n', /:1: .*uses ":"; write FAAS_POOL_MODE=reuse/],
    ['a lower-case name', '\nfaas_pool_mode=reuse\n', /:2: variable names are upper case: write FAAS_POOL_MODE/],
    ['an unterminated quote', 'FAAS_POOL_MODE="reuse\n', /:1: FAAS_POOL_MODE: the value opens a double quote that is not closed/],
  ];
  for (const [what, content, message] of cases) {
    it(`${what}: exit 2, one line`, async () => {
      await withDotenv(content, async (dir, file) => {
        const run = await runIn(dir, ['serve']);
        assertOneLineFailure(run, new RegExp(`^faas: configuration error: ${escapeRegExp(file)}`), message);
      });
    });
  }

  it('a bad value from .env names the file, the line, the value, the accepted values and the nearest one', async () => {
    await withDotenv('# pool\n\nFAAS_POOL_MODE=reus\n', async (dir, file) => {
      const line = assertOneLineFailure(await runIn(dir, ['serve']));
      assert.equal(
        line,
        `faas: configuration error: FAAS_POOL_MODE="reus" (from ${file}:3) is invalid: use single-use, reuse or off (did you mean "reuse"?)`,
      );
    });
  });

  it('an unknown name in .env suggests the nearest known one', async () => {
    await withDotenv('FAAS_POOL_MOD=reuse\n', async (dir, file) => {
      assertOneLineFailure(
        await runIn(dir, ['serve']),
        new RegExp(`unknown variable FAAS_POOL_MOD \\(from ${escapeRegExp(file)}:1\\): did you mean FAAS_POOL_MODE\\?`),
      );
    });
    await withDotenv('GATEWAY_PORT=9000\n', async (dir) => {
      assertOneLineFailure(await runIn(dir, ['serve']), /unknown variable GATEWAY_PORT .*did you mean FAAS_GATEWAY_PORT\?/);
    });
  });

  it('the environment wins over .env, also for a bad value in .env', async () => {
    await withDotenv('FAAS_POOL_MODE=reus\n', async (dir) => {
      const run = await runIn(dir, ['config'], { FAAS_POOL_MODE: 'off' });
      assert.equal(run.code, 0, run.stderr);
      assert.equal((JSON.parse(run.stdout) as { pool: { mode: string } }).pool.mode, 'off');
    });
  });
});

describe('start-up failures are one line with the fix, exit 2', { concurrency: 4 }, () => {
  it('an admin.key that is no usable admin key (short, with spaces, too long to send) stops start-up without showing it', async () => {
    const contents = {
      short: 'abc',
      spaces: `faas admin ${'k'.repeat(40)}`,
      'too long': 'k'.repeat(5000),
      binary: `${'k'.repeat(32)}\u0001\u00ff`,
    };
    for (const [what, content] of Object.entries(contents)) {
      const dir = mkdtempSync(join(tmpdir(), 'faas-admin-key-'));
      try {
        writeFileSync(join(dir, 'admin.key'), `${content}\n`, { mode: 0o600 });
        const line = assertOneLineFailure(
          await runCli(['serve'], { FAAS_DATA_DIR: dir, FAAS_ADMIN_KEY: '' }),
          new RegExp(`configuration error: the key file ${escapeRegExp(join(dir, 'admin.key'))} does not hold a usable admin key`),
          /32-1024 printable characters without spaces/,
          /remove it to have one generated/,
        );
        assert.ok(!line.includes(content.slice(0, 32)), `${what}: the key is not shown`);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  });

  it('FAAS_LOG_LEVEL=verbose is a configuration error, not a stack trace', async () => {
    assertOneLineFailure(
      await runCli(['serve'], { FAAS_LOG_LEVEL: 'verbose' }),
      /configuration error: FAAS_LOG_LEVEL="verbose" \(from the environment\) is invalid/,
      /trace, debug, info, warn, error or off/,
      /did you mean "debug"/,
    );
  });

  it('a bad RUST_LOG filter is a configuration error that names RUST_LOG', async () => {
    const run = await runCli(['serve'], { RUST_LOG: 'info,gateway=chatty', FAAS_LOG_LEVEL: '' });
    assertOneLineFailure(
      run,
      /RUST_LOG="info,gateway=chatty" \(from the environment\) is invalid: unknown level "chatty"/,
      /FAAS_LOG_LEVEL/,
    );
  });

  it('a port in use names FAAS_GATEWAY_PORT and the fix', async () => {
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const port = (holder.address() as net.AddressInfo).port;
    try {
      const run = await runCli(['serve'], { FAAS_GATEWAY_PORT: String(port), FAAS_POOL_MODE: 'off' }, 60_000);
      assertOneLineFailure(
        run,
        new RegExp(`cannot start: port ${port} on 127\\.0\\.0\\.1 is already in use \\(FAAS_GATEWAY_PORT=${port}, from the environment\\)`),
        /set FAAS_GATEWAY_PORT to a free port/,
      );
    } finally {
      holder.close();
    }
  });

  it('no Docker engine: says how to start dockerd or set DOCKER_HOST', async () => {
    const run = await runCli(['serve'], { DOCKER_HOST: 'unix:///tmp/faas-no-engine.sock', FAAS_GATEWAY_PORT: '0' });
    assertOneLineFailure(
      run,
      /cannot start: the docker executor needs a Docker engine, and none answers at unix:\/\/\/tmp\/faas-no-engine\.sock/,
      /DOCKER_HOST=unix:\/\/\/tmp\/faas-no-engine\.sock, from the environment/,
      /bash scripts\/setup-host\.sh/,
      /dockerd &/,
      /set DOCKER_HOST/,
    );
  });

  it('firecracker without a binary points to a docs section that exists', async () => {
    const run = await runCli(['serve'], { FAAS_EXECUTOR_TYPE: 'firecracker' });
    const line = assertOneLineFailure(run, /FAAS_FC_BINARY_PATH is not set/);
    const ref = /(docs\/[\w.-]+\.md|README\.md) "([^"]+)"/.exec(line);
    assert.ok(ref, `the message names a document section: ${line}`);
    const doc = readFileSync(join(REPO_ROOT, ref[1] as string), 'utf8');
    assert.ok(
      doc.split('\n').some((l) => /^#+ /.test(l) && l.replace(/^#+ /, '').trim() === ref[2]),
      `${ref[1]} has a section "${ref[2]}"`,
    );
  });

  it('a missing file names the variable and how to build it', async () => {
    assertOneLineFailure(
      await runCli(['serve'], { FAAS_AGENT_PATH: '/nonexistent/faas-guest-agent' }),
      /FAAS_AGENT_PATH="\/nonexistent\/faas-guest-agent" \(from the environment\): no such file/,
      /guest-agent\/build\.sh/,
    );
  });

  it('FAAS_MAX_OUTPUT_BYTES above what the guest agent protocol carries (8 MiB) is refused with the reason', async () => {
    const client = (await import(pathToFileURL(join(REPO_ROOT, 'executor/dist/agent/client.js')).href)) as { MAX_OUTPUT_BYTES: number };
    assert.equal(AGENT_MAX_OUTPUT_BYTES, client.MAX_OUTPUT_BYTES, 'config and the agent client agree on the bound');
    assertOneLineFailure(
      await runCli(['serve'], { FAAS_MAX_OUTPUT_BYTES: String(16 * MIB) }),
      /FAAS_MAX_OUTPUT_BYTES="16777216" \(from the environment\) is invalid: use an integer from 1024 to 8388608/,
      /guest agent protocol carries at most 8 MiB per output stream/,
    );
  });

  it('a body limit that would hide payload-too-large is refused with the smallest accepted value', async () => {
    assertOneLineFailure(
      await runCli(['config'], { FAAS_MAX_BODY_BYTES: String(8 * MIB) }),
      /FAAS_MAX_BODY_BYTES="8388608" \(from the environment\) is too small for FAAS_MAX_PAYLOAD_BYTES=6291456/,
      /at least \d+/,
    );
  });
});

describe('faas serve', { concurrency: 4 }, () => {
  it('exits 2 naming a variable with a bad value', async () => {
    const run = await runCli(['serve'], { FAAS_GATEWAY_PORT: 'abc' });
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /FAAS_GATEWAY_PORT/);
  });

  it('exits 2 naming an unknown FAAS_* variable', async () => {
    const run = await runCli(['serve'], { FAAS_FOO: '1' });
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /FAAS_FOO/);
  });

  it('exits 2 for a renamed variable and names its replacement', async () => {
    const run = await runCli(['serve'], { FAAS_PORT: '8080' });
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /FAAS_PORT/);
    assert.match(run.stderr, /FAAS_GATEWAY_PORT/);
  });

  it('exits 2 with a clear message when no Docker engine answers', async () => {
    const run = await runCli(['serve'], { DOCKER_HOST: 'unix:///tmp/faas-no-engine.sock', FAAS_GATEWAY_PORT: '0' });
    assert.equal(run.code, 2, run.stderr);
    assert.equal(run.signal, null, 'it must exit by itself, not hang');
    assert.match(run.stderr, /cannot start/);
    assert.match(run.stderr, /Docker/i);
    assert.match(run.stderr, /faas-no-engine\.sock/);
  });

  it('serves invocations, then drains on SIGTERM, exits 0 and leaves no container', async () => {
    let server: RunningServer | undefined;
    try {
      server = await startServe({ FAAS_GATEWAY_PORT: '0' });
      const client = new HttpClient(server.url);
      assert.equal((await client.request('/ready')).status, 200);
      const result = await client.run('from-cli', { image: BUSYBOX, command: ['echo', 'served by faas serve'] });
      assert.equal(result.stdout.toString(), 'served by faas serve\n');
      const { pid } = server;
      const exit = await server.stop('SIGTERM');
      server = undefined;
      assert.equal(exit.code, 0, exit.stderr);
      // Its containers carry its pid; warm spares included, every one must be gone.
      const left = await waitForNoContainers({ 'dev.faas.pid': String(pid) }, 10_000);
      assert.deepEqual(left, [], describeContainers(left));
    } finally {
      await server?.stop('SIGKILL');
    }
  });
});

describe('body and payload limits, with the defaults', () => {
  it('a 6 MiB payload runs, and 6 MiB + 1 is 413 FAAS_ERR_PAYLOAD_TOO_LARGE (not BODY_TOO_LARGE)', async () => {
    let server: RunningServer | undefined;
    try {
      server = await startServe({ FAAS_GATEWAY_PORT: '0', FAAS_POOL_MODE: 'off' });
      const client = new HttpClient(server.url);
      const over = await client.invoke('limits', {
        image: BUSYBOX,
        command: ['wc', '-c'],
        payload_base64: Buffer.alloc(6 * MIB + 1, 7).toString('base64'),
      });
      const body = assertError(over, 413, 'FAAS_ERR_PAYLOAD_TOO_LARGE');
      assert.equal(body.field, 'payload_base64');
      const atLimit = await client.run('limits', {
        image: BUSYBOX,
        command: ['wc', '-c'],
        payload_base64: Buffer.alloc(6 * MIB, 7).toString('base64'),
      });
      assert.equal(atLimit.stdout.toString().trim(), String(6 * MIB));
      // A body too large for any valid request still gets the body error.
      const huge = await client.request('/functions/limits/invoke', {
        method: 'POST',
        body: JSON.stringify({ image: BUSYBOX, command: ['true'], payload_base64: 'A'.repeat(9 * MIB) }),
        headers: { 'content-type': 'application/json' },
      });
      assertError(huge, 413, 'FAAS_ERR_BODY_TOO_LARGE');
    } finally {
      await server?.stop('SIGTERM');
    }
  });
});
