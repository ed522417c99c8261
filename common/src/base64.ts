/**
 * Strict base64. `Buffer.from(s, 'base64')` silently skips invalid characters and accepts missing
 * padding, which would run a function on bytes the caller never sent; we reject such input instead.
 *
 * The check is one pass over the character codes: no regular expression, so its cost is linear and
 * its stack use constant whatever the length (a backtracking regex overflows V8's stack on inputs
 * of a few megabytes).
 */

/** Sextet value of each ASCII code in the standard alphabet (RFC 4648 section 4), -1 elsewhere. */
const SEXTET = new Int8Array(128).fill(-1);
for (const [i, c] of [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'].entries()) SEXTET[c.charCodeAt(0)] = i;
const PAD = 0x3d; // '='

function sextet(code: number): number {
  return code < 128 ? (SEXTET[code] as number) : -1;
}

/**
 * True for canonical standard base64: alphabet A-Z a-z 0-9 + /, length a multiple of 4, "=" only
 * as one or two final padding characters, and the unused low bits before the padding zero (so each
 * byte string has exactly one accepted encoding).
 */
export function isStrictBase64(value: string): boolean {
  const length = value.length;
  if (length % 4 !== 0) return false;
  if (length === 0) return true;
  let padding = 0;
  if (value.charCodeAt(length - 1) === PAD) padding = value.charCodeAt(length - 2) === PAD ? 2 : 1;
  const end = length - padding;
  for (let i = 0; i < end; i++) {
    if (sextet(value.charCodeAt(i)) < 0) return false;
  }
  if (padding === 0) return true;
  // The last data character carries 4 (one "=") or 2 (two "=") bits past the final byte; they must be zero.
  const last = sextet(value.charCodeAt(end - 1));
  return (last & (padding === 1 ? 0b11 : 0b1111)) === 0;
}

/** Decodes strict base64, or returns undefined if the text is not canonical standard base64. */
export function decodeStrictBase64(value: string): Buffer | undefined {
  if (!isStrictBase64(value)) return undefined;
  return Buffer.from(value, 'base64');
}

/** Length in bytes that strict base64 text decodes to, computed without decoding. */
export function decodedBase64Length(value: string): number {
  const padding = value.endsWith('==') ? 2 : value.endsWith('=') ? 1 : 0;
  return (value.length / 4) * 3 - padding;
}
