/**
 * The request-body parser for application/json. Fastify's own parser reports every refusal,
 * including a `__proto__` or `constructor.prototype` key that is perfectly valid JSON, as "not
 * valid JSON"; this one tells the two apart, with secure-json-parse (the library Fastify itself
 * uses for the same protection) so prototype-poisoning keys are refused, never silently dropped.
 */
import { FaasError } from '@faas/common';
import type { FastifyInstance } from 'fastify';
import secureJson from 'secure-json-parse';

/**
 * The parsed body, or undefined for an empty one (no bytes, or only whitespace): an invocation of
 * a registered function needs no body, and each route says what an empty body means to it.
 */
export function parseJsonBody(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return secureJson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' });
  } catch (err) {
    const message = (err as Error).message;
    if (/forbidden prototype property/.test(message)) {
      throw new FaasError(
        'FAAS_ERR_INVALID_REQUEST',
        'the request body has a "__proto__" or "constructor.prototype" key; such keys are refused',
        { details: { field: '__proto__' } },
      );
    }
    throw new FaasError('FAAS_ERR_INVALID_JSON', `the request body is not valid JSON: ${message.slice(0, 200)}`);
  }
}

/**
 * Replaces Fastify's JSON parser with `parseJsonBody`, keeping the body limit; the same parser reads
 * `application/merge-patch+json`, the media type of a JSON merge patch (PATCH /functions/{id}).
 */
export function useJsonBodyParser(app: FastifyInstance): void {
  app.removeContentTypeParser('application/json');
  const parser = (_request: unknown, body: string | Buffer, done: (err: Error | null, body?: unknown) => void) => {
    try {
      done(null, parseJsonBody(body as string));
    } catch (err) {
      done(err as Error, undefined);
    }
  };
  app.addContentTypeParser('application/json', { parseAs: 'string' }, parser);
  app.addContentTypeParser('application/merge-patch+json', { parseAs: 'string' }, parser);
}
