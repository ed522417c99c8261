/**
 * The routes of asynchronous invocations besides the invoke route itself (docs/API.md
 * "Asynchronous invocations"): cancelling one (`DELETE /invocations/{id}`), and the dead letters,
 * invocations that used up their attempts (`GET /dead-letters`, `POST /dead-letters/{id}/redrive`,
 * `DELETE /dead-letters/{id}`). Each learns the function from the stored invocation and refuses
 * (403) a key limited to other functions, as the history routes do.
 */
import { FaasError } from '@faas/common';
import type { AsyncJob } from '@faas/store';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { acceptedJson } from './async-invoke.js';
import { allowsFunction, assertFunctionAllowed } from './auth/principal.js';
import type { GatewayDeps } from './deps.js';
import { INVOCATION_ID_MAX_LENGTH, notFound } from './history-routes.js';
import { readInvocation } from './invocation-answer.js';
import { parseCursor, parseLimit, readQuery } from './query.js';
import { validateFunctionId } from './validation.js';

type IdParams = { Params: { invocation_id: string } };

/** Store pages read to fill one page of a key limited to some functions, before a short page is answered. */
const MAX_PAGES_PER_LIST = 20;
/** How long a cancel waits for a running invocation to be killed before it answers 202. */
const CANCEL_WAIT_MS = 5000;
const FINAL = new Set(['succeeded', 'failed', 'cancelled', 'dead']);

function deadLetterNotFound(id: string): FaasError {
  return new FaasError(
    'FAAS_ERR_DEAD_LETTER_NOT_FOUND',
    `no dead letter "${id.slice(0, INVOCATION_ID_MAX_LENGTH)}": the invocation is unknown, or is not dead (GET /invocations/{id} tells its state)`,
  );
}

/** A `DeadLetter` of the API. */
function deadLetterJson(job: AsyncJob) {
  return {
    invocation_id: job.id,
    function_id: job.functionId,
    function_version: job.functionVersion,
    key_id: job.keyId,
    attempts: job.attempts,
    max_attempts: job.maxAttempts,
    error: job.error,
    error_code: job.errorCode,
    accepted_at: new Date(job.acceptedAt).toISOString(),
    dead_at: new Date(job.finishedAt ?? job.updatedAt).toISOString(),
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function registerAsyncRoutes(app: FastifyInstance, deps: GatewayDeps): void {
  const { queue } = deps.store;

  /** The dead invocation `id`, if the caller may see its function; 404 when there is none. */
  const readDead = async (request: FastifyRequest, id: string): Promise<AsyncJob> => {
    const job = id.length <= INVOCATION_ID_MAX_LENGTH ? await queue.get(id) : undefined;
    if (job?.state !== 'dead') throw deadLetterNotFound(id);
    assertFunctionAllowed(request.principal, job.functionId);
    return job;
  };

  // A queued invocation never runs; a running one is killed by its worker (at once when it runs in
  // this process). 200 once it is cancelled, 202 when it still runs after CANCEL_WAIT_MS.
  app.delete<IdParams>('/invocations/:invocation_id', async (request, reply) => {
    const id = request.params.invocation_id;
    const job = id.length <= INVOCATION_ID_MAX_LENGTH ? await queue.get(id) : undefined;
    if (!job) {
      const record = id.length <= INVOCATION_ID_MAX_LENGTH ? await deps.store.history.get(id) : undefined;
      if (!record) throw notFound(id);
      assertFunctionAllowed(request.principal, record.functionId);
      throw new FaasError(
        'FAAS_ERR_INVOCATION_FINISHED',
        'this invocation ran synchronously and has ended; only asynchronous ones can be cancelled',
        {
          details: { state: 'finished' },
        },
      );
    }
    assertFunctionAllowed(request.principal, job.functionId);
    if (job.state !== 'cancelled' && FINAL.has(job.state)) {
      throw new FaasError('FAAS_ERR_INVOCATION_FINISHED', `this invocation is ${job.state} already and cannot be cancelled`, {
        details: { state: job.state },
      });
    }
    let now = await queue.cancel(id);
    // The worker kills a running one, and reports (callbacks) one that was cancelled while queued.
    if (now?.state === 'running' || (now?.state === 'cancelled' && job.state === 'queued')) deps.asyncControl?.cancel(id);
    if (now?.state === 'running') {
      const deadline = Date.now() + CANCEL_WAIT_MS;
      while (now?.state === 'running' && Date.now() < deadline) {
        await sleep(25);
        now = await queue.get(id);
      }
    }
    const found = await readInvocation(deps.store, id);
    if (!found) throw notFound(id);
    return reply.code(found.json.state === 'running' ? 202 : 200).send(found.json);
  });

  app.get('/dead-letters', async (request) => {
    const query = readQuery(request.query, ['function_id', 'limit', 'cursor']);
    const limit = parseLimit(query.limit);
    let cursor = parseCursor(query.cursor);
    let functionId: string | undefined;
    if (query.function_id !== undefined) {
      try {
        functionId = validateFunctionId(query.function_id);
      } catch (err) {
        throw new FaasError('FAAS_ERR_INVALID_QUERY', (err as Error).message, { details: { field: 'function_id' } });
      }
    }
    const principal = request.principal;
    const visible = (job: AsyncJob) => principal !== undefined && allowsFunction(principal, job.functionId);
    // A restricted key sees only its functions' letters; each store page asked for is what is still
    // missing, so the page answered ends where a store page ends and its cursor stays valid.
    const page: AsyncJob[] = [];
    for (let read = 0; read < MAX_PAGES_PER_LIST; read++) {
      const got = await queue.listDead({
        limit: limit - page.length,
        ...(cursor !== undefined ? { cursor } : {}),
        ...(functionId !== undefined ? { functionId } : {}),
      });
      page.push(...got.items.filter(visible));
      cursor = got.nextCursor ?? undefined;
      if (cursor === undefined || page.length >= limit) break;
    }
    return { dead_letters: page.map(deadLetterJson), next_cursor: cursor ?? null };
  });

  // Queued again with a fresh set of attempts: the function's max_attempts, or FAAS_ASYNC_MAX_ATTEMPTS.
  app.post<IdParams>('/dead-letters/:invocation_id/redrive', async (request, reply) => {
    const job = await readDead(request, request.params.invocation_id);
    const fn = job.functionVersion === null ? undefined : await deps.store.functions.get(job.functionId);
    const redriven = await queue.redrive(job.id, fn?.maxAttempts ?? deps.config.async.maxAttempts, undefined, {
      maxQueued: deps.config.async.maxQueued,
    });
    // Between the read and the write another caller redrove or discarded it.
    if (!redriven) throw deadLetterNotFound(job.id);
    deps.asyncControl?.wake();
    return reply.code(202).header('location', `/invocations/${job.id}`).send(acceptedJson(redriven));
  });

  app.delete<IdParams>('/dead-letters/:invocation_id', async (request, reply) => {
    const job = await readDead(request, request.params.invocation_id);
    if (!(await queue.discard(job.id))) throw deadLetterNotFound(job.id);
    return reply.code(204).send();
  });
}
