/** The key text: what is generated, what is accepted (exactly that), and what the store keeps. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { generateKey, hashSecret, KEY_ID, newKeyId, parseKey } from './keys.js';

describe('API key text', () => {
  it('is faas_<12 base32hex>_<43 base64url>, and its hash is the SHA-256 of the secret', () => {
    const key = generateKey();
    assert.match(key.text, /^faas_[0-9a-v]{12}_[A-Za-z0-9_-]{43}$/);
    assert.equal(key.text, `faas_${key.id}_${key.secret}`);
    assert.equal(Buffer.from(key.secret, 'base64url').length, 32);
    assert.deepEqual(key.secretHash, createHash('sha256').update(key.secret).digest());
    assert.deepEqual(hashSecret(key.secret), key.secretHash);
    assert.deepEqual(parseKey(key.text), { id: key.id, secret: key.secret });
  });

  it('ids are random and spread over the whole alphabet', () => {
    const ids = new Set(Array.from({ length: 2000 }, () => newKeyId()));
    assert.equal(ids.size, 2000);
    for (const id of ids) assert.match(id, KEY_ID);
    const chars = new Set([...ids].join(''));
    assert.equal(chars.size, 32);
  });

  it('every generated key parses, and each secret has one spelling only', () => {
    for (let i = 0; i < 500; i++) {
      const key = generateKey();
      assert.ok(parseKey(key.text), key.text);
    }
    // The last base64url character of 32 bytes carries 4 bits: the 2 low ones must be zero.
    const key = generateKey();
    const last = key.secret.at(-1) as string;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const twin = alphabet[alphabet.indexOf(last) + 1] as string;
    assert.deepEqual(Buffer.from(`${key.secret.slice(0, -1)}${twin}`, 'base64url'), Buffer.from(key.secret, 'base64url'));
    assert.equal(parseKey(`faas_${key.id}_${key.secret.slice(0, -1)}${twin}`), undefined);
  });

  it('refuses anything else', () => {
    const { id, secret, text } = generateKey();
    const bad = [
      '',
      'faas_',
      text.slice(0, -1),
      `${text}A`,
      ` ${text}`,
      `${text} `,
      `FAAS_${id}_${secret}`,
      `faas_${id.toUpperCase()}_${secret}`,
      `faas_${id}x_${secret}`,
      `faas_${id.slice(1)}_${secret}`,
      `faas_${id}-${secret}`,
      `faas_${id}_${secret.slice(0, 42)}+`,
      `faas_${id}_${secret.slice(0, 42)}=`,
      `faas_${id}_${secret}=`,
      `faas_${id.slice(0, 11)}w_${secret}`,
      `faas_admin_${secret}`,
      `faas_${id}_${secret}\n`,
    ];
    for (const candidate of bad) assert.equal(parseKey(candidate), undefined, JSON.stringify(candidate));
  });
});
