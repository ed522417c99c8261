/**
 * Codec tests: the shared vectors (the same file the Rust agent tests against), then streaming
 * behaviour on hostile input: every split point, oversize headers refused before their body
 * arrives, and random garbage that must fail with a ProtocolError, never anything else.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
  DEFAULT_MAX_FRAME_BYTES,
  decodeFrame,
  encodeFrame,
  FRAME_TYPES,
  type Frame,
  FrameDecoder,
  type FrameTypeName,
  frameFromWire,
  frameToWire,
  PROTOCOL_VERSION,
  ProtocolError,
} from './protocol.js';

interface Vector {
  name: string;
  description: string;
  direction?: string;
  message?: { type: FrameTypeName; body: unknown };
  hex: string;
  error?: string;
}

const VECTORS_URL = new URL('../../../common/test-vectors/agent-protocol.json', import.meta.url);
const doc = JSON.parse(readFileSync(VECTORS_URL, 'utf8')) as {
  protocol_version: number;
  max_frame_bytes: number;
  vectors: Vector[];
};
const valid = doc.vectors.filter((v) => v.message !== undefined);
const invalid = doc.vectors.filter((v) => v.error !== undefined);

/** A deterministic generator, so a failing fuzz case reproduces. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('shared test vectors', () => {
  it('match this build', () => {
    assert.equal(doc.protocol_version, PROTOCOL_VERSION);
    assert.equal(doc.max_frame_bytes, DEFAULT_MAX_FRAME_BYTES);
    assert.ok(valid.length >= 9 && invalid.length >= 10);
    assert.equal(new Set(valid.map((v) => v.message?.type)).size, Object.keys(FRAME_TYPES).length, 'every frame type has a vector');
  });

  for (const v of valid) {
    it(`${v.name}: encode == hex and decode(hex) == message`, () => {
      const message = v.message as { type: FrameTypeName; body: unknown };
      const frame = frameFromWire(message.type, message.body);
      assert.equal(encodeFrame(frame).toString('hex'), v.hex);
      assert.deepEqual(decodeFrame(Buffer.from(v.hex, 'hex')), frame);
      assert.deepEqual(frameToWire(frame), message);
    });
  }

  for (const v of invalid) {
    it(`${v.name}: decode fails with ${v.error}`, () => {
      assert.throws(
        () => decodeFrame(Buffer.from(v.hex, 'hex')),
        (err: unknown) => err instanceof ProtocolError && err.code === v.error,
      );
    });
  }
});

describe('FrameDecoder', () => {
  const stream = Buffer.concat(valid.map((v) => Buffer.from(v.hex, 'hex')));
  const expected = valid.map((v) => decodeFrame(Buffer.from(v.hex, 'hex')));

  it('decodes a stream split at every byte boundary', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      const d = new FrameDecoder();
      const frames = [...d.push(stream.subarray(0, cut)), ...d.push(stream.subarray(cut))];
      assert.deepEqual(frames, expected, `split at ${cut}`);
      assert.equal(d.bufferedBytes, 0);
      d.end();
    }
  });

  it('decodes a stream fed one byte at a time and in random chunks', () => {
    const one = new FrameDecoder();
    const frames: Frame[] = [];
    for (const byte of stream) frames.push(...one.push(Buffer.from([byte])));
    assert.deepEqual(frames, expected);
    const rand = prng(7);
    for (let round = 0; round < 50; round++) {
      const d = new FrameDecoder();
      const got: Frame[] = [];
      for (let i = 0; i < stream.length; ) {
        const n = 1 + Math.floor(rand() * 200);
        got.push(...d.push(stream.subarray(i, i + n)));
        i += n;
      }
      assert.deepEqual(got, expected);
    }
  });

  it('refuses an oversize frame from its header, before the body arrives', () => {
    const d = new FrameDecoder(1024);
    const header = Buffer.from([0, 0, 4, 1, 0x82]);
    assert.deepEqual(d.push(header.subarray(0, 4)), []);
    assert.throws(() => d.push(header.subarray(4)), { code: 'frame_too_large' });
    assert.equal(d.bufferedBytes, 0);
    // Once failed, it stays failed: the stream is out of step for good.
    assert.throws(() => d.push(Buffer.from(valid[0]?.hex ?? '', 'hex')), { code: 'frame_too_large' });
  });

  it('accepts a frame exactly at the limit and honours a lowered limit', () => {
    const frame: Frame = { type: 'ERROR', code: 'x', message: 'y'.repeat(100) };
    const bytes = encodeFrame(frame);
    assert.deepEqual(new FrameDecoder(bytes.length - 5).push(bytes), [frame]);
    assert.throws(() => new FrameDecoder(bytes.length - 6).push(bytes), { code: 'frame_too_large' });
  });

  it('rejects an unknown type from the header alone', () => {
    assert.throws(() => new FrameDecoder().push(Buffer.from([0, 0, 0, 100, 0x42])), { code: 'unknown_type' });
  });

  it('reports a stream that ends inside a frame', () => {
    const d = new FrameDecoder();
    d.push(Buffer.from(valid[0]?.hex ?? '', 'hex').subarray(0, 7));
    assert.throws(() => d.end(), { code: 'truncated' });
  });

  it('fails random garbage with a ProtocolError and nothing else', () => {
    const rand = prng(42);
    let failures = 0;
    for (let round = 0; round < 2000; round++) {
      const len = Math.floor(rand() * 64);
      const bytes = Buffer.alloc(len);
      for (let i = 0; i < len; i++) bytes[i] = Math.floor(rand() * 256);
      // Small lengths with a valid type are the interesting case: make some of them so.
      if (len >= 5 && round % 2 === 0) {
        bytes.writeUInt32BE(len - 5, 0);
        bytes[4] = [0x01, 0x02, 0x82, 0xff][round % 4] as number;
      }
      try {
        const d = new FrameDecoder(1 << 20);
        d.push(bytes);
        d.end();
      } catch (err) {
        assert.ok(err instanceof ProtocolError, `round ${round}: ${String(err)}`);
        failures++;
      }
    }
    assert.ok(failures > 1900);
  });

  it('survives mutated valid frames: each one decodes or fails with a ProtocolError', () => {
    const rand = prng(3);
    for (const v of valid) {
      const base = Buffer.from(v.hex, 'hex');
      for (let round = 0; round < 200; round++) {
        const bytes = Buffer.from(base);
        const i = 5 + Math.floor(rand() * (bytes.length - 5));
        bytes[i] = Math.floor(rand() * 256);
        try {
          decodeFrame(bytes);
        } catch (err) {
          assert.ok(err instanceof ProtocolError, `${v.name} byte ${i}: ${String(err)}`);
        }
      }
    }
  });
});

describe('guest field checks beyond the vectors', () => {
  const result = {
    stdout: '',
    stderr: '',
    combined: '',
    exit_code: 0,
    signal: null,
    truncated: false,
    timed_out: false,
    duration_ms: 1,
  };
  const cases: Array<[string, Record<string, unknown>]> = [
    ['exit code above 255', { exit_code: 256 }],
    ['exit code negative', { exit_code: -1 }],
    ['signal that is not a name', { exit_code: null, signal: 'kill -9; rm' }],
    ['huge start_error', { start_error: 'x'.repeat(5000) }],
    ['unsafe integer', { duration_ms: 2 ** 60 }],
    ['prototype key', JSON.parse('{"__proto__": 1}') as Record<string, unknown>],
  ];
  for (const [name, patch] of cases) {
    it(`rejects EXEC_RESULT with ${name}`, () => {
      assert.throws(() => frameFromWire('EXEC_RESULT', { ...result, ...patch }), { code: 'invalid_body' });
    });
  }

  it('rejects an ERROR code that is not lower_snake_case and too many capabilities', () => {
    assert.throws(() => frameFromWire('ERROR', { code: 'Bad Code', message: '' }), { code: 'invalid_body' });
    const caps = Array.from({ length: 65 }, (_, i) => `c${i}`);
    assert.throws(() => frameFromWire('HELLO_OK', { protocol_version: 1, agent_version: '1', capabilities: caps }), {
      code: 'invalid_body',
    });
  });

  it('rejects a body with a byte-order mark', () => {
    const body = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{}')]);
    const frame = Buffer.concat([Buffer.from([0, 0, 0, body.length, 0x84]), body]);
    assert.throws(() => decodeFrame(frame), { code: 'invalid_body' });
  });
});
