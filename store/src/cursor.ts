/**
 * Page cursors: the last sort key of a page, as base64url of a small JSON array tagged with the
 * list it belongs to. Opaque to callers, who pass `next_cursor` back unchanged; anything else
 * (edited, truncated, from another list) is refused as FAAS_ERR_INVALID_QUERY rather than read as
 * a position. A well-formed key a caller made up only moves where the page starts, which the
 * caller's own filters already allow.
 */
import { FaasError } from '@faas/common';

/**
 * Functions: the last id. History: the last (startedAt, id). Dead letters: the last (finishedAt, id).
 * API keys: the last (createdAt, id).
 */
type CursorKey = ['f', string] | ['h', number, string] | ['d', number, string] | ['k', number, string];

const MAX_CURSOR_CHARS = 2048;

function invalidCursor(): FaasError {
  return new FaasError(
    'FAAS_ERR_INVALID_QUERY',
    'cursor is not one this list issued: pass next_cursor from the previous page unchanged, or leave it out to start from the beginning',
    { details: { field: 'cursor' } },
  );
}

function encode(key: CursorKey): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

function decode(text: string): unknown {
  if (text.length === 0 || text.length > MAX_CURSOR_CHARS || !/^[A-Za-z0-9_-]+$/.test(text)) throw invalidCursor();
  const bytes = Buffer.from(text, 'base64url');
  // Node decodes leniently; only the canonical spelling is one the store wrote.
  if (bytes.toString('base64url') !== text) throw invalidCursor();
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    throw invalidCursor();
  }
}

export function functionCursor(lastId: string): string {
  return encode(['f', lastId]);
}

export function readFunctionCursor(text: string): string {
  const key = decode(text);
  if (Array.isArray(key) && key.length === 2 && key[0] === 'f' && typeof key[1] === 'string') return key[1];
  throw invalidCursor();
}

export function historyCursor(startedAt: number, id: string): string {
  return encode(['h', startedAt, id]);
}

/** A (time, id) position of the list `tag` names; a cursor of any other list is refused. */
function readTimeIdCursor(text: string, tag: 'h' | 'd' | 'k'): { time: number; id: string } {
  const key = decode(text);
  if (Array.isArray(key) && key.length === 3 && key[0] === tag && Number.isFinite(key[1]) && typeof key[2] === 'string') {
    return { time: key[1] as number, id: key[2] };
  }
  throw invalidCursor();
}

export function readHistoryCursor(text: string): { startedAt: number; id: string } {
  const { time, id } = readTimeIdCursor(text, 'h');
  return { startedAt: time, id };
}

export function deadLetterCursor(finishedAt: number, id: string): string {
  return encode(['d', finishedAt, id]);
}

export function readDeadLetterCursor(text: string): { finishedAt: number; id: string } {
  const { time, id } = readTimeIdCursor(text, 'd');
  return { finishedAt: time, id };
}

export function keyCursor(createdAt: number, id: string): string {
  return encode(['k', createdAt, id]);
}

export function readKeyCursor(text: string): { createdAt: number; id: string } {
  const { time, id } = readTimeIdCursor(text, 'k');
  return { createdAt: time, id };
}

/** `limit` of a list call: an integer 1-1000. */
export function checkLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
    throw new FaasError('FAAS_ERR_INVALID_QUERY', `limit must be an integer from 1 to 1000, got ${String(limit)}`);
  }
}
