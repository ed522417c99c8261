/**
 * The request-body parser for application/json. Fastify's own parser reports every refusal,
 * including a `__proto__` or `constructor.prototype` key that is perfectly valid JSON, as "not
 * valid JSON"; this one tells the two apart, with secure-json-parse (the library Fastify itself
 * uses for the same protection) so prototype-poisoning keys are refused, never silently dropped.
 */
import { FaasError } from '@faas/common';
import type { FastifyInstance } from 'fastify';
import secureJson from 'secure-json-parse';

export function parseJsonBody(text: string): unknown {
  if (text.trim() === '') {
    throw new FaasError('FAAS_ERR_INVALID_JSON', 'the request body is empty: send a SandboxConfig JSON object');
  }
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

/** Replaces Fastify's JSON parser with `parseJsonBody`, keeping the body limit. */
export function useJsonBodyParser(app: FastifyInstance): void {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, parseJsonBody(body as string));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
}
