/**
 * The invocation history routes (docs/API.md "Invocation history"): GET /functions/{id}/invocations,
 * GET /invocations/{id} (with the state of an asynchronous invocation: invocation-answer.ts),
 * GET /invocations/{id}/output. The auth hook checks the function of the first; the other two learn
 * it from the record, and refuse (403) a key limited to other functions.
 */
import { FaasError, HISTORY_STATUSES } from '@faas/common';
import type { HistoryFilter, HistoryStatus, InvocationRecord } from '@faas/store';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { assertFunctionAllowed } from './auth/principal.js';
import type { GatewayDeps } from './deps.js';
import { readInvocation } from './invocation-answer.js';
import { parseCursor, parseLimit, parseTime, readQuery } from './query.js';
import { validateFunctionId } from './validation.js';

const KEY_ID_MAX_LENGTH = 128;
/** Invocation ids are UUIDs; anything much longer cannot be one and is not looked up. */
export const INVOCATION_ID_MAX_LENGTH = 128;

/** An `Invocation` of the API: the record in snake_case, times in RFC 3339. */
export function toInvocationJson(record: InvocationRecord) {
  return {
    id: record.id,
    function_id: record.functionId,
    function_version: record.functionVersion,
    status: record.status,
    exit_code: record.exitCode,
    signal: record.signal,
    error: record.error,
    error_code: record.errorCode,
    executor: record.executor,
    key_id: record.keyId,
    phases: { queue_ms: record.queueMs, acquire_ms: record.acquireMs, run_ms: record.runMs },
    duration_ms: record.durationMs,
    stdin_bytes: record.stdinBytes,
    stdout_bytes: record.stdoutBytes,
    stderr_bytes: record.stderrBytes,
    truncated: record.truncated,
    output_truncated: record.outputTruncated,
    started_at: new Date(record.startedAt).toISOString(),
    finished_at: new Date(record.finishedAt).toISOString(),
  };
}

/** The `GET /functions/{id}/invocations` query into the store's filter. */
export function parseHistoryQuery(functionId: string, query: unknown): HistoryFilter {
  const q = readQuery(query, ['status', 'since', 'until', 'key_id', 'limit', 'cursor']);
  const filter: HistoryFilter = { functionId, limit: parseLimit(q.limit) };
  if (q.status !== undefined) {
    if (!HISTORY_STATUSES.includes(q.status as HistoryStatus)) {
      throw invalidQuery('status', `status must be one of ${HISTORY_STATUSES.join(', ')}`);
    }
    filter.status = q.status as HistoryStatus;
  }
  const since = parseTime('since', q.since);
  const until = parseTime('until', q.until);
  if (since !== undefined) filter.since = since;
  if (until !== undefined) filter.until = until;
  if (since !== undefined && until !== undefined && since > until) throw invalidQuery('since', 'since is later than until');
  if (q.key_id !== undefined) {
    if (q.key_id.length === 0 || q.key_id.length > KEY_ID_MAX_LENGTH) {
      throw invalidQuery('key_id', `key_id must be 1-${KEY_ID_MAX_LENGTH} characters`);
    }
    filter.keyId = q.key_id;
  }
  const cursor = parseCursor(q.cursor);
  if (cursor !== undefined) filter.cursor = cursor;
  return filter;
}

function invalidQuery(field: string, message: string): FaasError {
  return new FaasError('FAAS_ERR_INVALID_QUERY', message, { details: { field } });
}

export function notFound(id: string): FaasError {
  return new FaasError('FAAS_ERR_INVOCATION_NOT_FOUND', `no invocation "${id.slice(0, INVOCATION_ID_MAX_LENGTH)}" is in the history`);
}

export function registerHistoryRoutes(app: FastifyInstance, deps: GatewayDeps): void {
  const history = deps.store.history;

  /** The record of invocation `id`, if the caller may see its function. */
  const readRecord = async (request: FastifyRequest, id: string): Promise<InvocationRecord> => {
    const record = id.length <= INVOCATION_ID_MAX_LENGTH ? await history.get(id) : undefined;
    if (!record) throw notFound(id);
    assertFunctionAllowed(request.principal, record.functionId);
    return record;
  };

  app.get<{ Params: { function_id: string } }>('/functions/:function_id/invocations', async (request) => {
    const functionId = validateFunctionId(request.params.function_id);
    const page = await history.list(parseHistoryQuery(functionId, request.query));
    return { invocations: page.items.map(toInvocationJson), next_cursor: page.nextCursor };
  });

  // The history record, with the state of an asynchronous invocation (queued ones included).
  app.get<{ Params: { invocation_id: string } }>('/invocations/:invocation_id', async (request) => {
    const id = request.params.invocation_id;
    const found = id.length <= INVOCATION_ID_MAX_LENGTH ? await readInvocation(deps.store, id) : undefined;
    if (!found) throw notFound(id);
    assertFunctionAllowed(request.principal, found.functionId);
    return found.json;
  });

  app.get<{ Params: { invocation_id: string } }>('/invocations/:invocation_id/output', async (request) => {
    const id = request.params.invocation_id;
    if (id.length <= INVOCATION_ID_MAX_LENGTH && !(await history.get(id))) {
      // An asynchronous invocation none of whose attempts has ended yet: no output so far.
      const job = await deps.store.queue.get(id);
      if (job) {
        assertFunctionAllowed(request.principal, job.functionId);
        return { stdout_base64: '', stderr_base64: '', output_truncated: false };
      }
    }
    await readRecord(request, id);
    const output = await history.output(id);
    // Retention may remove the invocation between the two reads.
    if (!output) throw notFound(id);
    return {
      stdout_base64: output.stdout.toString('base64'),
      stderr_base64: output.stderr.toString('base64'),
      output_truncated: output.outputTruncated,
    };
  });
}
