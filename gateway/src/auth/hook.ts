/** The auth hook: API keys, scopes, function restrictions and rate limits on every route but the public ones (docs/auth.md). */
import type { FastifyInstance } from 'fastify';
import type { GatewayDeps } from '../deps.js';

export function registerAuth(_app: FastifyInstance, _deps: GatewayDeps): void {
  // Not built yet.
}
