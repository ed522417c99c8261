/** The API key routes: POST /keys, GET /keys, GET /keys/{id}, DELETE /keys/{id} (docs/API.md). */
import type { FastifyInstance } from 'fastify';
import type { GatewayDeps } from '../deps.js';

export function registerKeyRoutes(_app: FastifyInstance, _deps: GatewayDeps): void {
  // Not built yet.
}
