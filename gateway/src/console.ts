/**
 * The web console (console/, docs/console.md): static files built by Vite into console/dist/site,
 * served at /console. The page holds no data and is public (auth/hook.ts); every API call it makes
 * carries the key its user entered. Without a build, /console answers 404 saying how to build it.
 * The folder is the configuration's (FAAS_CONSOLE_DIR; default console/dist/site).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

export const CONSOLE_NOT_BUILT =
  'The web console is not built: run `npm run build` (or `npm run build -w console`) and restart the gateway.\n';

/**
 * Serves the console from `dir`: the configuration's `gateway.consoleDir` (FAAS_CONSOLE_DIR, or where
 * `npm run build` puts it), read once with the rest of the configuration (common/src/config.ts).
 */
export function registerConsole(app: FastifyInstance, dir: string): void {
  if (!existsSync(join(dir, 'index.html'))) {
    const missing = async (_request: unknown, reply: import('fastify').FastifyReply) =>
      reply.code(404).type('text/plain; charset=utf-8').send(CONSOLE_NOT_BUILT);
    app.get('/console', missing);
    app.get('/console/*', missing);
    return;
  }
  // Hashed assets under /console/assets; index.html is revalidated (cacheControl's default max-age 0).
  app.register(fastifyStatic, { root: dir, prefix: '/console/', wildcard: true, index: 'index.html', redirect: false });
  app.get('/console', (_request, reply) => reply.sendFile('index.html', dir));
}
