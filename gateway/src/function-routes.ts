/** The function registry routes: POST /functions, GET /functions, GET|PATCH|DELETE /functions/{id} (docs/API.md). */
import type { FastifyInstance } from 'fastify';
import type { GatewayDeps } from './deps.js';

export function registerFunctionRoutes(_app: FastifyInstance, _deps: GatewayDeps): void {
  // Not built yet.
}
