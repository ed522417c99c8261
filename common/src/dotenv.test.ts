import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { mergeDotenv, parseDotenv, readDotenv } from './dotenv.js';
import { FaasError } from './errors.js';

function values(text: string): Record<string, string> {
  return Object.fromEntries([...parseDotenv(text, '.env').entries].map(([k, v]) => [k, v.value]));
}

function rejects(text: string, message: RegExp) {
  assert.throws(
    () => parseDotenv(text, '/srv/faas/.env'),
    (e: unknown) => e instanceof FaasError && e.code === 'FAAS_ERR_CONFIG' && message.test(e.message),
  );
}

describe('parseDotenv', () => {
  it('reads the documented syntax', () => {
    const text = [
      '\uFEFF# a comment',
      '',
      '   # an indented comment',
      'FAAS_GATEWAY_PORT=9000',
      'export FAAS_POOL_MODE=reuse',
      'FAAS_LOG_LEVEL=warn,gateway=debug   # trailing comment',
      "FAAS_SANDBOX_USER='1000:1000'",
      'FAAS_POOL_PREWARM="faas/busybox:latest, faas/python:latest" # comment',
      'ESCAPED="a \\"quoted\\" \\\\ \\$HOME\\tx"',
      'HASH=a#b',
      'EMPTY=',
      'EMPTY_QUOTED=""',
      'DOCKER_HOST=unix:///var/run/docker.sock\r',
    ].join('\n');
    assert.deepEqual(values(text), {
      FAAS_GATEWAY_PORT: '9000',
      FAAS_POOL_MODE: 'reuse',
      FAAS_LOG_LEVEL: 'warn,gateway=debug',
      FAAS_SANDBOX_USER: '1000:1000',
      FAAS_POOL_PREWARM: 'faas/busybox:latest, faas/python:latest',
      ESCAPED: 'a "quoted" \\ $HOME\tx',
      HASH: 'a#b',
      EMPTY: '',
      EMPTY_QUOTED: '',
      DOCKER_HOST: 'unix:///var/run/docker.sock',
    });
    assert.equal(parseDotenv(text, '.env').entries.get('FAAS_POOL_MODE')?.line, 5);
  });

  it('rejects a junk line, naming the file and the line', () => {
    rejects('FAAS_GATEWAY_PORT=9000\njunk line\n', /^\/srv\/faas\/\.env:2: "junk line" is not a NAME=value line/);
  });
  it('rejects KEY = value', () => {
    rejects('FAAS_POOL_MODE = reuse', /^\/srv\/faas\/\.env:1: spaces around "=".*write FAAS_POOL_MODE=reuse/);
    rejects('FAAS_POOL_MODE =reuse', /spaces around "="/);
    rejects('FAAS_POOL_MODE= reuse', /spaces around "="/);
  });
  it('rejects KEY: value', () => {
    rejects('\nFAAS_POOL_MODE: reuse', /^\/srv\/faas\/\.env:2: .*uses ":"; write FAAS_POOL_MODE=reuse/);
  });
  it('rejects lower-case names', () => {
    rejects('faas_pool_mode=reuse', /^\/srv\/faas\/\.env:1: variable names are upper case: write FAAS_POOL_MODE/);
    rejects('Faas_Pool_Mode=reuse', /upper case/);
  });
  it('rejects unterminated quotes', () => {
    rejects('FAAS_POOL_MODE="reuse', /^\/srv\/faas\/\.env:1: FAAS_POOL_MODE: the value opens a double quote that is not closed/);
    rejects("FAAS_POOL_MODE='reuse", /single quote that is not closed/);
    rejects('FAAS_POOL_MODE="reuse\\"', /not closed/);
  });
  it('rejects other mistakes', () => {
    rejects('FAAS_POOL_MODE="reuse" extra', /unexpected text after the closing quote/);
    rejects('FAAS_POOL_MODE=re"use', /a quote inside an unquoted value/);
    rejects('FAAS_X="\\q"', /unknown escape/);
    rejects('1FAAS=1', /not a NAME=value line/);
    rejects('MY-VAR=1', /not a NAME=value line/);
    rejects('=value', /not a NAME=value line/);
    rejects('FAAS_POOL_MODE=reuse\nFAAS_POOL_MODE=off', /:2: FAAS_POOL_MODE is set twice \(lines 1 and 2\)/);
  });
});

describe('readDotenv and mergeDotenv', () => {
  it('reads a file, lets the environment win, and records where each value came from', () => {
    const dir = mkdtempSync(join(tmpdir(), 'faas-dotenv-'));
    try {
      const path = join(dir, '.env');
      assert.equal(readDotenv(path), undefined, 'a missing file is no error');
      writeFileSync(path, '# faas\nFAAS_GATEWAY_PORT=9000\nFAAS_POOL_MODE=reuse\n');
      const { env, sources } = mergeDotenv({ FAAS_GATEWAY_PORT: '7000', HOME: '/root' }, readDotenv(path));
      assert.equal(env.FAAS_GATEWAY_PORT, '7000');
      assert.equal(env.FAAS_POOL_MODE, 'reuse');
      assert.equal(env.HOME, '/root');
      assert.deepEqual(sources, { FAAS_POOL_MODE: `${path}:3` });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
