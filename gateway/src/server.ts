/**
 * The HTTP gateway: the design document's `POST /functions/{function_id}/invoke`, plus health,
 * readiness and the OpenAPI document. It parses and bounds HTTP input and maps errors to the
 * registry; all validation and execution policy lives in the orchestrator.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { type Config, FaasError, type Logger } from '@faas/common';
import type { Orchestrator } from '@faas/orchestrator';
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, LogController } from 'fastify';

export const INVOCATION_HEADER = 'x-faas-invocation-id';

/** The OpenAPI document, shipped beside the compiled code and served verbatim. */
export const openApiDocument: Record<string, unknown> = JSON.parse(readFileSync(new URL('../openapi.json', import.meta.url), 'utf8'));

export interface GatewayOptions {
  config: Readonly<Config>;
  orchestrator: Orchestrator;
  logger: Logger;
}

/** Fastify's own error codes for malformed HTTP input, mapped to the registry. */
const FASTIFY_ERRORS: Record<string, () => FaasError> = {
  FST_ERR_CTP_BODY_TOO_LARGE: () => new FaasError('FAAS_ERR_BODY_TOO_LARGE'),
  FST_ERR_CTP_INVALID_MEDIA_TYPE: () =>
    new FaasError('FAAS_ERR_UNSUPPORTED_MEDIA_TYPE', 'send the SandboxConfig with content-type: application/json'),
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: () => new FaasError('FAAS_ERR_INVALID_REQUEST', 'content-length does not match the body'),
  FST_ERR_CTP_EMPTY_JSON_BODY: () => new FaasError('FAAS_ERR_INVALID_JSON', 'the request body is empty: send a SandboxConfig JSON object'),
  FST_ERR_CTP_INVALID_JSON_BODY: () => new FaasError('FAAS_ERR_INVALID_JSON'),
};

export function toFaasError(err: unknown): FaasError {
  if (err instanceof FaasError) return err;
  const e = err as FastifyError;
  const mapped = e.code ? FASTIFY_ERRORS[e.code] : undefined;
  if (mapped) return mapped();
  if (e instanceof SyntaxError || e.statusCode === 400) {
    return new FaasError('FAAS_ERR_INVALID_JSON', `the request body is not valid JSON: ${e.message}`);
  }
  if (e.statusCode === 413) return new FaasError('FAAS_ERR_BODY_TOO_LARGE');
  if (e.statusCode === 415) return new FaasError('FAAS_ERR_UNSUPPORTED_MEDIA_TYPE');
  return new FaasError('FAAS_ERR_INTERNAL', 'internal error', { cause: err });
}

export function buildGateway(options: GatewayOptions): FastifyInstance {
  const { config, orchestrator, logger } = options;
  const g = config.gateway;
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    // One line per invocation is logged by the route itself; per-request access logs are noise.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: g.maxBodyBytes,
    // Node's timeouts decide what happens to a client that stalls mid-body; set all of them.
    serverFactory: (handler) =>
      http.createServer(
        {
          requestTimeout: g.requestTimeoutMs,
          headersTimeout: g.headersTimeoutMs,
          keepAliveTimeout: g.keepAliveTimeoutMs,
          connectionsCheckingInterval: Math.min(1000, g.headersTimeoutMs),
          maxHeaderSize: 16 * 1024,
        },
        handler,
      ),
    genReqId: () => randomUUID(),
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    // Long enough that an overlong function id reaches validation and gets its registry error.
    routerOptions: { maxParamLength: 4096 },
    // Router-level faults (malformed percent-encoding) answer with registry codes like the rest.
    frameworkErrors: (err, _request, reply) => {
      const fault =
        (err as FastifyError).code === 'FST_ERR_BAD_URL'
          ? new FaasError('FAAS_ERR_INVALID_FUNCTION_ID', 'the URL has malformed percent-encoding')
          : toFaasError(err);
      (reply as FastifyReply).code(fault.status).send(fault.toJSON());
    },
  });
  // Only JSON is accepted; Fastify's default text/plain parser would let other bodies through.
  app.removeContentTypeParser('text/plain');

  app.setErrorHandler((err, request, reply) => {
    const fault = toFaasError(err);
    if (fault.status >= 500) {
      request.log.error({ err, code: fault.code, url: request.url }, fault.message);
    } else {
      request.log.debug({ code: fault.code, url: request.url }, fault.message);
    }
    reply.code(fault.status).send(fault.toJSON());
  });

  app.setNotFoundHandler((request, reply) => {
    const fault = new FaasError(
      'FAAS_ERR_NOT_FOUND',
      `no route ${request.method} ${request.url.split('?')[0]?.slice(0, 200)}; see /openapi.json`,
    );
    reply.code(fault.status).send(fault.toJSON());
  });

  app.get('/health', async () => ({ status: 'ok' }));

  app.get('/ready', async (_request, reply) => {
    try {
      await orchestrator.ready();
    } catch (err) {
      const fault = err instanceof FaasError ? err : new FaasError('FAAS_ERR_EXECUTOR_UNAVAILABLE', (err as Error).message);
      return reply.code(503).send(fault.toJSON());
    }
    const stats = orchestrator.stats;
    return { status: 'ready', executor: config.executorType, running: stats.running, queued: stats.queued };
  });

  app.get('/openapi.json', async () => openApiDocument);

  app.post<{ Params: { function_id: string } }>('/functions/:function_id/invoke', async (request, reply) => {
    // Fastify's request id is a fresh UUID (genReqId), so it doubles as the invocation id.
    const invocationId = request.id;
    reply.header(INVOCATION_HEADER, invocationId);
    // A caller that hangs up does not get to keep a sandbox busy.
    const gone = new AbortController();
    reply.raw.on('close', () => {
      if (!reply.raw.writableFinished) gone.abort(new Error('client closed the connection'));
    });
    try {
      const result = await orchestrator.scheduleExecution(request.params.function_id, request.body, {
        invocationId,
        signal: gone.signal,
      });
      request.log.info(
        { invocationId, functionId: result.request_id, exitCode: result.exit_code, durationMs: result.duration_ms },
        'invocation finished',
      );
      return result;
    } catch (err) {
      const fault = toFaasError(err);
      const body = { ...fault.toJSON(), invocation_id: invocationId };
      if (fault.status >= 500) request.log.warn({ invocationId, code: fault.code }, fault.message);
      return reply.code(fault.status).send(body);
    }
  });

  app.route({
    method: ['GET', 'PUT', 'DELETE', 'PATCH'],
    url: '/functions/:function_id/invoke',
    handler: async (_request, reply) => {
      const fault = new FaasError('FAAS_ERR_METHOD_NOT_ALLOWED', 'use POST to invoke a function');
      return reply.code(fault.status).header('allow', 'POST').send(fault.toJSON());
    },
  });

  return app;
}
