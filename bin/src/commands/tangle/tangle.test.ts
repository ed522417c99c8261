/**
 * `faas tangle` and the flags every command shares, without a chain: how configuration is read and
 * reported, --json, and help that lists what the code accepts. (On a chain: tester/src/e2e/tangle*.test.ts.)
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { EXECUTOR_KINDS } from '@faas/common';

const MAIN = fileURLToPath(new URL('../../main.js', import.meta.url));
const CONTRACT = '0x0165878A594ca255338adfa4d48449f69242Eb8F';
/** Nothing listens there: a command that gets past its configuration fails to reach the node. */
const DEAD_RPC = 'http://127.0.0.1:1';

const scratch = mkdtempSync(join(tmpdir(), 'faas-tangle-cli-'));

function faas(args: string[], env: Record<string, string> = {}) {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('FAAS_')));
  const run = spawnSync(process.execPath, [MAIN, ...args], {
    encoding: 'utf8',
    cwd: scratch,
    env: { ...clean, XDG_CONFIG_HOME: join(scratch, 'xdg'), ...env },
    timeout: 60_000,
  });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

/** One line on stderr, no stack trace. */
function oneLine(stderr: string): string {
  assert.equal(stderr.trimEnd().split('\n').length, 1, stderr);
  assert.doesNotMatch(stderr, /\n\s+at /);
  return stderr.trim();
}

after(() => rmSync(scratch, { recursive: true, force: true }));

describe('faas tangle: configuration', () => {
  it('needs only the client variables: with the RPC URL and contract set and no operator key file, it talks to the chain', () => {
    for (const command of [
      ['tangle', 'status'],
      ['tangle', 'status', '--json'],
    ]) {
      const run = faas(command, { FAAS_TANGLE_RPC_URL: DEAD_RPC, FAAS_TANGLE_CONTRACT: CONTRACT });
      assert.equal(run.code, 1, run.stderr);
      const line = oneLine(run.stderr);
      assert.doesNotMatch(line, /no chain to talk to/);
      assert.match(line, /^faas: the RPC node at http:\/\/127\.0\.0\.1:1 did not answer \(.+\): is the chain up\?/);
    }
  });

  it('reads .env strictly: a malformed line is an error with the file and line, exit 2, whatever the flags say', () => {
    const env = join(scratch, 'spaces.env');
    writeFileSync(env, `# chain\nFAAS_TANGLE_RPC_URL = ${DEAD_RPC}\n`);
    for (const command of [
      ['tangle', 'status', '--dotenv', env],
      ['tangle', 'status', '--json', '--dotenv', env, '--rpc-url', DEAD_RPC, '--contract', CONTRACT],
    ]) {
      const run = faas(command);
      assert.equal(run.code, 2, run.stderr);
      assert.equal(
        oneLine(run.stderr),
        `faas: configuration error: ${env}:2: spaces around "=" in "FAAS_TANGLE_RPC_URL = ${DEAD_RPC}": write FAAS_TANGLE_RPC_URL=${DEAD_RPC}`,
      );
    }
    // .env in the current folder is read the same way.
    writeFileSync(join(scratch, '.env'), 'FAAS_TANGLE_CONTRACT: 0x00\n');
    try {
      const run = faas(['tangle', 'status', '--rpc-url', DEAD_RPC]);
      assert.equal(run.code, 2, run.stderr);
      assert.match(oneLine(run.stderr), /\.env:1: "FAAS_TANGLE_CONTRACT: 0x00" uses ":"; write FAAS_TANGLE_CONTRACT=0x00$/);
    } finally {
      rmSync(join(scratch, '.env'));
    }
  });

  it('names a bad client variable and where it was set; a flag given instead is not second-guessed', () => {
    const env = join(scratch, 'contract.env');
    writeFileSync(env, 'FAAS_TANGLE_CONTRACT=0x1234\n');
    const fromFile = faas(['tangle', 'status', '--dotenv', env, '--rpc-url', DEAD_RPC]);
    assert.equal(fromFile.code, 2, fromFile.stderr);
    assert.match(
      oneLine(fromFile.stderr),
      new RegExp(`FAAS_TANGLE_CONTRACT="0x1234" \\(from ${env}:1\\) is invalid: use the Tangle contract's address`),
    );

    const fromEnv = faas(['tangle', 'submit', 'execute', '--image', 'i', '--key-file', '/nonexistent', '--', 'true'], {
      FAAS_TANGLE_RPC_URL: 'localhost:8545',
    });
    assert.equal(fromEnv.code, 2, fromEnv.stderr);
    assert.match(
      oneLine(fromEnv.stderr),
      /FAAS_TANGLE_RPC_URL="localhost:8545" \(from the environment\) is invalid: use the http:\/\/ or https:\/\/ URL/,
    );

    const ids = faas(['tangle', 'status', '--rpc-url', DEAD_RPC, '--contract', CONTRACT], { FAAS_TANGLE_SERVICE_IDS: '0,x' });
    assert.equal(ids.code, 2, ids.stderr);
    assert.match(oneLine(ids.stderr), /FAAS_TANGLE_SERVICE_IDS="0,x" \(from the environment\) is invalid: "x" is not a service id/);

    // --rpc-url given: the variable is not read, so its mistake does not matter.
    const flag = faas(['tangle', 'status', '--rpc-url', DEAD_RPC, '--contract', CONTRACT], { FAAS_TANGLE_RPC_URL: 'localhost:8545' });
    assert.equal(flag.code, 1, flag.stderr);
    assert.match(oneLine(flag.stderr), /the RPC node at http:\/\/127\.0\.0\.1:1 did not answer/);
  });

  it('says what is missing when nothing names the chain', () => {
    const run = faas(['tangle', 'status']);
    assert.equal(run.code, 2, run.stderr);
    assert.equal(oneLine(run.stderr), 'faas: no chain to talk to: give --rpc-url URL (or set FAAS_TANGLE_RPC_URL)');
  });

  it('blueprint create checks the definition file before it sends anything', () => {
    const bad = join(scratch, 'definition.json');
    writeFileSync(bad, JSON.stringify({ createBlueprint: { metadataUri: 'x' } }));
    const run = faas([
      'tangle',
      'blueprint',
      'create',
      '--definition',
      bad,
      '--key-file',
      '/nonexistent',
      '--rpc-url',
      DEAD_RPC,
      '--contract',
      CONTRACT,
    ]);
    assert.equal(run.code, 2, run.stderr);
    assert.match(oneLine(run.stderr), /definition\.json: createBlueprint: "metadataHash" is missing$/);
  });
});

describe('--json and help everywhere', () => {
  it('faas config takes --json (its output is JSON either way)', () => {
    const plain = faas(['config'], { FAAS_DATA_DIR: join(scratch, 'data') });
    const json = faas(['config', '--json'], { FAAS_DATA_DIR: join(scratch, 'data') });
    assert.equal(json.code, 0, json.stderr);
    assert.deepEqual(JSON.parse(json.stdout), JSON.parse(plain.stdout));
  });

  it('faas tangle submit and status take --json', () => {
    for (const command of [
      ['tangle', 'submit', '--help'],
      ['tangle', 'status', '--help'],
      ['tangle', 'blueprint', 'create', '--help'],
    ]) {
      const run = faas(command);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /--json/, command.join(' '));
    }
  });

  it('--executor help lists every executor kind there is', () => {
    for (const command of [
      ['invoke', '--help'],
      ['tangle', 'submit', '--help'],
    ]) {
      const run = faas(command);
      assert.equal(run.code, 0, run.stderr);
      const line = /--executor <\w+>\s+(.*)/.exec(run.stdout)?.[1] ?? '';
      for (const kind of EXECUTOR_KINDS) assert.match(line, new RegExp(`\\b${kind}\\b`), `${command.join(' ')}: ${line}`);
    }
  });
});
