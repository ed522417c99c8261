/**
 * `POST /functions/{function_id}/invoke`: the design document's route. Validates the request into
 * an `Invocation`, hands it to the invocation core and answers its `Outcome` (results.ts).
 */
import { FaasError } from '@faas/common';
import type { FastifyInstance } from 'fastify';
import type { GatewayDeps } from './deps.js';
import { errorBody, sendFault } from './errors.js';
import { logInvocationEnd } from './invocation-log.js';
import { toHttpAnswer } from './results.js';
import { validateSandboxConfig, validationPolicy } from './validation.js';

export function registerInvokeRoute(app: FastifyInstance, deps: GatewayDeps): void {
  const { orchestrator } = deps;
  const policy = validationPolicy(deps.config);
  app.post<{ Params: { function_id: string } }>('/functions/:function_id/invoke', async (request, reply) => {
    // The request id doubles as the invocation id; the server's request listener has already put
    // it in the x-faas-invocation-id header.
    const invocationId = request.id;
    // A caller that hangs up does not get to keep a sandbox busy.
    const gone = new AbortController();
    reply.raw.on('close', () => {
      if (!reply.raw.writableFinished) gone.abort(new Error('client closed the connection'));
    });
    try {
      if (orchestrator.draining) throw new FaasError('FAAS_ERR_SHUTTING_DOWN');
      const input = validateSandboxConfig(request.params.function_id, request.body, policy);
      const outcome = await orchestrator.invoke({ id: invocationId, ...input }, { signal: gone.signal });
      logInvocationEnd(
        request.log,
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
      const answer = toHttpAnswer(outcome, input.timeoutMs);
      if ('body' in answer) return answer.body;
      // A timed-out or cancelled function is an outcome, logged above; not a fault to log again.
      return reply.code(answer.status).send(errorBody(answer.error, invocationId));
    } catch (err) {
      return sendFault(request, reply, err, gone.signal);
    }
  });
}
