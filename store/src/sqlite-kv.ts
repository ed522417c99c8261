/** Small durable values (cursors and markers of the front doors) on SQLite. */
import type { SqliteContext } from './sqlite-context.js';
import type { KvStore } from './types.js';

export function sqliteKv(ctx: SqliteContext): KvStore {
  const select = ctx.db.prepare<[string], string>('SELECT value FROM kv WHERE key = ?').pluck();
  const upsert = ctx.db.prepare<[string, string]>(
    'INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
  );
  return {
    async get(key) {
      return ctx.use(() => select.get(key));
    },
    async set(key, value) {
      ctx.use(() => upsert.run(key, value));
    },
  };
}
