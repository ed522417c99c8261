/**
 * Framing for the guest agent protocol (docs/guest-agent-protocol.md): `u32 BE body length |
 * u8 type | JSON body`. The guest is untrusted, so the streaming decoder checks the length field
 * against its limit as soon as the 5 header bytes are in, before it buffers any body, and every
 * body goes through the strict schema in messages.ts.
 */
import { type Frame, type FrameTypeName, frameFromWire, frameToWire, ProtocolError } from './messages.js';

export * from './messages.js';

/** Version of the frame layout and message schemas; must equal the agent's. */
export const PROTOCOL_VERSION = 1;
export const HEADER_BYTES = 5;
/** Largest body either side accepts by default (the agent's own limit). */
export const DEFAULT_MAX_FRAME_BYTES = 64 * 1024 * 1024;

export const FRAME_TYPES: Readonly<Record<FrameTypeName, number>> = Object.freeze({
  HELLO: 0x01,
  EXEC: 0x02,
  RESET: 0x03,
  SHUTDOWN: 0x04,
  // 0x05 stays unassigned: the shared vectors pin it as an unknown type.
  REFRESH: 0x06,
  HELLO_OK: 0x81,
  EXEC_RESULT: 0x82,
  RESET_OK: 0x83,
  SHUTDOWN_OK: 0x84,
  REFRESH_OK: 0x86,
  ERROR: 0xff,
});

const TYPE_NAMES = new Map<number, FrameTypeName>(Object.entries(FRAME_TYPES).map(([name, byte]) => [byte, name as FrameTypeName]));

/** Rejects a BOM instead of silently stripping it, as the agent's JSON parser does. */
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export function encodeFrame(frame: Frame): Buffer {
  const { type, body } = frameToWire(frame);
  const json = Buffer.from(JSON.stringify(body), 'utf8');
  const out = Buffer.allocUnsafe(HEADER_BYTES + json.length);
  out.writeUInt32BE(json.length, 0);
  out.writeUInt8(FRAME_TYPES[type], 4);
  json.copy(out, HEADER_BYTES);
  return out;
}

function typeName(byte: number): FrameTypeName {
  const name = TYPE_NAMES.get(byte);
  if (name === undefined) {
    throw new ProtocolError('unknown_type', `frame type 0x${byte.toString(16).padStart(2, '0')} is not defined`);
  }
  return name;
}

function checkLength(length: number, maxFrameBytes: number): void {
  if (length > maxFrameBytes) {
    throw new ProtocolError('frame_too_large', `frame body of ${length} bytes exceeds the limit of ${maxFrameBytes}`);
  }
}

function decodeBody(type: FrameTypeName, body: Buffer): Frame {
  let parsed: unknown;
  try {
    parsed = JSON.parse(utf8.decode(body));
  } catch (err) {
    throw new ProtocolError('invalid_body', `body is not UTF-8 JSON (${(err as Error).message})`);
  }
  return frameFromWire(type, parsed);
}

/** Decodes exactly one frame from a complete buffer; throws ProtocolError. */
export function decodeFrame(buf: Buffer, maxFrameBytes = DEFAULT_MAX_FRAME_BYTES): Frame {
  if (buf.length < HEADER_BYTES) throw new ProtocolError('truncated', 'fewer than 5 header bytes');
  const length = buf.readUInt32BE(0);
  checkLength(length, maxFrameBytes);
  if (buf.length < HEADER_BYTES + length) throw new ProtocolError('truncated', 'stream ended inside a frame body');
  if (buf.length > HEADER_BYTES + length) throw new ProtocolError('invalid_body', 'trailing bytes after the frame');
  const type = typeName(buf.readUInt8(4));
  return decodeBody(type, buf.subarray(HEADER_BYTES));
}

/**
 * Incremental decoder for a byte stream. After it throws once it stays failed: a stream that
 * produced one bad frame cannot be trusted to be in step again.
 */
export class FrameDecoder {
  /** May be lowered per request, so that a response larger than the request can produce is refused. */
  maxFrameBytes: number;
  private chunks: Buffer[] = [];
  private buffered = 0;
  private failure: ProtocolError | undefined;

  constructor(maxFrameBytes = DEFAULT_MAX_FRAME_BYTES) {
    this.maxFrameBytes = maxFrameBytes;
  }

  get bufferedBytes(): number {
    return this.buffered;
  }

  push(chunk: Buffer): Frame[] {
    if (this.failure) throw this.failure;
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    const frames: Frame[] = [];
    try {
      for (;;) {
        const frame = this.next();
        if (frame === undefined) return frames;
        frames.push(frame);
      }
    } catch (err) {
      this.failure = err instanceof ProtocolError ? err : new ProtocolError('invalid_body', String(err));
      this.chunks = [];
      this.buffered = 0;
      throw this.failure;
    }
  }

  /** Call at end of stream: bytes left over mean the peer stopped inside a frame. */
  end(): void {
    if (this.failure) throw this.failure;
    if (this.buffered > 0) {
      this.failure = new ProtocolError('truncated', `stream ended with ${this.buffered} bytes of an unfinished frame`);
      throw this.failure;
    }
  }

  private next(): Frame | undefined {
    if (this.buffered < HEADER_BYTES) return undefined;
    const header = this.peek(HEADER_BYTES);
    const length = header.readUInt32BE(0);
    checkLength(length, this.maxFrameBytes);
    const type = typeName(header.readUInt8(4));
    if (this.buffered < HEADER_BYTES + length) return undefined;
    const whole = this.take(HEADER_BYTES + length);
    return decodeBody(type, whole.subarray(HEADER_BYTES));
  }

  private peek(n: number): Buffer {
    const first = this.chunks[0];
    if (first !== undefined && first.length >= n) return first.subarray(0, n);
    const joined = Buffer.concat(this.chunks);
    this.chunks = [joined];
    return joined.subarray(0, n);
  }

  private take(n: number): Buffer {
    const joined = this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks);
    this.chunks = joined.length > n ? [joined.subarray(n)] : [];
    this.buffered -= n;
    return joined.subarray(0, n);
  }
}
