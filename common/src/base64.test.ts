import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodedBase64Length, decodeStrictBase64, isStrictBase64 } from './base64.js';

describe('strict base64', () => {
  it('accepts canonical standard base64 of every length modulo 3, and the empty string', () => {
    for (const length of [0, 1, 2, 3, 4, 5, 255, 256, 257]) {
      const bytes = Buffer.from(Array.from({ length }, (_, i) => (i * 37 + 11) % 256));
      const text = bytes.toString('base64');
      assert.ok(isStrictBase64(text), text);
      assert.deepEqual(decodeStrictBase64(text), bytes);
      assert.equal(decodedBase64Length(text), length);
    }
  });

  it('rejects other alphabets, whitespace, missing or misplaced padding, and non-ASCII', () => {
    for (const text of [
      'SGVsbG8',
      'SGVsbG8==',
      'SGVsbG8===',
      '=SGVsbG8',
      'SG=sbG8=',
      '====',
      'A===',
      'SGVs bG8=',
      'SGVsbG8=\n',
      '\nSGVsbG8=',
      '-_-_',
      'SGVsbG8_',
      'SGVsbG8\u0000',
      'SGVsbGé=',
      'SGVsbG\ud800',
      'ＳＧＶｓ',
    ]) {
      assert.equal(isStrictBase64(text), false, JSON.stringify(text));
      assert.equal(decodeStrictBase64(text), undefined, JSON.stringify(text));
    }
  });

  it('rejects non-canonical encodings whose unused bits before the padding are set', () => {
    assert.ok(isStrictBase64('AA=='));
    assert.ok(isStrictBase64('AAA='));
    for (const text of ['AB==', 'AP==', 'AAB=', 'AAD=', 'SGVsbG9=']) assert.equal(isStrictBase64(text), false, text);
  });

  it('checks multi-megabyte strings without overflowing the stack (4,000,000 bytes of "A")', () => {
    const bytes = Buffer.alloc(4_000_000, 'A');
    const text = bytes.toString('base64');
    assert.equal(text.length, 5_333_336);
    assert.ok(isStrictBase64(text));
    assert.deepEqual(decodeStrictBase64(text), bytes);
    assert.equal(isStrictBase64(`${text.slice(0, -4)}!AAA`), false);
    assert.equal(isStrictBase64(`${'AAAA'.repeat(3)}${text}`), true);
    assert.equal(isStrictBase64(`${text}AAAA`), false, 'padding in the middle');
  });
});
