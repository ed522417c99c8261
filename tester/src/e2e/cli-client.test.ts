/**
 * The client commands of `faas` (invoke, functions, invocations, keys, dead-letters, completion) as
 * spawned processes against a real gateway and Docker engine: `invoke` is a faithful pipe (bytes in,
 * bytes out, the function's exit status), functions deploy from a YAML file, asynchronous
 * invocations are waited for, keys are made and revoked, and the URL and key come from flags, the
 * environment or the config file.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { BUSYBOX } from '../support/images.js';
import { TEST_ADMIN_KEY } from '../support/keys.js';
import { CLI_PATH } from '../support/paths.js';
import { usePlatform } from '../support/platform.js';

interface Run {
  code: number | null;
  stdout: Buffer;
  stderr: Buffer;
}

const scratch = mkdtempSync(join(tmpdir(), 'faas-cli-client-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** Runs `faas ARGS` with only the environment given (no developer FAAS_* leaks in), stdin from `input`. */
function faas(args: string[], env: Record<string, string>, input?: Uint8Array | string, withinMs = 60_000): Promise<Run> {
  const child = spawn(process.execPath, [CLI_PATH, ...args], {
    cwd: scratch,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: scratch, XDG_CONFIG_HOME: join(scratch, 'config'), ...env },
    stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout?.on('data', (c: Buffer) => out.push(c));
  child.stderr?.on('data', (c: Buffer) => err.push(c));
  if (input !== undefined) child.stdin?.end(input);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`faas ${args.join(' ')} did not exit within ${withinMs} ms: ${Buffer.concat(err).toString()}`));
    }, withinMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out), stderr: Buffer.concat(err) });
    });
  });
}

function ok(run: Run, what: string): string {
  assert.equal(run.code, 0, `${what}: exit ${run.code}; stderr: ${run.stderr.toString()}`);
  return run.stdout.toString();
}

describe('the faas client commands', { concurrency: 1 }, () => {
  const p = usePlatform({ FAAS_ASYNC_RETRY_BASE_MS: '100' });
  const env = () => ({ FAAS_URL: p.url, FAAS_API_KEY: TEST_ADMIN_KEY });

  it("invoke is a faithful pipe: the function's bytes and exit status", async () => {
    // The issue's own check, through a shell: printf 'a\0b' | faas invoke f --image ... -- cat | xxd
    const dump = spawnSync('command -v xxd >/dev/null && echo xxd || echo "od -An -tx1"', {
      shell: '/bin/bash',
      encoding: 'utf8',
    }).stdout.trim();
    // Not spawnSync: the gateway runs in this process and must answer while the pipeline runs.
    const shell = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn(
        '/bin/bash',
        ['-c', `set -o pipefail; printf 'a\\0b' | "${process.execPath}" "${CLI_PATH}" invoke f --image ${BUSYBOX} -- cat | ${dump}`],
        {
          cwd: scratch,
          env: { PATH: process.env.PATH, HOME: scratch, ...env() },
        },
      );
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => {
        stdout += c.toString();
      });
      child.stderr.on('data', (c: Buffer) => {
        stderr += c.toString();
      });
      child.on('error', reject);
      child.on('close', (status) => resolve({ status, stdout, stderr }));
    });
    assert.equal(shell.status, 0, shell.stderr);
    assert.match(shell.stdout, dump === 'xxd' ? /^00000000: 6100 62\s+a\.b$/m : /61 00 62/);

    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const cat = await faas(['invoke', 'f', '--image', BUSYBOX, '--', 'cat'], env(), all);
    assert.deepEqual(cat.stdout, all, 'every byte value comes back unchanged');
    assert.equal(cat.stderr.length, 0, `nothing else on stderr (no progress off a terminal): ${cat.stderr.toString()}`);

    const mixed = await faas(['invoke', 'f', '--image', BUSYBOX, '--', 'sh', '-c', 'printf out; printf "\\377err" >&2; exit 7'], env());
    assert.equal(mixed.code, 7);
    assert.equal(mixed.stdout.toString(), 'out');
    assert.deepEqual(mixed.stderr, Buffer.from([0xff, ...Buffer.from('err')]));

    const data = await faas(
      ['invoke', 'f', '--image', BUSYBOX, '--data', 'from --data', '-e', 'X=1', '--', 'sh', '-c', 'cat; echo " $X"'],
      env(),
    );
    assert.equal(ok(data, '--data'), 'from --data 1\n');
    const file = join(scratch, 'input.bin');
    writeFileSync(file, all);
    assert.deepEqual((await faas(['invoke', 'f', '--image', BUSYBOX, '--file', file, '--', 'cat'], env())).stdout, all);

    const killed = await faas(['invoke', 'f', '--image', BUSYBOX, '--', 'sh', '-c', 'kill -9 $$'], env());
    assert.equal(killed.code, 137, 'a signal is 128 + its number, as shells say it');
    const timeout = await faas(['invoke', 'f', '--image', BUSYBOX, '--timeout', '500', '--', 'sh', '-c', 'echo partial; sleep 10'], env());
    assert.equal(timeout.code, 124);
    assert.match(timeout.stderr.toString(), /^partial\nfaas: .*\(FAAS_ERR_TIMEOUT\)\n$/);
    const missing = await faas(['invoke', 'no-such-function'], env());
    assert.equal(missing.code, 125);
    assert.match(missing.stderr.toString(), /^faas: .*\(FAAS_ERR_FUNCTION_NOT_FOUND\)\n$/);
    const json = JSON.parse(ok(await faas(['invoke', 'f', '--image', BUSYBOX, '--data', 'j', '--json', '--', 'cat'], env()), '--json'));
    assert.equal(json.response_base64, 'ag==');
  });

  it('deploys a function from a YAML file, invokes it, and reads its history', async () => {
    const file = join(scratch, 'greet.yaml');
    writeFileSync(
      file,
      `id: cli-greet\nimage: ${BUSYBOX}\ncommand: [sh, -c, 'echo "hello $(cat) $TOKEN"']\nsecrets:\n  TOKEN: s3cr3t\ntimeout_ms: 5000\n`,
    );
    assert.match(ok(await faas(['functions', 'deploy', '-f', file], env()), 'deploy'), /^created cli-greet \(version 1\)\n$/);
    try {
      assert.match(
        ok(await faas(['functions', 'deploy', '-f', file, '--description', 'v2'], env()), 'redeploy'),
        /^updated cli-greet \(version 2\)\n$/,
      );
      const got = JSON.parse(ok(await faas(['functions', 'get', 'cli-greet', '--json'], env()), 'get'));
      assert.equal(got.description, 'v2');
      assert.deepEqual(got.secret_names, ['TOKEN']);
      assert.match(ok(await faas(['functions', 'list'], env()), 'list'), /^ID\s+VERSION\s+IMAGE.*\ncli-greet\s+2\s+/m);
      // One page with --limit or --cursor: --json prints it as the API answers it, cursor included.
      const page = JSON.parse(ok(await faas(['functions', 'list', '--limit', '1', '--json'], env()), 'list --limit 1'));
      assert.equal(page.functions.length, 1);
      assert.ok('next_cursor' in page, JSON.stringify(page));
      const badPage = await faas(['functions', 'list', '--cursor', 'garbage'], env());
      assert.equal(badPage.code, 1);
      assert.match(badPage.stderr.toString(), /FAAS_ERR_INVALID_QUERY/);
      assert.match(
        ok(await faas(['functions', 'update', 'cli-greet', '--timeout', '4000', '--if-match', '2'], env()), 'update'),
        /version 3/,
      );
      const stale = await faas(['functions', 'update', 'cli-greet', '--timeout', '3000', '--if-match', '2'], env());
      assert.equal(stale.code, 1);
      assert.match(stale.stderr.toString(), /FAAS_ERR_VERSION_CONFLICT/);

      // The secret reached the function (it printed it) and came back masked, as every answer does.
      assert.equal(ok(await faas(['invoke', 'cli-greet'], env(), 'world'), 'invoke'), 'hello world ***\n');
      const history = ok(await faas(['invocations', 'list', 'cli-greet'], env()), 'invocations list');
      const id = /^([0-9a-f-]{36})\s+completed\s+0/m.exec(history)?.[1];
      assert.ok(id, history);
      assert.match(ok(await faas(['invocations', 'get', id], env()), 'get'), /^status:\s+completed$/m);
      assert.equal(ok(await faas(['invocations', 'logs', id], env()), 'logs'), 'hello world ***\n');
    } finally {
      await faas(['functions', 'delete', 'cli-greet'], env());
    }
    const gone = await faas(['functions', 'get', 'cli-greet'], env());
    assert.equal(gone.code, 1);
    assert.match(gone.stderr.toString(), /FAAS_ERR_FUNCTION_NOT_FOUND/);
  });

  it('queues invocations: --async prints the id, --wait and invocations wait write the result', async () => {
    const id = ok(await faas(['invoke', 'cli-async', '--image', BUSYBOX, '--async', '--', 'cat'], env(), 'queued'), '--async').trim();
    assert.match(id, /^[0-9a-f-]{36}$/);
    assert.equal(ok(await faas(['invocations', 'wait', id], env()), 'wait'), 'queued');
    const waited = await faas(['invoke', 'cli-async', '--image', BUSYBOX, '--wait', '--', 'sh', '-c', 'cat; exit 4'], env(), 'w');
    assert.equal(waited.code, 4);
    assert.equal(waited.stdout.toString(), 'w');
    const slow = ok(await faas(['invoke', 'cli-async', '--image', BUSYBOX, '--async', '--', 'sleep', '30'], env()), 'slow').trim();
    assert.match(ok(await faas(['invocations', 'cancel', slow], env()), 'cancel'), /^cancel/);
    const final = JSON.parse(ok(await faas(['invocations', 'get', slow, '--json'], env()), 'get'));
    assert.ok(['cancelled', 'running'].includes(final.state), final.state);
    const letters = JSON.parse(ok(await faas(['dead-letters', 'list', '--json'], env()), 'dead letters'));
    assert.deepEqual(letters.dead_letters, []);
  });

  it('makes, uses and revokes a key; the URL and key come from flags, the environment or the config file', async () => {
    const key = ok(
      await faas(['keys', 'create', '--name', 'cli', '--scope', 'invoke,functions', '--function', 'cli-*'], env()),
      'create',
    ).trim();
    assert.match(key, /^faas_[0-9a-v]{12}_[A-Za-z0-9_-]{43}$/);
    const keyId = key.split('_')[1] as string;
    assert.match(ok(await faas(['keys', 'list'], env()), 'list'), new RegExp(`^${keyId}\\s+cli\\s+invoke,functions\\s+cli-\\*`, 'm'));
    // Pages: --limit and --cursor give one page (its cursor on stderr and in --json); no flag, every key.
    const second = ok(
      await faas(['keys', 'create', '--name', 'cli-2', '--scope', 'metrics', '--max-concurrency', '3'], env()),
      'create 2',
    ).trim();
    const secondId = second.split('_')[1] as string;
    assert.equal(JSON.parse(ok(await faas(['keys', 'get', secondId, '--json'], env()), 'get 2')).max_concurrency, 3);
    const all = JSON.parse(ok(await faas(['keys', 'list', '--json'], env()), 'list --json')) as Array<{ id: string }>;
    const ids = all.map((k) => k.id);
    assert.ok(ids.indexOf(keyId) >= 0 && ids.indexOf(keyId) < ids.indexOf(secondId), 'oldest first');
    const firstPage = await faas(['keys', 'list', '--limit', '1'], env());
    const cursor = /^faas: more: --cursor (\S+)$/m.exec(firstPage.stderr.toString())?.[1];
    assert.ok(cursor, firstPage.stderr.toString());
    assert.match(ok(firstPage, 'list --limit 1'), new RegExp(`^${ids[0]}\\s`, 'm'));
    const paged = [ids[0]];
    for (let next: string | null = cursor; next; ) {
      const page = JSON.parse(ok(await faas(['keys', 'list', '--limit', '1', '--cursor', next, '--json'], env()), 'next page'));
      paged.push(...page.keys.map((k: { id: string }) => k.id));
      next = page.next_cursor;
    }
    assert.deepEqual(paged, ids);
    const badCursor = await faas(['keys', 'list', '--cursor', 'garbage'], env());
    assert.equal(badCursor.code, 1);
    assert.match(badCursor.stderr.toString(), /FAAS_ERR_INVALID_QUERY/);
    ok(await faas(['keys', 'revoke', secondId], env()), 'revoke 2');
    const asKey = { FAAS_URL: p.url, FAAS_API_KEY: key };
    assert.equal(ok(await faas(['invoke', 'cli-k', '--image', BUSYBOX, '--data', 'k', '--', 'cat'], asKey), 'with the key'), 'k');
    const refused = await faas(['invoke', 'other', '--image', BUSYBOX, '--', 'true'], asKey);
    assert.equal(refused.code, 125);
    assert.match(refused.stderr.toString(), /FAAS_ERR_FORBIDDEN/);
    assert.match(ok(await faas(['keys', 'revoke', keyId], env()), 'revoke'), /^revoked /);
    const revoked = await faas(['functions', 'list'], asKey);
    assert.equal(revoked.code, 1);
    assert.match(revoked.stderr.toString(), /FAAS_ERR_UNAUTHORIZED/);

    // The config file, under flags and the environment.
    const configDir = join(scratch, 'config', 'faas');
    mkdirSync(configDir, { recursive: true });
    const configFile = join(configDir, 'config.json');
    writeFileSync(configFile, JSON.stringify({ url: p.url, api_key: TEST_ADMIN_KEY }));
    chmodSync(configFile, 0o600);
    try {
      assert.equal(
        ok(await faas(['keys', 'list', '--json'], {}), 'from the config file')
          .trim()
          .startsWith('['),
        true,
      );
      const badEnv = await faas(['keys', 'list'], { FAAS_URL: 'http://127.0.0.1:9' });
      assert.equal(badEnv.code, 1, 'the environment wins over the file');
      assert.match(badEnv.stderr.toString(), /^faas: cannot reach http:\/\/127\.0\.0\.1:9/);
      ok(await faas(['keys', 'list', '--url', p.url], { FAAS_URL: 'http://127.0.0.1:9' }), 'a flag wins over the environment');
      const noKey = await faas(['keys', 'list', '--api-key', 'faas_wrong'], {});
      assert.match(noKey.stderr.toString(), /FAAS_ERR_UNAUTHORIZED/);
    } finally {
      rmSync(configFile);
    }
  });

  it('faas serve accepts the client variables in its environment', async () => {
    const config = await faas(['config'], { FAAS_URL: 'http://127.0.0.1:8080', FAAS_API_KEY: 'x', FAAS_DATA_DIR: join(scratch, 'data') });
    assert.equal(config.code, 0, config.stderr.toString());
  });

  it('prints bash and zsh completion that knows every command and option', async () => {
    const bash = ok(await faas(['completion', 'bash'], {}), 'completion bash');
    const complete = (words: string[]) =>
      spawnSync(
        'bash',
        [
          '-c',
          `eval "$(cat)"; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _faas_complete; echo "\${COMPREPLY[*]}"`,
        ],
        { input: bash, encoding: 'utf8' },
      ).stdout.trim();
    assert.equal(complete(['faas', 'functions', 'de']), 'deploy delete');
    assert.equal(complete(['faas', 'invoke', 'f', '--ima']), '--image');
    assert.equal(complete(['faas', 'inv']), 'invoke invocations');
    const zsh = ok(await faas(['completion', 'zsh'], {}), 'completion zsh');
    assert.match(zsh, /^#compdef faas\n/);
    const hasZsh = spawnSync('bash', ['-c', 'command -v zsh'], { encoding: 'utf8' }).status === 0;
    if (hasZsh) assert.equal(spawnSync('zsh', ['-n'], { input: zsh }).status, 0, 'the zsh script parses');
    const usage = await faas(['completion', 'fish'], {});
    assert.equal(usage.code, 2);
  });
});
