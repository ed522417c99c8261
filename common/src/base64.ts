/**
 * Strict base64. `Buffer.from(s, 'base64')` silently skips invalid characters and accepts missing
 * padding, which would run a function on bytes the caller never sent; we reject such input instead.
 */
const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function isStrictBase64(value: string): boolean {
  return STRICT_BASE64.test(value);
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
