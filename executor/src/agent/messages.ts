/**
 * Message schemas of the guest agent protocol and their wire form (snake_case JSON, binary as
 * padded base64). Decoding is strict: unknown fields, wrong types, out-of-range integers and
 * non-canonical base64 are all rejected, because what the guest sends is attacker-controlled.
 * Key order on encode is fixed by the field tables below and pinned by the shared vectors.
 */
import { decodeStrictBase64 } from '@faas/common';

export type FrameTypeName =
  | 'HELLO'
  | 'EXEC'
  | 'RESET'
  | 'SHUTDOWN'
  | 'REFRESH'
  | 'HELLO_OK'
  | 'EXEC_RESULT'
  | 'RESET_OK'
  | 'SHUTDOWN_OK'
  | 'REFRESH_OK'
  | 'ERROR';

export interface HelloFrame {
  type: 'HELLO';
  protocolVersions: number[];
}
export interface HelloOkFrame {
  type: 'HELLO_OK';
  protocolVersion: number;
  agentVersion: string;
  capabilities: string[];
}
export interface ExecFrame {
  type: 'EXEC';
  command: string[];
  env: string[];
  cwd?: string;
  uid?: number;
  gid?: number;
  stdin: Buffer;
  timeoutMs: number;
  maxOutputBytes: number;
  /**
   * The command's RLIMIT_NPROC: a fork fails once its uid has this many processes and threads (0:
   * no fork at all). Absent: no limit. Only for agents that list the `max_processes` capability.
   */
  maxProcesses?: number;
}
export interface ExecResultFrame {
  type: 'EXEC_RESULT';
  stdout: Buffer;
  stderr: Buffer;
  combined: Buffer;
  exitCode: number | null;
  signal: string | null;
  truncated: boolean;
  timedOut: boolean;
  startError?: string;
  durationMs: number;
}
export interface ResetFrame {
  type: 'RESET';
  scratchDir?: string;
}
export interface ResetOkFrame {
  type: 'RESET_OK';
  killed: number;
}
export interface ShutdownFrame {
  type: 'SHUTDOWN';
}
export interface ShutdownOkFrame {
  type: 'SHUTDOWN_OK';
}
/** Sent to a VM restored from a snapshot: fresh entropy for its CRNG and the current time. */
export interface RefreshFrame {
  type: 'REFRESH';
  entropy: Buffer;
  unixTimeMs?: number;
}
export interface RefreshOkFrame {
  type: 'REFRESH_OK';
}
export interface ErrorFrame {
  type: 'ERROR';
  code: string;
  message: string;
}

export type Frame =
  | HelloFrame
  | HelloOkFrame
  | ExecFrame
  | ExecResultFrame
  | ResetFrame
  | ResetOkFrame
  | ShutdownFrame
  | ShutdownOkFrame
  | RefreshFrame
  | RefreshOkFrame
  | ErrorFrame;

/** Decode failure codes; the same strings appear in ERROR frames and in the shared vectors. */
export type ProtocolErrorCode = 'frame_too_large' | 'unknown_type' | 'invalid_body' | 'truncated';

export class ProtocolError extends Error {
  readonly code: ProtocolErrorCode;
  constructor(code: ProtocolErrorCode, message: string) {
    super(`${code}: ${message}`);
    this.name = 'ProtocolError';
    this.code = code;
  }
}

/** Largest text the host accepts in a guest-supplied string field (versions, errors, signals). */
const MAX_GUEST_TEXT = 4096;

type Kind = 'u32' | 'u64' | 'bool' | 'bytes' | 'string' | 'strings' | 'u32s' | 'exitCode' | 'signal' | 'code';
/** [wire key, camelCase key, kind, optional, nullable] in canonical wire order. */
type Field = readonly [string, string, Kind, boolean?, boolean?];

const OPTIONAL = true;
const NULLABLE = true;

const SCHEMAS: Readonly<Record<FrameTypeName, readonly Field[]>> = {
  HELLO: [['protocol_versions', 'protocolVersions', 'u32s']],
  HELLO_OK: [
    ['protocol_version', 'protocolVersion', 'u32'],
    ['agent_version', 'agentVersion', 'string'],
    ['capabilities', 'capabilities', 'strings'],
  ],
  EXEC: [
    ['command', 'command', 'strings'],
    ['env', 'env', 'strings'],
    ['cwd', 'cwd', 'string', OPTIONAL],
    ['uid', 'uid', 'u32', OPTIONAL],
    ['gid', 'gid', 'u32', OPTIONAL],
    ['stdin', 'stdin', 'bytes'],
    ['timeout_ms', 'timeoutMs', 'u64'],
    ['max_output_bytes', 'maxOutputBytes', 'u64'],
    ['max_processes', 'maxProcesses', 'u32', OPTIONAL],
  ],
  EXEC_RESULT: [
    ['stdout', 'stdout', 'bytes'],
    ['stderr', 'stderr', 'bytes'],
    ['combined', 'combined', 'bytes'],
    ['exit_code', 'exitCode', 'exitCode', false, NULLABLE],
    ['signal', 'signal', 'signal', false, NULLABLE],
    ['truncated', 'truncated', 'bool'],
    ['timed_out', 'timedOut', 'bool'],
    ['start_error', 'startError', 'string', OPTIONAL],
    ['duration_ms', 'durationMs', 'u64'],
  ],
  RESET: [['scratch_dir', 'scratchDir', 'string', OPTIONAL]],
  RESET_OK: [['killed', 'killed', 'u64']],
  SHUTDOWN: [],
  SHUTDOWN_OK: [],
  REFRESH: [
    ['entropy', 'entropy', 'bytes'],
    ['unix_time_ms', 'unixTimeMs', 'u64', OPTIONAL],
  ],
  REFRESH_OK: [],
  ERROR: [
    ['code', 'code', 'code'],
    ['message', 'message', 'string'],
  ],
};

/** Types only the guest sends: their strings get the tighter size limits. */
const FROM_GUEST = new Set<FrameTypeName>(['HELLO_OK', 'EXEC_RESULT', 'RESET_OK', 'SHUTDOWN_OK', 'REFRESH_OK', 'ERROR']);

class SchemaError extends Error {}

function isU32(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffff_ffff;
}

function isU64(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function text(v: unknown, key: string, guest: boolean): string {
  if (typeof v !== 'string') throw new SchemaError(`${key} must be a string`);
  if (guest && v.length > MAX_GUEST_TEXT) throw new SchemaError(`${key} is longer than ${MAX_GUEST_TEXT} characters`);
  return v;
}

function decodeValue(kind: Kind, v: unknown, key: string, guest: boolean): unknown {
  switch (kind) {
    case 'u32':
      if (!isU32(v)) throw new SchemaError(`${key} must be an integer in 0..4294967295`);
      return v;
    case 'u64':
      if (!isU64(v)) throw new SchemaError(`${key} must be a non-negative safe integer`);
      return v;
    case 'bool':
      if (typeof v !== 'boolean') throw new SchemaError(`${key} must be a boolean`);
      return v;
    case 'bytes': {
      const buf = typeof v === 'string' ? decodeStrictBase64(v) : undefined;
      // The common check accepts non-zero padding bits; requiring a round trip makes it canonical.
      if (buf === undefined || buf.toString('base64') !== v) throw new SchemaError(`${key} must be canonical padded base64`);
      return buf;
    }
    case 'string':
      return text(v, key, guest);
    case 'strings': {
      if (!Array.isArray(v)) throw new SchemaError(`${key} must be an array of strings`);
      if (guest && v.length > 64) throw new SchemaError(`${key} has more than 64 entries`);
      return v.map((s, i) => text(s, `${key}[${i}]`, guest));
    }
    case 'u32s':
      if (!Array.isArray(v) || v.length === 0 || v.length > 16 || !v.every(isU32)) {
        throw new SchemaError(`${key} must be 1 to 16 integers in 0..4294967295`);
      }
      return [...v];
    case 'exitCode':
      if (!Number.isInteger(v) || (v as number) < 0 || (v as number) > 255) {
        throw new SchemaError(`${key} must be an integer in 0..255 or null`);
      }
      return v;
    case 'signal':
      if (typeof v !== 'string' || !/^SIG[A-Z0-9]{1,12}$/.test(v)) throw new SchemaError(`${key} must be a signal name`);
      return v;
    case 'code':
      if (typeof v !== 'string' || !/^[a-z][a-z0-9_]{0,63}$/.test(v)) throw new SchemaError(`${key} must be a lower_snake_case code`);
      return v;
  }
}

/** Validates a parsed JSON body against the type's schema and returns the typed frame. */
export function frameFromWire(type: FrameTypeName, body: unknown): Frame {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw invalid('body must be a JSON object');
  }
  const fields = SCHEMAS[type];
  const guest = FROM_GUEST.has(type);
  const record = body as Record<string, unknown>;
  const out: Record<string, unknown> = { type };
  try {
    for (const key of Object.keys(record)) {
      if (!fields.some(([wire]) => wire === key)) throw new SchemaError(`unknown field ${JSON.stringify(key)}`);
    }
    for (const [wire, name, kind, optional = false, nullable = false] of fields) {
      const present = Object.hasOwn(record, wire);
      const v = record[wire];
      if (!present) {
        if (optional) continue;
        throw new SchemaError(`missing field ${wire}`);
      }
      out[name] = v === null && nullable ? null : decodeValue(kind, v, wire, guest);
    }
  } catch (err) {
    if (err instanceof SchemaError) throw invalid(`${type}: ${err.message}`);
    throw err;
  }
  return out as unknown as Frame;
}

/** The wire form of a frame: type name and snake_case body with keys in canonical order. */
export function frameToWire(frame: Frame): { type: FrameTypeName; body: Record<string, unknown> } {
  const source = frame as unknown as Record<string, unknown>;
  const body: Record<string, unknown> = {};
  for (const [wire, name, kind, optional = false] of SCHEMAS[frame.type]) {
    const v = source[name];
    if (v === undefined) {
      if (optional) continue;
      throw new TypeError(`${frame.type}.${name} is required`);
    }
    body[wire] = kind === 'bytes' ? (v as Buffer).toString('base64') : v;
  }
  return { type: frame.type, body };
}

function invalid(message: string): ProtocolError {
  return new ProtocolError('invalid_body', message);
}
