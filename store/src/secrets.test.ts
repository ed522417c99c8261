import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { createLoggerFactory, FaasError, isFaasError } from '@faas/common';
import Database from 'better-sqlite3';
import { secretBox } from './secrets.js';
import { functionInput, withStore } from './test-fixtures.js';

/** A value no other bytes of the database can hold by chance. */
const secretValue = () => `s3cr3t-${randomBytes(16).toString('hex')}`;

/** Every spelling of `value` that would give it away in a file. */
function spellings(value: string): Buffer[] {
  return [
    Buffer.from(value),
    Buffer.from(value, 'utf16le'),
    Buffer.from(Buffer.from(value).toString('base64')),
    Buffer.from(Buffer.from(value).toString('hex')),
  ];
}

describe('secret encryption (AES-256-GCM)', () => {
  it('seals with a fresh nonce each time, in a versioned blob, and opens only with the same function id and name', () => {
    const box = secretBox(randomBytes(32));
    const a = box.seal('fn', 'TOKEN', 'value');
    const b = box.seal('fn', 'TOKEN', 'value');
    assert.equal(a[0], 1, 'format byte');
    assert.equal(a.length, 1 + 12 + 5 + 16);
    assert.notDeepEqual(a.subarray(1, 13), b.subarray(1, 13), 'nonces differ');
    assert.equal(box.open('fn', 'TOKEN', a), 'value');
    assert.equal(box.open('fn', 'TOKEN', b), 'value');
    const refused = (e: unknown) => isFaasError(e, 'FAAS_ERR_STORE_UNAVAILABLE') && !e.message.includes('value');
    assert.throws(() => box.open('other', 'TOKEN', a), refused, 'bound to the function id');
    assert.throws(() => box.open('fn', 'OTHER', a), refused, 'bound to the name');
    const tampered = Buffer.from(a);
    tampered[14]! ^= 1;
    assert.throws(() => box.open('fn', 'TOKEN', tampered), refused, 'integrity checked');
    const future = Buffer.from(a);
    future[0] = 9;
    assert.throws(() => box.open('fn', 'TOKEN', future), /format this build does not know \(9\)/);
  });

  it('refuses a key that is not 32 bytes', () => {
    assert.throws(
      () => secretBox(randomBytes(16)),
      (e: unknown) => isFaasError(e, 'FAAS_ERR_CONFIG') && /16 bytes/.test(e.message),
    );
  });
});

describe('secrets in the store', () => {
  it('never writes a secret value to the database file or its write-ahead log', async () => {
    const value = secretValue();
    const changed = secretValue();
    await withStore(async ({ store, file, reopen }) => {
      await store.functions.create(functionInput('billing', { secrets: { STRIPE_KEY: value }, image: 'registry.example/billing:42' }));
      await store.functions.update('billing', { secrets: { OTHER: changed } });
      assert.ok(existsSync(`${file}-wal`), 'the write-ahead log exists while the store is open');
      const wal = readFileSync(`${file}-wal`);
      assert.ok(wal.includes('registry.example/billing:42'), 'the log holds the function (this test reads where the data went)');
      assert.ok(wal.includes('STRIPE_KEY'), 'names are stored in clear');
      for (const bytes of [wal, readFileSync(file)]) {
        for (const s of [...spellings(value), ...spellings(changed)]) assert.ok(!bytes.includes(s), 'a secret value is in the file');
      }
      await store.close();
      const db = readFileSync(file);
      assert.ok(db.includes('registry.example/billing:42'), 'checkpointed into the database at close');
      for (const s of [...spellings(value), ...spellings(changed)]) assert.ok(!db.includes(s), 'a secret value is in the database');
      const again = reopen();
      assert.deepEqual((await again.functions.resolveSecrets('billing'))?.secrets, [`OTHER=${changed}`, `STRIPE_KEY=${value}`]);
    });
  });

  it('resolves secrets exactly as they were set', async () => {
    await withStore(async ({ store }) => {
      const secrets = { EMPTY: '', EQUALS: 'a=b=c', UNICODE: 'пароль🔑', NEWLINE: 'line1\nline2', LONG: 'x'.repeat(100_000) };
      await store.functions.create(functionInput('r', { secrets }));
      const resolved = await store.functions.resolveSecrets('r');
      assert.deepEqual(
        resolved?.secrets,
        Object.entries(secrets)
          .sort(([a], [b]) => (a < b ? -1 : 1))
          .map(([k, v]) => `${k}=${v}`),
      );
      assert.deepEqual(resolved?.record, await store.functions.get('r'));
      assert.equal(await store.functions.resolveSecrets('missing'), undefined);
    });
  });

  it('fails clearly with another FAAS_SECRETS_KEY, without the value in the error or the log', async () => {
    const value = secretValue();
    const lines: string[] = [];
    const log = createLoggerFactory('trace', { write: (line: string) => void lines.push(line) }).for('store');
    await withStore(
      async ({ store, reopen }) => {
        await store.functions.create(functionInput('f', { secrets: { TOKEN: value } }));
        await store.close();
        const wrong = reopen({ secretsKey: randomBytes(32) });
        assert.equal((await wrong.functions.get('f'))?.secretNames.join(), 'TOKEN', 'the definition is still readable');
        const err = await wrong.functions.resolveSecrets('f').then(
          () => assert.fail('resolved with the wrong key'),
          (e: unknown) => e,
        );
        assert.ok(err instanceof FaasError);
        assert.equal(err.code, 'FAAS_ERR_STORE_UNAVAILABLE');
        assert.match(err.message, /^secrets cannot be decrypted with this FAAS_SECRETS_KEY/);
        assert.match(err.message, /"TOKEN" of function "f"/);
        for (const text of [err.message, String(err.stack), JSON.stringify(err.toJSON()), String((err.cause as Error)?.message)]) {
          assert.ok(!text.includes(value));
        }
      },
      { log },
    );
    assert.ok(lines.length > 0, 'the store logged (the check below looks at something)');
    assert.ok(!lines.join('').includes(value));
  });

  it('a blob copied onto another function does not open there', async () => {
    await withStore(async ({ store, file }) => {
      await store.functions.create(functionInput('a', { secrets: { TOKEN: secretValue() } }));
      await store.functions.create(functionInput('b', { secrets: { TOKEN: 'mine' } }));
      const db = new Database(file);
      try {
        db.prepare(
          "UPDATE function_secrets SET value = (SELECT value FROM function_secrets WHERE function_id = 'a') WHERE function_id = 'b'",
        ).run();
      } finally {
        db.close();
      }
      await assert.rejects(store.functions.resolveSecrets('b'), (e: unknown) => isFaasError(e, 'FAAS_ERR_STORE_UNAVAILABLE'));
    });
  });
});
