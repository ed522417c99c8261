/**
 * The functions registry on SQLite. Secrets live in their own table, one encrypted row per name,
 * so a PATCH that sets one secret never decrypts (or needs the key for) the others. Updates are a
 * compare-and-set on `version`, which is what If-Match needs on a database shared by gateways.
 */
import type { ExecutorKind, IsolationMode } from '@faas/common';
import { FaasError } from '@faas/common';
import { checkLimit, functionCursor, readFunctionCursor } from './cursor.js';
import type { SecretBox } from './secrets.js';
import { fromJson, type SqliteContext } from './sqlite-context.js';
import { isConstraint } from './sqlite-errors.js';
import type { FunctionInput, FunctionLimits, FunctionPatch, FunctionRecord, FunctionStore, Page } from './types.js';

interface FunctionRow {
  id: string;
  image: string;
  command: string;
  env: string;
  executor: string | null;
  pool_mode: string | null;
  limits: string;
  timeout_ms: number | null;
  max_concurrency: number | null;
  max_attempts: number | null;
  retry_on_failure: number;
  callback_url: string | null;
  allowed_env_vars: string;
  description: string;
  version: number;
  created_at: number;
  updated_at: number;
}

type Definition = Omit<FunctionInput, 'id' | 'secrets'>;
type RowValues = [
  string,
  string,
  string,
  string,
  string | null,
  string | null,
  string,
  number | null,
  number | null,
  number | null,
  number,
  string | null,
  string,
  string,
];

const COLUMNS =
  'id, image, command, env, executor, pool_mode, limits, timeout_ms, max_concurrency, max_attempts, retry_on_failure, callback_url, description, allowed_env_vars, version, created_at, updated_at';

function definitionValues(id: string, d: Definition): RowValues {
  return [
    id,
    d.image,
    JSON.stringify(d.command),
    JSON.stringify(d.env),
    d.executor,
    d.poolMode,
    JSON.stringify(d.limits),
    d.timeoutMs,
    d.maxConcurrency,
    d.maxAttempts ?? null,
    d.retryOnFailure ? 1 : 0,
    d.callbackUrl ?? null,
    d.description,
    JSON.stringify(d.allowedEnvVars ?? []),
  ];
}

function toRecord(row: FunctionRow, secretNames: string[]): FunctionRecord {
  return {
    id: row.id,
    image: row.image,
    command: fromJson<string[]>(row.command) ?? [],
    env: fromJson<string[]>(row.env) ?? [],
    allowedEnvVars: fromJson<string[]>(row.allowed_env_vars) ?? [],
    secretNames,
    executor: row.executor as ExecutorKind | null,
    poolMode: row.pool_mode as IsolationMode | null,
    limits: fromJson<FunctionLimits>(row.limits) ?? {},
    timeoutMs: row.timeout_ms,
    maxConcurrency: row.max_concurrency,
    maxAttempts: row.max_attempts,
    retryOnFailure: row.retry_on_failure === 1,
    callbackUrl: row.callback_url,
    description: row.description,
    version: row.version,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function notFound(id: string): FaasError {
  return new FaasError('FAAS_ERR_FUNCTION_NOT_FOUND', `no function is registered under ${JSON.stringify(id)}`);
}

function conflict(id: string, expected: number, stored: number): FaasError {
  return new FaasError(
    'FAAS_ERR_VERSION_CONFLICT',
    `function ${JSON.stringify(id)} is at version ${stored}, not ${expected}: read it again and retry`,
    { details: { version: stored } },
  );
}

export function sqliteFunctions(ctx: SqliteContext, box: SecretBox): FunctionStore {
  const { db } = ctx;
  const insert = db.prepare<[...RowValues, number, number, number]>(
    `INSERT INTO functions (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const selectOne = db.prepare<[string], FunctionRow>(`SELECT ${COLUMNS} FROM functions WHERE id = ?`);
  const selectNames = db.prepare<[string], string>('SELECT name FROM function_secrets WHERE function_id = ? ORDER BY name').pluck();
  const selectSecrets = db.prepare<[string], { name: string; value: Buffer }>(
    'SELECT name, value FROM function_secrets WHERE function_id = ? ORDER BY name',
  );
  const upsertSecret = db.prepare<[string, string, Buffer]>(
    'INSERT INTO function_secrets (function_id, name, value) VALUES (?, ?, ?) ON CONFLICT (function_id, name) DO UPDATE SET value = excluded.value',
  );
  const deleteSecret = db.prepare<[string, string]>('DELETE FROM function_secrets WHERE function_id = ? AND name = ?');
  const updateRow = db.prepare<
    [
      string,
      string,
      string,
      string | null,
      string | null,
      string,
      number | null,
      number | null,
      number | null,
      number,
      string | null,
      string,
      string,
      number,
      string,
      number,
    ]
  >(
    `UPDATE functions SET image = ?, command = ?, env = ?, executor = ?, pool_mode = ?, limits = ?, timeout_ms = ?,
       max_concurrency = ?, max_attempts = ?, retry_on_failure = ?, callback_url = ?, description = ?, allowed_env_vars = ?, updated_at = ?, version = version + 1
     WHERE id = ? AND version = ?`,
  );
  const deleteRow = db.prepare<[string]>('DELETE FROM functions WHERE id = ?');
  const firstPage = db.prepare<[number], FunctionRow>(`SELECT ${COLUMNS} FROM functions ORDER BY id LIMIT ?`);
  const nextPage = db.prepare<[string, number], FunctionRow>(`SELECT ${COLUMNS} FROM functions WHERE id > ? ORDER BY id LIMIT ?`);
  const namesBetween = db.prepare<[string, string], { function_id: string; name: string }>(
    'SELECT function_id, name FROM function_secrets WHERE function_id >= ? AND function_id <= ? ORDER BY function_id, name',
  );

  const read = (id: string): FunctionRecord | undefined => {
    const row = selectOne.get(id);
    return row && toRecord(row, selectNames.all(id));
  };

  // Two statements, one snapshot: another gateway's write between them cannot mix two versions.
  const readConsistent = db.transaction(read);
  const resolve = db.transaction((id: string) => {
    const record = read(id);
    if (!record) return undefined;
    const secrets = selectSecrets.all(id).map(({ name, value }) => `${name}=${box.open(id, name, value)}`);
    return { record, secrets };
  });

  const create = db.transaction((input: FunctionInput, now: number): FunctionRecord => {
    try {
      insert.run(...definitionValues(input.id, input), 1, now, now);
    } catch (err) {
      if (isConstraint(err, 'PRIMARYKEY')) {
        throw new FaasError('FAAS_ERR_FUNCTION_EXISTS', `a function is already registered under ${JSON.stringify(input.id)}`);
      }
      throw err;
    }
    for (const [name, value] of Object.entries(input.secrets)) upsertSecret.run(input.id, name, box.seal(input.id, name, value));
    return read(input.id)!;
  });

  const update = db.transaction((id: string, patch: FunctionPatch, expectedVersion: number | undefined, now: number): FunctionRecord => {
    const row = selectOne.get(id);
    if (!row) throw notFound(id);
    if (expectedVersion !== undefined && row.version !== expectedVersion) throw conflict(id, expectedVersion, row.version);
    const stored = toRecord(row, []);
    const next: Definition = {
      image: patch.image ?? stored.image,
      command: patch.command ?? stored.command,
      env: patch.env ?? stored.env,
      executor: patch.executor !== undefined ? patch.executor : stored.executor,
      poolMode: patch.poolMode !== undefined ? patch.poolMode : stored.poolMode,
      limits: patch.limits ?? stored.limits,
      timeoutMs: patch.timeoutMs !== undefined ? patch.timeoutMs : stored.timeoutMs,
      maxConcurrency: patch.maxConcurrency !== undefined ? patch.maxConcurrency : stored.maxConcurrency,
      maxAttempts: patch.maxAttempts !== undefined ? patch.maxAttempts : stored.maxAttempts,
      retryOnFailure: patch.retryOnFailure ?? stored.retryOnFailure,
      callbackUrl: patch.callbackUrl !== undefined ? patch.callbackUrl : stored.callbackUrl,
      description: patch.description ?? stored.description,
      allowedEnvVars: patch.allowedEnvVars ?? stored.allowedEnvVars,
    };
    const [, ...values] = definitionValues(id, next);
    // The version read above is the one compared here, so a writer that slipped in between (another
    // gateway on a shared database) makes this a conflict rather than a lost update.
    if (updateRow.run(...values, now, id, row.version).changes !== 1) throw conflict(id, row.version, selectOne.get(id)?.version ?? 0);
    for (const [name, value] of Object.entries(patch.secrets ?? {})) {
      if (value === null) deleteSecret.run(id, name);
      else upsertSecret.run(id, name, box.seal(id, name, value));
    }
    return read(id)!;
  });

  const remove = db.transaction((id: string, expectedVersion: number | undefined): boolean => {
    const row = selectOne.get(id);
    if (!row) return false;
    if (expectedVersion !== undefined && row.version !== expectedVersion) throw conflict(id, expectedVersion, row.version);
    return deleteRow.run(id).changes === 1;
  });

  const page = db.transaction((limit: number, after: string | undefined): Page<FunctionRecord> => {
    const rows = after === undefined ? firstPage.all(limit + 1) : nextPage.all(after, limit + 1);
    const more = rows.length > limit;
    if (more) rows.pop();
    const names = new Map<string, string[]>();
    if (rows.length > 0) {
      for (const { function_id, name } of namesBetween.all(rows[0]!.id, rows[rows.length - 1]!.id)) {
        const list = names.get(function_id);
        if (list) list.push(name);
        else names.set(function_id, [name]);
      }
    }
    return {
      items: rows.map((row) => toRecord(row, names.get(row.id) ?? [])),
      nextCursor: more ? functionCursor(rows[rows.length - 1]!.id) : null,
    };
  });

  return {
    async create(input, now = Date.now()) {
      return ctx.use(() => create.immediate(input, now));
    },
    async get(id) {
      return ctx.use(() => readConsistent(id));
    },
    async resolveSecrets(id) {
      return ctx.use(() => resolve(id));
    },
    async update(id, patch, expectedVersion, now = Date.now()) {
      return ctx.use(() => update.immediate(id, patch, expectedVersion, now));
    },
    async delete(id, expectedVersion) {
      return ctx.use(() => remove.immediate(id, expectedVersion));
    },
    async list({ limit, cursor }) {
      checkLimit(limit);
      const after = cursor === undefined ? undefined : readFunctionCursor(cursor);
      return ctx.use(() => page(limit, after));
    },
  };
}
