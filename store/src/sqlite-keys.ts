/**
 * API keys on SQLite: the SHA-256 of each key's secret part, never the key. `touch` sits on every
 * authenticated request, so it writes at most once a minute per key and remembers in memory when
 * it last did.
 */
import { checkLimit, keyCursor, readKeyCursor } from './cursor.js';
import type { SqliteContext } from './sqlite-context.js';
import { fromJson } from './sqlite-context.js';
import type { KeyInput, KeyRecord, KeyStore, Page, Scope } from './types.js';

interface KeyRow {
  id: string;
  name: string;
  scopes: string;
  functions: string | null;
  rate_per_second: number | null;
  rate_burst: number | null;
  max_concurrency: number | null;
  created_at: number;
  expires_at: number | null;
  revoked_at: number | null;
  last_used_at: number | null;
}

const COLUMNS =
  'id, name, scopes, functions, rate_per_second, rate_burst, max_concurrency, created_at, expires_at, revoked_at, last_used_at';
/** How stale `lastUsedAt` may get: one write a minute per key instead of one per request. */
const TOUCH_INTERVAL_MS = 60_000;

function toRecord(row: KeyRow): KeyRecord {
  return {
    id: row.id,
    name: row.name,
    scopes: fromJson<Scope[]>(row.scopes) ?? [],
    functions: fromJson<string[]>(row.functions),
    ratePerSecond: row.rate_per_second,
    rateBurst: row.rate_burst,
    maxConcurrency: row.max_concurrency,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
    lastUsedAt: row.last_used_at,
  };
}

export function sqliteKeys(ctx: SqliteContext): KeyStore {
  const { db } = ctx;
  const insert = db.prepare<
    [string, Buffer, string, string, string | null, number | null, number | null, number | null, number, number | null]
  >(
    `INSERT INTO api_keys (id, secret_hash, name, scopes, functions, rate_per_second, rate_burst, max_concurrency, created_at, expires_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const selectOne = db.prepare<[string], KeyRow>(`SELECT ${COLUMNS} FROM api_keys WHERE id = ?`);
  const selectWithHash = db.prepare<[string], KeyRow & { secret_hash: Buffer }>(
    `SELECT ${COLUMNS}, secret_hash FROM api_keys WHERE id = ?`,
  );
  // Oldest first on the index api_keys_created: a key made between two pages sorts after them.
  const firstPage = db.prepare<[number], KeyRow>(`SELECT ${COLUMNS} FROM api_keys ORDER BY created_at, id LIMIT ?`);
  const nextPage = db.prepare<[number, number, string, number], KeyRow>(
    `SELECT ${COLUMNS} FROM api_keys WHERE created_at > ? OR (created_at = ? AND id > ?) ORDER BY created_at, id LIMIT ?`,
  );
  const revoke = db.prepare<[number, string]>('UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL');
  const exists = db.prepare<[string], number>('SELECT 1 FROM api_keys WHERE id = ?').pluck();
  const touch = db.prepare<[number, string, number]>(
    'UPDATE api_keys SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)',
  );
  const lastTouched = new Map<string, number>();

  // Creation times strictly increase, so a key made while someone pages sorts after every key made
  // before it, even in the same millisecond (or after the clock stepped back): paging by
  // (created_at, id) then never skips one.
  const lastCreated = db.prepare<[], number | null>('SELECT MAX(created_at) FROM api_keys').pluck();
  const create = db.transaction((input: KeyInput, at: number): KeyRecord => {
    const now = Math.max(at, (lastCreated.get() ?? 0) + 1);
    insert.run(
      input.id,
      input.secretHash,
      input.name,
      JSON.stringify(input.scopes),
      input.functions === null ? null : JSON.stringify(input.functions),
      input.ratePerSecond,
      input.rateBurst,
      input.maxConcurrency ?? null,
      now,
      input.expiresAt,
    );
    return toRecord(selectOne.get(input.id)!);
  });
  const page = (limit: number, after: { createdAt: number; id: string } | undefined): Page<KeyRecord> => {
    const rows = after === undefined ? firstPage.all(limit + 1) : nextPage.all(after.createdAt, after.createdAt, after.id, limit + 1);
    const more = rows.length > limit;
    if (more) rows.pop();
    const last = rows[rows.length - 1];
    return { items: rows.map(toRecord), nextCursor: more && last ? keyCursor(last.created_at, last.id) : null };
  };
  // A second revocation keeps the first time, and still reports that the key exists.
  const revokeKey = db.transaction((id: string, now: number): boolean => revoke.run(now, id).changes === 1 || exists.get(id) !== undefined);

  return {
    async create(input, now = Date.now()) {
      return ctx.use(() => create.immediate(input, now));
    },
    async lookup(id) {
      return ctx.use(() => {
        const row = selectWithHash.get(id);
        return row && { record: toRecord(row), secretHash: row.secret_hash };
      });
    },
    async get(id) {
      return ctx.use(() => {
        const row = selectOne.get(id);
        return row && toRecord(row);
      });
    },
    async list({ limit, cursor }) {
      checkLimit(limit);
      const after = cursor === undefined ? undefined : readKeyCursor(cursor);
      return ctx.use(() => page(limit, after));
    },
    async revoke(id, now = Date.now()) {
      return ctx.use(() => revokeKey.immediate(id, now));
    },
    touch(id, now = Date.now()) {
      const last = lastTouched.get(id);
      if (last !== undefined && now - last < TOUCH_INTERVAL_MS) return;
      lastTouched.set(id, now);
      // Best effort by design: a request must not fail because its key's last use was not noted.
      try {
        ctx.use(() => touch.run(now, id, now - TOUCH_INTERVAL_MS + 1));
      } catch (err) {
        ctx.log.warn({ err, keyId: id }, 'could not record the last use of an API key');
      }
    },
  };
}
