/**
 * A strict reader of ABI-encoded parameter lists, for bytes that anyone on chain can write.
 *
 * Only the canonical encoding is accepted, the one `abi.encode` and viem's `encodeAbiParameters`
 * produce: every offset points exactly where the next dynamic value must start (no gaps, no
 * overlaps, no value read twice), padding is zero, integers fit their width, booleans are 0 or 1,
 * strings are valid UTF-8, and nothing follows the last value. A generic decoder follows offsets
 * wherever they point, so a few kilobytes whose offsets all point at one large string decode to
 * gigabytes; here the work is bounded by the input's size, which the caller bounds first.
 */
import type { JobParam } from '../jobs.js';

export type AbiValue = number | boolean | string | Uint8Array | string[];

/** Why bytes were refused: the parameter and what was wrong, for the error result. */
export class AbiDecodeError extends Error {
  override readonly name = 'AbiDecodeError';
}

const WORD = 32;
const utf8 = new TextDecoder('utf-8', { fatal: true });

function fail(message: string): never {
  throw new AbiDecodeError(message);
}

/** Reads `params` from `data`; throws AbiDecodeError naming the parameter at fault. */
export function readParams(data: Uint8Array, params: readonly JobParam[]): Record<string, AbiValue> {
  const reader = new Reader(data);
  const out: Record<string, AbiValue> = {};
  const head = params.length * WORD;
  if (data.length < head) fail(`the data is ${data.length} bytes, shorter than the ${head} bytes of its head (${params.length} words)`);
  if (data.length % WORD !== 0) fail(`the data is ${data.length} bytes, not a whole number of 32-byte words`);
  let tail = head;
  for (const [i, param] of params.entries()) {
    const at = i * WORD;
    if (isDynamic(param.type)) {
      const offset = reader.offset(at, param.name);
      if (offset !== tail) fail(`${param.name}: its offset is ${offset}, but the canonical encoding puts it at ${tail}`);
      const { value, size } = reader.dynamic(param, tail);
      out[param.name] = value;
      tail += size;
    } else {
      out[param.name] = reader.staticValue(param, at);
    }
  }
  if (tail !== data.length) fail(`${data.length - tail} bytes follow the last parameter`);
  return out;
}

/** Reads only the first word as a uint8: the version of a versioned parameter list. */
export function readVersion(data: Uint8Array): number {
  if (data.length < WORD) fail(`the data is ${data.length} bytes, too short to hold a version`);
  return new Reader(data).staticValue({ name: 'version', type: 'uint8' }, 0) as number;
}

function isDynamic(type: JobParam['type']): boolean {
  return type === 'string' || type === 'bytes' || type === 'string[]';
}

class Reader {
  constructor(private readonly data: Uint8Array) {}

  /** The word at `at` as a non-negative integer that fits in the data. */
  private size(at: number, what: string): number {
    if (at + WORD > this.data.length) fail(`${what}: the data ends before it (at byte ${at})`);
    for (let k = at; k < at + WORD - 6; k++) {
      if (this.data[k] !== 0) fail(`${what}: ${'0x'}${Buffer.from(this.data.subarray(at, at + WORD)).toString('hex')} is out of range`);
    }
    let n = 0;
    for (let k = at + WORD - 6; k < at + WORD; k++) n = n * 256 + (this.data[k] as number);
    if (n > this.data.length) fail(`${what}: ${n} is more than the ${this.data.length} bytes of the data`);
    return n;
  }

  offset(at: number, name: string): number {
    return this.size(at, `${name} (offset)`);
  }

  staticValue(param: JobParam, at: number): number | boolean {
    const word = this.data.subarray(at, at + WORD);
    const hex = () => `0x${Buffer.from(word).toString('hex')}`;
    switch (param.type) {
      case 'uint8':
      case 'uint32': {
        const bytes = param.type === 'uint8' ? 1 : 4;
        for (let k = 0; k < WORD - bytes; k++) if (word[k] !== 0) fail(`${param.name}: ${hex()} does not fit in ${param.type}`);
        let n = 0;
        for (let k = WORD - bytes; k < WORD; k++) n = n * 256 + (word[k] as number);
        return n;
      }
      case 'int16': {
        const negative = ((word[WORD - 2] as number) & 0x80) !== 0;
        const fill = negative ? 0xff : 0;
        for (let k = 0; k < WORD - 2; k++) if (word[k] !== fill) fail(`${param.name}: ${hex()} does not fit in int16`);
        const n = (word[WORD - 2] as number) * 256 + (word[WORD - 1] as number);
        return negative ? n - 0x10000 : n;
      }
      case 'bool': {
        for (let k = 0; k < WORD - 1; k++) if (word[k] !== 0) fail(`${param.name}: ${hex()} is not a bool (0 or 1)`);
        const b = word[WORD - 1] as number;
        if (b > 1) fail(`${param.name}: ${hex()} is not a bool (0 or 1)`);
        return b === 1;
      }
      default:
        return fail(`${param.name}: ${param.type} is not a static type`);
    }
  }

  /** A length-prefixed byte string at `at`: its bytes and its encoded size (length word, data, padding). */
  private bytesAt(at: number, what: string): { bytes: Uint8Array; size: number } {
    const length = this.size(at, `${what} (length)`);
    const start = at + WORD;
    const padded = Math.ceil(length / WORD) * WORD;
    if (start + padded > this.data.length) fail(`${what}: ${length} bytes are announced, but the data ends first`);
    for (let k = start + length; k < start + padded; k++) if (this.data[k] !== 0) fail(`${what}: its padding is not zero`);
    return { bytes: this.data.subarray(start, start + length), size: WORD + padded };
  }

  private text(bytes: Uint8Array, what: string): string {
    try {
      return utf8.decode(bytes);
    } catch {
      return fail(`${what}: not valid UTF-8`);
    }
  }

  dynamic(param: JobParam, at: number): { value: AbiValue; size: number } {
    if (param.type === 'bytes') {
      const { bytes, size } = this.bytesAt(at, param.name);
      return { value: Uint8Array.from(bytes), size };
    }
    if (param.type === 'string') {
      const { bytes, size } = this.bytesAt(at, param.name);
      return { value: this.text(bytes, param.name), size };
    }
    // string[]: a count, then one offset per element (relative to the word after the count), then the elements.
    const count = this.size(at, `${param.name} (count)`);
    const base = at + WORD;
    if (base + count * WORD > this.data.length) fail(`${param.name}: ${count} elements are announced, but the data ends first`);
    const values: string[] = [];
    let tail = count * WORD;
    for (let i = 0; i < count; i++) {
      const what = `${param.name}[${i}]`;
      const offset = this.size(base + i * WORD, `${what} (offset)`);
      if (offset !== tail) fail(`${what}: its offset is ${offset}, but the canonical encoding puts it at ${tail}`);
      const { bytes, size } = this.bytesAt(base + tail, what);
      values.push(this.text(bytes, what));
      tail += size;
    }
    return { value: values, size: WORD + tail };
  }
}
