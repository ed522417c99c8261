/**
 * Bytes, base64 and text without Node's Buffer, so that the SDK runs in browsers as it does in Node:
 * stdin goes to the gateway as standard base64 (RFC 4648, padded), output comes back the same way.
 */

const CHUNK = 0x8000;

/** Standard base64 of bytes (btoa takes a "binary string": one char per byte, built in chunks). */
export function bytesToBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += CHUNK) {
    binary += String.fromCharCode(...bytes.subarray(i, i + CHUNK));
  }
  return btoa(binary);
}

/** The bytes of standard base64; null or undefined (a field the gateway left out) is no bytes. */
export function base64ToBytes(text: string | null | undefined): Uint8Array {
  if (!text) return new Uint8Array(0);
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8');

/** Text as UTF-8 bytes; bytes as they are. */
export function toBytes(data: Uint8Array | string): Uint8Array {
  return typeof data === 'string' ? encoder.encode(data) : data;
}

/** Bytes as text: invalid UTF-8 becomes U+FFFD, so binary output never throws. */
export function bytesToText(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}
