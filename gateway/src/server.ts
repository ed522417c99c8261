/**
 * The HTTP gateway: the design document's `POST /functions/{function_id}/invoke`, plus health,
 * readiness, Prometheus metrics and the OpenAPI document. It parses and bounds HTTP input,
 * validates a SandboxConfig into an Invocation, hands it to the invocation core and maps outcomes
 * and errors to the registry (errors.ts, results.ts); execution policy lives in the orchestrator.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { FaasError } from '@faas/common';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest, LogController } from 'fastify';
import { registerAsyncRoutes } from './async-routes.js';
import { authenticated, registerAuth } from './auth/hook.js';
import { registerKeyRoutes } from './auth/key-routes.js';
import { answerConnect, createClientErrorHandler } from './client-errors.js';
import { registerConsole } from './console.js';
import type { GatewayDeps } from './deps.js';
import {
  drainRefusedBody,
  errorBody,
  INVOCATION_HEADER,
  methodNotAllowed,
  notFound,
  routerFault,
  sendFault,
  toFaasError,
} from './errors.js';
import { registerFunctionRoutes } from './function-routes.js';
import { registerHistoryRoutes } from './history-routes.js';
import { registerInvokeRoute } from './invoke-route.js';
import { useJsonBodyParser } from './json-body.js';
import { refuseUndeclaredQuery } from './query.js';
import { documentedPath, hasTrailingSlash, isInvokePath, openApiDocument } from './routes.js';

export { INVOCATION_HEADER, toFaasError } from './errors.js';
export { openApiDocument } from './routes.js';

/** Largest request line plus headers Node's parser accepts; more is a 431. */
export const MAX_HEADER_BYTES = 16 * 1024;

export type GatewayOptions = GatewayDeps;

export function buildGateway(options: GatewayOptions): FastifyInstance {
  const deps = options;
  const { config, orchestrator, logger } = options;
  const g = config.gateway;
  const requestIds = new WeakMap<http.IncomingMessage, string>();
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
          maxHeaderSize: MAX_HEADER_BYTES,
        },
        (req, res) => {
          // The request id is a fresh UUID, and on the invoke route it is the invocation id. It is
          // put on the raw response as soon as Node has the headers, before Fastify (which routes
          // asynchronously) and before the parser reads on into the body, so every answer to an
          // invocation carries it: parse errors and timeouts of the body included.
          const id = randomUUID();
          requestIds.set(req, id);
          if (req.method === 'POST' && isInvokePath(req.url ?? '')) res.setHeader(INVOCATION_HEADER, id);
          handler(req, res);
        },
      ),
    // Requests Node's parser or timers refuse (408, 431, malformed HTTP) get registry errors too.
    clientErrorHandler: createClientErrorHandler(
      { requestTimeoutMs: g.requestTimeoutMs, headersTimeoutMs: g.headersTimeoutMs, maxHeaderBytes: MAX_HEADER_BYTES },
      logger as FastifyBaseLogger,
    ),
    genReqId: (req) => requestIds.get(req) ?? randomUUID(),
    // While draining, the orchestrator answers invocations 503 FAAS_ERR_SHUTTING_DOWN and /ready
    // 503; Fastify's own 503 would have no registry code.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    // Long enough that an overlong function id reaches validation and gets its registry error.
    routerOptions: { maxParamLength: 4096 },
    // Router-level faults (malformed percent-encoding, absurdly long ids) answer with registry codes like the rest.
    frameworkErrors: authenticated(deps, (err, request, reply) => {
      sendFault(request, reply as FastifyReply, routerFault(err, request.raw.method ?? '', request.raw.url ?? ''));
    }),
  });
  app.server.on('connect', (req: http.IncomingMessage, socket) => answerConnect(req.url, socket));
  // Only JSON is accepted; Fastify's default text/plain parser would let other bodies through.
  app.removeContentTypeParser('text/plain');
  useJsonBodyParser(app);

  app.setErrorHandler(async (err, request, reply) => {
    // An oversized body is read to its end (within bounds) before the 413, so the client reads it.
    if (toFaasError(err).code === 'FAAS_ERR_BODY_TOO_LARGE') await drainRefusedBody(request, g.requestTimeoutMs, 4 * g.maxBodyBytes);
    return sendFault(request, reply, err);
  });

  // A documented path with another method is a 405 naming the methods it has; anything else is a
  // 404. Answered as soon as routing fails, before any body is read: an unrouted request's body
  // never gets to decide the answer (415, 413).
  const unrouted = (request: FastifyRequest, reply: FastifyReply) => {
    const documented = documentedPath(request.url);
    const fault =
      documented && !documented.methods.includes(request.method)
        ? methodNotAllowed(documented.methods)
        : notFound(request.method, request.url);
    return sendFault(request, reply, fault);
  };
  // Auth first: a request without a valid key gets 401 whatever its path, method or body.
  registerAuth(app, deps);
  // A trailing slash is no route (routes.ts, hasTrailingSlash): `/functions/` is not the item route
  // with an empty id, which the router would otherwise make of it.
  app.addHook('onRequest', async (request, reply) => {
    if (request.is404 || hasTrailingSlash(request.raw.url ?? '')) return unrouted(request, reply);
  });
  app.setNotFoundHandler(unrouted);
  // A parameter is never ignored: a route the document gives no query parameters refuses any (a
  // parameter it ignored would let `?async=true` run synchronously), before its handler runs;
  // the list routes check theirs themselves (query.ts).
  app.addHook('preValidation', async (request) => {
    refuseUndeclaredQuery(request.method, request.routeOptions.url, request.query);
  });

  app.get('/health', async () => ({ status: 'ok' }));

  app.get('/ready', async (_request, reply) => {
    try {
      await orchestrator.ready();
      for (const check of deps.readiness ?? []) await check();
    } catch (err) {
      // Not ready is a 503 whatever the reason; a fault of another status is reported as the backend's.
      const fault =
        err instanceof FaasError && err.status === 503
          ? err
          : new FaasError('FAAS_ERR_EXECUTOR_UNAVAILABLE', String((err as Error)?.message ?? err).slice(0, 300));
      return reply.code(503).send(errorBody(fault));
    }
    const stats = orchestrator.stats;
    return {
      status: 'ready',
      executor: config.executorType,
      running: stats.running,
      queued: stats.queued,
      rebuilding: orchestrator.rebuilding,
    };
  });

  app.get('/openapi.json', async () => openApiDocument);

  // Prometheus text exposition of the orchestrator's registry (docs/metrics.md).
  app.get('/metrics', async (_request, reply) => {
    const text = await orchestrator.metrics.text();
    return reply.type(orchestrator.metrics.contentType).send(text);
  });

  registerInvokeRoute(app, deps);
  registerFunctionRoutes(app, deps);
  registerHistoryRoutes(app, deps);
  registerAsyncRoutes(app, deps);
  registerKeyRoutes(app, deps);
  registerConsole(app, config.gateway.consoleDir);

  return app;
}
