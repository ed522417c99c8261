import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { isFaasError } from '@faas/common';
import { readKeyFile } from './key-file.js';

const KEY = '59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d';

describe('readKeyFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'faas-key-test-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, text: string, mode = 0o600) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    chmodSync(path, mode);
    return path;
  };

  it('reads one key, with or without 0x, and a trailing newline', () => {
    assert.equal(readKeyFile(write('a', `${KEY}\n`)), `0x${KEY}`);
    assert.equal(readKeyFile(write('b', `0x${KEY}`)), `0x${KEY}`);
  });

  it('refuses a file that group or others can read, naming the fix', () => {
    const path = write('c', KEY, 0o644);
    assert.throws(
      () => readKeyFile(path),
      (err: unknown) => isFaasError(err, 'FAAS_ERR_CONFIG') && err.message.includes(`chmod 600 ${path}`),
    );
  });

  it('refuses anything but a key, without echoing the content', () => {
    const path = write('d', 'not-a-key-but-a-secret-phrase');
    assert.throws(
      () => readKeyFile(path),
      (err: unknown) => isFaasError(err, 'FAAS_ERR_CONFIG') && !err.message.includes('secret-phrase'),
    );
    assert.throws(() => readKeyFile(join(dir, 'missing')), /cannot read it \(ENOENT\)/);
  });
});
