/** The invocation history routes: GET /functions/{id}/invocations, GET /invocations/{id}, GET /invocations/{id}/output (docs/API.md). */
import type { FastifyInstance } from 'fastify';
import type { GatewayDeps } from './deps.js';

export function registerHistoryRoutes(_app: FastifyInstance, _deps: GatewayDeps): void {
  // Not built yet.
}
