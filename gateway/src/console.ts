/**
 * The web console (console/, docs/console.md): static files built by Vite into console/dist/site,
 * served at /console. The page holds no data and is public (auth/hook.ts); every API call it makes
 * carries the key its user entered. Without a build, /console answers 404 saying how to build it.
 * The folder is the configuration's (FAAS_CONSOLE_DIR; default console/dist/site).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { FaasError } from '@faas/common';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { notFound, sendFault } from './errors.js';
import { pathOf } from './routes.js';

export const CONSOLE_NOT_BUILT =
  'The web console is not built: run `npm run build` (or `npm run build -w console`) and restart the gateway.\n';

/**
 * The console's page and files: `/console`, `/console/` and `/console/<segments>` of plain
 * characters, no segment starting with a dot, nothing percent-encoded, no empty segment. These are
 * public (auth/hook.ts), and they are the only paths the console serves: any other spelling under
 * /console (`//`, `.`, `..`, `%2e%2e`, `%00`, a backslash) is a 404 like any other unknown path,
 * before the static-file plugin sees it (that plugin refuses them with errors of its own).
 */
const CONSOLE_PATH = /^\/console(?:\/[A-Za-z0-9_-][A-Za-z0-9._-]*)*\/?$/;

/** True for a request target (query string ignored) the console may serve. */
export function isConsolePath(rawUrl: string): boolean {
  return CONSOLE_PATH.test(pathOf(rawUrl));
}

/**
 * The registry error for what the static-file plugin (and the `send` module under it) refuses: a
 * path it will not serve is a 404 like any unknown path; a failed If-Match or If-Unmodified-Since
 * is the 412 of a version that does not match. Anything else is left to the gateway's mapping.
 */
export function consoleFault(err: unknown, method: string, url: string): unknown {
  if (err instanceof FaasError) return err;
  const status = (err as { statusCode?: unknown; status?: unknown } | null)?.statusCode ?? (err as { status?: unknown } | null)?.status;
  if (status === 403 || status === 404 || status === 400) return notFound(method, url);
  if (status === 412) {
    return new FaasError(
      'FAAS_ERR_VERSION_CONFLICT',
      'the console file does not match the If-Match or If-Unmodified-Since of the request; read it again without them',
    );
  }
  return err;
}

/**
 * Serves the console from `dir`: the configuration's `gateway.consoleDir` (FAAS_CONSOLE_DIR, or where
 * `npm run build` puts it), read once with the rest of the configuration (common/src/config.ts).
 */
export function registerConsole(app: FastifyInstance, dir: string): void {
  if (!existsSync(join(dir, 'index.html'))) {
    const missing = async (_request: unknown, reply: FastifyReply) =>
      reply.code(404).type('text/plain; charset=utf-8').send(CONSOLE_NOT_BUILT);
    app.get('/console', missing);
    app.get('/console/*', missing);
    return;
  }
  // Its own context: the path check and the error mapping apply to the console's routes only.
  app.register(async (site) => {
    site.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
      const url = request.raw.url ?? '';
      if (!isConsolePath(url)) return sendFault(request, reply, notFound(request.raw.method ?? '', url));
    });
    site.setErrorHandler((err, request, reply) => sendFault(request, reply, consoleFault(err, request.method, request.url)));
    // Hashed assets under /console/assets; index.html is revalidated (cacheControl's default max-age 0).
    // No byte ranges: the files are small, and a full answer is always a valid one to a Range request.
    site.register(fastifyStatic, {
      root: dir,
      prefix: '/console/',
      wildcard: true,
      index: 'index.html',
      redirect: false,
      acceptRanges: false,
    });
    site.get('/console', (_request, reply) => reply.sendFile('index.html', dir));
  });
}
