import assert from 'node:assert/strict';
import { chmodSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { isFaasError } from '@faas/common';
import { readOrCreateKeyFile } from './key-files.js';
import { withTempDir } from './test-fixtures.js';

const SECRET = 'f3e1c0ffee5ecret5ecret5ecret5ecret';

describe('readOrCreateKeyFile', () => {
  it('creates a missing file (0600) in a new folder (0700) with the generated value', async () => {
    await withTempDir((dir) => {
      const path = join(dir, 'data', 'admin.key');
      let calls = 0;
      const result = readOrCreateKeyFile(path, () => {
        calls++;
        return SECRET;
      });
      assert.deepEqual(result, { value: SECRET, created: true });
      assert.equal(calls, 1);
      assert.equal(readFileSync(path, 'utf8'), `${SECRET}\n`);
      assert.equal(statSync(path).mode & 0o777, 0o600);
      assert.equal(statSync(join(dir, 'data')).mode & 0o777, 0o700);
      assert.deepEqual(readdirSync(join(dir, 'data')), ['admin.key'], 'no temporary file left behind');
    });
  });

  it('reads an existing file, trimmed, without generating', async () => {
    await withTempDir((dir) => {
      const path = join(dir, 'secrets.key');
      writeFileSync(path, `  ${SECRET}\n\n`, { mode: 0o600 });
      const result = readOrCreateKeyFile(path, () => assert.fail('generated although the file exists'));
      assert.deepEqual(result, { value: SECRET, created: false });
    });
  });

  it('refuses a file other users can read, without showing its value', async () => {
    await withTempDir((dir) => {
      const path = join(dir, 'admin.key');
      writeFileSync(path, SECRET, { mode: 0o600 });
      for (const mode of [0o644, 0o640, 0o604, 0o620]) {
        chmodSync(path, mode);
        assert.throws(
          () => readOrCreateKeyFile(path, () => 'new'),
          (e: unknown) =>
            isFaasError(e, 'FAAS_ERR_CONFIG') &&
            e.message.includes(`mode 0${mode.toString(8)}`) &&
            e.message.includes(`chmod 600 ${path}`) &&
            !e.message.includes(SECRET),
        );
      }
      assert.equal(readFileSync(path, 'utf8'), SECRET, 'the file is left as it was');
    });
  });

  it('refuses an empty file rather than replacing it', async () => {
    await withTempDir((dir) => {
      const path = join(dir, 'secrets.key');
      writeFileSync(path, ' \n', { mode: 0o600 });
      assert.throws(
        () => readOrCreateKeyFile(path, () => 'new'),
        (e: unknown) => isFaasError(e, 'FAAS_ERR_CONFIG') && /is empty/.test(e.message),
      );
    });
  });

  it('a file another process created meanwhile wins, so both use one key', async () => {
    await withTempDir((dir) => {
      const path = join(dir, 'admin.key');
      const result = readOrCreateKeyFile(path, () => {
        writeFileSync(path, 'theirs\n', { mode: 0o600, flag: 'wx' });
        return 'mine';
      });
      assert.deepEqual(result, { value: 'theirs', created: false });
      assert.deepEqual(readdirSync(dir), ['admin.key']);
    });
  });

  it('a folder it cannot create is FAAS_ERR_CONFIG naming the path', async () => {
    await withTempDir((dir) => {
      writeFileSync(join(dir, 'file'), '');
      const path = join(dir, 'file', 'admin.key');
      assert.throws(
        () => readOrCreateKeyFile(path, () => SECRET),
        (e: unknown) => isFaasError(e, 'FAAS_ERR_CONFIG') && e.message.includes(path) && !e.message.includes(SECRET),
      );
    });
  });
});
