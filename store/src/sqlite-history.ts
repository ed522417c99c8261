/**
 * The invocation history on SQLite. `record` is on every invocation's hot path: two prepared
 * upserts in one transaction, no reads. Output lives in its own table so that listing scans
 * small rows, and goes with its invocation through the foreign key (ON DELETE CASCADE).
 *
 * `prune` deletes in batches and yields to the event loop between them, so a large backlog (after
 * a retention change, or a long stop) costs many short pauses instead of one long one.
 */
import type { ExecutorKind } from '@faas/common';
import { FaasError, HISTORY_STATUSES } from '@faas/common';
import type Database from 'better-sqlite3';
import { checkLimit, historyCursor, readHistoryCursor } from './cursor.js';
import type { SqliteContext } from './sqlite-context.js';
import type { HistoryFilter, HistoryStatus, HistoryStore, InvocationRecord } from './types.js';

interface InvocationRow {
  id: string;
  function_id: string;
  function_version: number | null;
  status: string;
  exit_code: number | null;
  signal: string | null;
  error: string | null;
  error_code: string | null;
  executor: string;
  key_id: string | null;
  queue_ms: number;
  acquire_ms: number;
  run_ms: number;
  duration_ms: number;
  stdin_bytes: number;
  stdout_bytes: number;
  stderr_bytes: number;
  truncated: number;
  output_truncated: number;
  started_at: number;
  finished_at: number;
}

const FIELDS = [
  'id',
  'function_id',
  'function_version',
  'status',
  'exit_code',
  'signal',
  'error',
  'error_code',
  'executor',
  'key_id',
  'queue_ms',
  'acquire_ms',
  'run_ms',
  'duration_ms',
  'stdin_bytes',
  'stdout_bytes',
  'stderr_bytes',
  'truncated',
  'output_truncated',
  'started_at',
  'finished_at',
] as const;
const COLUMNS = FIELDS.join(', ');
const DEFAULT_PRUNE_BATCH = 500;

function toRecord(row: InvocationRow): InvocationRecord {
  return {
    id: row.id,
    functionId: row.function_id,
    functionVersion: row.function_version,
    status: row.status as HistoryStatus,
    exitCode: row.exit_code,
    signal: row.signal,
    error: row.error,
    errorCode: row.error_code,
    executor: row.executor as ExecutorKind,
    keyId: row.key_id,
    queueMs: row.queue_ms,
    acquireMs: row.acquire_ms,
    runMs: row.run_ms,
    durationMs: row.duration_ms,
    stdinBytes: row.stdin_bytes,
    stdoutBytes: row.stdout_bytes,
    stderrBytes: row.stderr_bytes,
    truncated: row.truncated === 1,
    outputTruncated: row.output_truncated === 1,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
  };
}

function invalidFilter(message: string): FaasError {
  return new FaasError('FAAS_ERR_INVALID_QUERY', message);
}

/** The SQL of one shape of history query; its parameters are pushed in the same order. */
function listQuery(filter: HistoryFilter, hasCursor: boolean): string {
  const where = ['function_id = ?'];
  if (filter.status !== undefined) where.push('status = ?');
  if (filter.since !== undefined) where.push('started_at >= ?');
  if (filter.until !== undefined) where.push('started_at <= ?');
  if (filter.keyId !== undefined) where.push('key_id = ?');
  if (hasCursor) where.push('(started_at < ? OR (started_at = ? AND id < ?))');
  return `SELECT ${COLUMNS} FROM invocations WHERE ${where.join(' AND ')} ORDER BY started_at DESC, id DESC LIMIT ?`;
}

const nextTick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export function sqliteHistory(ctx: SqliteContext, options: { pruneBatch?: number } = {}): HistoryStore {
  const { db } = ctx;
  const batch = options.pruneBatch ?? DEFAULT_PRUNE_BATCH;
  const upsert = db.prepare(
    `INSERT INTO invocations (${COLUMNS}) VALUES (${FIELDS.map(() => '?').join(', ')})
     ON CONFLICT (id) DO UPDATE SET ${FIELDS.slice(1)
       .map((f) => `${f} = excluded.${f}`)
       .join(', ')}`,
  );
  const upsertOutput = db.prepare<[string, Buffer, Buffer]>(
    `INSERT INTO invocation_outputs (invocation_id, stdout, stderr) VALUES (?, ?, ?)
     ON CONFLICT (invocation_id) DO UPDATE SET stdout = excluded.stdout, stderr = excluded.stderr`,
  );
  const selectOne = db.prepare<[string], InvocationRow>(`SELECT ${COLUMNS} FROM invocations WHERE id = ?`);
  const selectOutput = db.prepare<[string], { stdout: Buffer | null; stderr: Buffer | null; output_truncated: number }>(
    `SELECT o.stdout, o.stderr, i.output_truncated FROM invocations i
     LEFT JOIN invocation_outputs o ON o.invocation_id = i.id WHERE i.id = ?`,
  );
  const listQueries = new Map<string, Database.Statement<unknown[], InvocationRow>>();

  const pruneOld = db.prepare<[number, number]>(
    'DELETE FROM invocations WHERE id IN (SELECT id FROM invocations WHERE started_at < ? ORDER BY started_at LIMIT ?)',
  );
  const firstFunction = db.prepare<[], string>('SELECT function_id FROM invocations ORDER BY function_id LIMIT 1').pluck();
  const nextFunction = db
    .prepare<[string], string>('SELECT function_id FROM invocations WHERE function_id > ? ORDER BY function_id LIMIT 1')
    .pluck();
  const newestToDrop = db.prepare<[string, number], { started_at: number; id: string }>(
    'SELECT started_at, id FROM invocations WHERE function_id = ? ORDER BY started_at DESC, id DESC LIMIT 1 OFFSET ?',
  );
  const pruneFunction = db.prepare<[string, number, number, string, number]>(
    `DELETE FROM invocations WHERE id IN (SELECT id FROM invocations
       WHERE function_id = ? AND (started_at < ? OR (started_at = ? AND id <= ?)) ORDER BY started_at, id LIMIT ?)`,
  );

  const write = db.transaction((e: InvocationRecord, stdout: Buffer, stderr: Buffer) => {
    upsert.run(
      e.id,
      e.functionId,
      e.functionVersion,
      e.status,
      e.exitCode,
      e.signal,
      e.error,
      e.errorCode,
      e.executor,
      e.keyId,
      e.queueMs,
      e.acquireMs,
      e.runMs,
      e.durationMs,
      e.stdinBytes,
      e.stdoutBytes,
      e.stderrBytes,
      e.truncated ? 1 : 0,
      e.outputTruncated ? 1 : 0,
      e.startedAt,
      e.finishedAt,
    );
    upsertOutput.run(e.id, stdout, stderr);
  });

  const list = (filter: HistoryFilter) => {
    checkLimit(filter.limit);
    if (filter.status !== undefined && !HISTORY_STATUSES.includes(filter.status)) {
      throw invalidFilter(`status must be one of ${HISTORY_STATUSES.join(', ')}, got ${JSON.stringify(filter.status)}`);
    }
    for (const name of ['since', 'until'] as const) {
      const value = filter[name];
      if (value !== undefined && !Number.isFinite(value)) throw invalidFilter(`${name} must be a time in epoch milliseconds`);
    }
    const after = filter.cursor === undefined ? undefined : readHistoryCursor(filter.cursor);
    const sql = listQuery(filter, after !== undefined);
    const params: unknown[] = [filter.functionId];
    if (filter.status !== undefined) params.push(filter.status);
    if (filter.since !== undefined) params.push(filter.since);
    if (filter.until !== undefined) params.push(filter.until);
    if (filter.keyId !== undefined) params.push(filter.keyId);
    if (after) params.push(after.startedAt, after.startedAt, after.id);
    params.push(filter.limit + 1);
    return ctx.use(() => {
      let query = listQueries.get(sql);
      if (!query) {
        query = db.prepare<unknown[], InvocationRow>(sql);
        listQueries.set(sql, query);
      }
      const rows = query.all(...params);
      const more = rows.length > filter.limit;
      if (more) rows.pop();
      const last = rows[rows.length - 1];
      return { items: rows.map(toRecord), nextCursor: more && last ? historyCursor(last.started_at, last.id) : null };
    });
  };

  /** Deletes `step()`'s batches until one comes back short; returns the total. */
  const drain = async (step: () => number): Promise<number> => {
    let total = 0;
    for (;;) {
      const n = ctx.use(step);
      total += n;
      if (n < batch) return total;
      await nextTick();
    }
  };

  const pruneNow = async ({ olderThan, maxPerFunction }: { olderThan: number; maxPerFunction: number }): Promise<number> => {
    if (!Number.isFinite(olderThan) || !Number.isInteger(maxPerFunction) || maxPerFunction < 0) {
      throw new RangeError(`prune needs a time and a count of at least 0, got ${olderThan} and ${maxPerFunction}`);
    }
    let total = await drain(() => pruneOld.run(olderThan, batch).changes);
    // One function at a time, found by index seeks, so each step costs at most `maxPerFunction`
    // index entries however many functions and rows there are.
    let functionId = ctx.use(() => firstFunction.get());
    let steps = 0;
    while (functionId !== undefined) {
      const id = functionId;
      const cutoff = ctx.use(() => newestToDrop.get(id, maxPerFunction));
      if (cutoff) total += await drain(() => pruneFunction.run(id, cutoff.started_at, cutoff.started_at, cutoff.id, batch).changes);
      if (cutoff || ++steps % 100 === 0) await nextTick();
      functionId = ctx.use(() => nextFunction.get(id));
    }
    return total;
  };

  // A prune that outlasts its interval is not joined by the next: they run one after the other.
  let previous: Promise<unknown> = Promise.resolve();
  const prune = (options: { olderThan: number; maxPerFunction: number }): Promise<number> => {
    const run = previous.then(() => pruneNow(options));
    previous = run.catch(() => undefined);
    return run;
  };

  return {
    record(entry, output) {
      ctx.use(() => write(entry, output.stdout, output.stderr));
    },
    async get(id) {
      return ctx.use(() => {
        const row = selectOne.get(id);
        return row && toRecord(row);
      });
    },
    async output(id) {
      return ctx.use(() => {
        const row = selectOutput.get(id);
        if (!row) return undefined;
        return {
          stdout: row.stdout ?? Buffer.alloc(0),
          stderr: row.stderr ?? Buffer.alloc(0),
          outputTruncated: row.output_truncated === 1,
        };
      });
    },
    async list(filter) {
      return list(filter);
    },
    prune,
  };
}
