/**
 * `POST /functions/{function_id}/invoke`. A registered id runs its definition, with what the
 * request may add merged in (invocation-merge.ts); an unregistered id runs the design document's
 * ad-hoc SandboxConfig when FAAS_ALLOW_ADHOC allows it (invocation-source.ts). The `Invocation` goes
 * to the invocation core and its `Outcome` is answered (results.ts); with `Prefer: respond-async`
 * it is queued instead, durably, and answered 202 (async-invoke.ts).
 */
import { FaasError, type Invocation } from '@faas/common';
import type { FastifyInstance } from 'fastify';
import { acceptAsync, acceptedJson, prefersAsync, RESPOND_ASYNC, readIdempotencyKey, takeCallbackUrl } from './async-invoke.js';
import { callerOf } from './auth/concurrency.js';
import type { GatewayDeps } from './deps.js';
import { errorBody, INVOCATION_HEADER, sendFault } from './errors.js';
import { logInvocationEnd } from './invocation-log.js';
import { invocationSource } from './invocation-source.js';
import { toHttpAnswer } from './results.js';
import { fail, validateFunctionId, validationPolicy } from './validation.js';

export function registerInvokeRoute(app: FastifyInstance, deps: GatewayDeps): void {
  const { orchestrator, store, config } = deps;
  const policy = validationPolicy(config);
  const resolve = invocationSource(config, store, policy);

  app.post<{ Params: { function_id: string } }>('/functions/:function_id/invoke', async (request, reply) => {
    // The request id doubles as the invocation id; the server's request listener has already put
    // it in the x-faas-invocation-id header (and Fastify in every request log line, as reqId).
    const invocationId = request.id;
    const endLog = request.log;
    // A caller that hangs up does not get to keep a sandbox busy.
    const gone = new AbortController();
    reply.raw.on('close', () => {
      if (!reply.raw.writableFinished) gone.abort(new Error('client closed the connection'));
    });
    try {
      if (orchestrator.draining) throw new FaasError('FAAS_ERR_SHUTTING_DOWN');
      const respondAsync = prefersAsync(request.headers.prefer);
      const idempotencyKey = readIdempotencyKey(request.headers['idempotency-key']);
      if (idempotencyKey !== undefined && !respondAsync) {
        fail(
          'FAAS_ERR_INVALID_REQUEST',
          'Idempotency-Key applies to asynchronous invocations: send it with Prefer: respond-async (a synchronous call is answered once, on its own connection)',
          'idempotency-key',
        );
      }
      const functionId = validateFunctionId(request.params.function_id);
      // Every later line of this request (faults included) names the function too.
      request.log = request.log.child({ functionId });
      const { body, callbackUrl } = takeCallbackUrl(request.body, policy);
      if (callbackUrl !== null && !respondAsync) {
        fail(
          'FAAS_ERR_INVALID_REQUEST',
          'callback_url delivers the result of an asynchronous invocation: send it with Prefer: respond-async (a synchronous call answers the result itself)',
          'callback_url',
        );
      }
      const resolved = await resolve(functionId, body);
      const { input, registered } = resolved;
      if (respondAsync) {
        const { job, created } = await acceptAsync(config, store, {
          invocationId,
          functionId,
          body,
          resolved,
          principal: request.principal,
          idempotencyKey,
          callbackUrl,
        });
        deps.asyncControl?.wake();
        request.log.debug({ invocationId: job.id, created }, 'asynchronous invocation accepted');
        // A repeated idempotency key answers the invocation it made, under that invocation's id.
        return reply
          .code(202)
          .header(INVOCATION_HEADER, job.id)
          .header('location', `/invocations/${job.id}`)
          .header('preference-applied', RESPOND_ASYNC)
          .send(acceptedJson(job));
      }
      // The caller's key id, and its concurrency cap (auth/concurrency.ts) for the invocation core.
      const invocation: Invocation = { id: invocationId, ...input, ...callerOf(request.principal) };
      const functionVersion = registered?.record.version;
      const outcome = await orchestrator.invoke(invocation, { signal: gone.signal });
      logInvocationEnd(
        endLog,
        {
          invocationId,
          functionId: outcome.functionId,
          status: outcome.status,
          exitCode: outcome.exitCode,
          signal: outcome.signal,
          durationMs: outcome.durationMs,
          phases: outcome.phases,
        },
        gone.signal,
      );
      const answer = toHttpAnswer(outcome, input.timeoutMs, functionVersion);
      if ('body' in answer) return answer.body;
      // A timed-out or cancelled function is an outcome, logged above; not a fault to log again.
      return reply.code(answer.status).send(errorBody(answer.error, invocationId));
    } catch (err) {
      return sendFault(request, reply, err, gone.signal);
    }
  });
}
