/**
 * `POST /functions/{function_id}/invoke`. A registered id runs its definition, with what the
 * request may add merged in (invocation-merge.ts); an unregistered id runs the design document's
 * ad-hoc SandboxConfig when FAAS_ALLOW_ADHOC allows it. The `Invocation` goes to the invocation
 * core and its `Outcome` is answered (results.ts).
 */
import { FaasError, type Invocation } from '@faas/common';
import type { FastifyInstance } from 'fastify';
import type { GatewayDeps } from './deps.js';
import { errorBody, sendFault } from './errors.js';
import { logInvocationEnd } from './invocation-log.js';
import { type MergedInvocation, mergeInvocation } from './invocation-merge.js';
import { toHttpAnswer } from './results.js';
import { type InvocationRequest, isPlainObject, validateFunctionId, validateSandboxConfig, validationPolicy } from './validation.js';

export function registerInvokeRoute(app: FastifyInstance, deps: GatewayDeps): void {
  const { orchestrator, store, config } = deps;
  const policy = validationPolicy(config);

  /**
   * An unregistered id: the ad-hoc SandboxConfig, when allowed and sent; otherwise 404. A body that
   * is JSON but no object is malformed whatever the id: 400, as for a registered function.
   */
  const adhoc = (functionId: string, body: unknown): InvocationRequest => {
    const malformed = body !== undefined && !isPlainObject(body);
    if (malformed || (config.allowAdhoc && isPlainObject(body) && 'image' in body)) {
      return validateSandboxConfig(functionId, body, policy);
    }
    const how = config.allowAdhoc
      ? 'register it with POST /functions, or send an ad-hoc SandboxConfig (image and command) in the body'
      : 'register it with POST /functions (ad-hoc SandboxConfig requests are off here: FAAS_ALLOW_ADHOC=off)';
    throw new FaasError('FAAS_ERR_FUNCTION_NOT_FOUND', `no function "${functionId}" is registered: ${how}`);
  };

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
      const functionId = validateFunctionId(request.params.function_id);
      // Every later line of this request (faults included) names the function too.
      request.log = request.log.child({ functionId });
      // One store read: the definition with its secrets, or nothing for an unregistered id.
      const registered = await store.functions.resolveSecrets(functionId);
      const input: InvocationRequest | MergedInvocation = registered
        ? mergeInvocation(registered, request.body, policy)
        : adhoc(functionId, request.body);
      const keyId = request.principal?.keyId;
      const invocation: Invocation = keyId === undefined ? { id: invocationId, ...input } : { id: invocationId, ...input, keyId };
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
