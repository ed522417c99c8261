/**
 * Checks real traffic against the written spec (gateway/openapi.json): every response the suite
 * receives is matched to its path, method and status in the document and its body validated with
 * the schema found there. A response the document does not describe is a failure too, so the spec
 * cannot silently fall behind the server.
 */
import { readFileSync } from 'node:fs';
import { Ajv, type ValidateFunction } from 'ajv';
import { OPENAPI_PATH } from './paths.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

interface Operation {
  responses?: Record<string, JsonObject>;
}

/** The document as it is on disk; the gateway must serve exactly this. */
export const openApiDocument: JsonObject = JSON.parse(readFileSync(OPENAPI_PATH, 'utf8'));

const SPEC_ID = 'openapi.json';
const COMPONENT_REF = '#/components/schemas/';

/** OpenAPI refs point into the document; ajv resolves them inside one registered schema. */
function rewriteRefs(value: Json): Json {
  if (Array.isArray(value)) return value.map(rewriteRefs);
  if (value === null || typeof value !== 'object') return value;
  const out: JsonObject = {};
  for (const [key, child] of Object.entries(value)) {
    if (key === '$ref' && typeof child === 'string' && child.startsWith(COMPONENT_REF)) {
      out[key] = `${SPEC_ID}#/$defs/${child.slice(COMPONENT_REF.length)}`;
    } else {
      out[key] = rewriteRefs(child);
    }
  }
  return out;
}

// `nullable` (OpenAPI 3.0) is one of ajv's built-in keywords: `{type: X, nullable: true}` admits null.
const ajv = new Ajv({ allErrors: true, strict: true });
const components = (openApiDocument.components as JsonObject | undefined) ?? {};
ajv.addSchema({ $id: SPEC_ID, $defs: rewriteRefs(components.schemas ?? {}) } as object);

const compiled = new Map<string, ValidateFunction>();

function validatorFor(key: string, schema: Json): ValidateFunction {
  let validate = compiled.get(key);
  if (!validate) {
    validate = ajv.compile(rewriteRefs(schema) as object);
    compiled.set(key, validate);
  }
  return validate;
}

function resolveResponse(response: JsonObject): JsonObject {
  const ref = response.$ref;
  if (typeof ref !== 'string') return response;
  const name = ref.replace('#/components/responses/', '');
  const responses = (components.responses as JsonObject | undefined) ?? {};
  const target = responses[name];
  if (!target || typeof target !== 'object' || Array.isArray(target)) throw new Error(`openapi.json: unresolved ${ref}`);
  return target;
}

/** Finds the spec path whose template matches a raw request path (query removed, still percent-encoded). */
export function matchPath(rawPath: string): string | undefined {
  const path = rawPath.split('?')[0] ?? '';
  const paths = Object.keys((openApiDocument.paths as JsonObject | undefined) ?? {});
  return paths.find((template) => {
    const pattern = template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+');
    return new RegExp(`^${pattern}$`).test(path);
  });
}

export interface ObservedResponse {
  method: string;
  path: string;
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function describe(errors: ValidateFunction['errors']): string {
  return (errors ?? []).map((e) => `${e.instancePath || '(root)'} ${e.message ?? ''} ${JSON.stringify(e.params)}`).join('; ');
}

/**
 * Returns the ways a response departs from the spec; empty when it conforms. A route the spec
 * does not list (unknown path, or a method the path does not offer) must still answer with the
 * documented Error shape.
 */
export function conformanceProblems(observed: ObservedResponse): string[] {
  const where = `${observed.method} ${observed.path} -> ${observed.status}`;
  const template = matchPath(observed.path);
  const pathItem = template ? ((openApiDocument.paths as JsonObject)[template] as JsonObject) : undefined;
  const operation = pathItem?.[observed.method.toLowerCase()] as Operation | undefined;
  const contentType = String(observed.headers['content-type'] ?? '');

  let schemaKey: string;
  let schema: Json;
  let requiredHeaders: string[] = [];
  if (!template || !operation) {
    if (observed.status < 400) return [`${where}: the spec lists no such operation, yet it succeeded`];
    schemaKey = 'undocumented-error';
    schema = { $ref: `${COMPONENT_REF}Error` };
  } else {
    const documented = operation.responses?.[String(observed.status)] ?? operation.responses?.default;
    if (!documented) return [`${where}: status ${observed.status} is not documented for this operation`];
    const response = resolveResponse(documented);
    requiredHeaders = Object.keys((response.headers as JsonObject | undefined) ?? {});
    const content = response.content as JsonObject | undefined;
    const media = content?.['application/json'] as JsonObject | undefined;
    if (!media) return observed.body.length === 0 ? [] : [`${where}: the spec documents no body, got ${observed.body.length} bytes`];
    schemaKey = `${template} ${observed.method} ${observed.status}`;
    schema = (media.schema as Json) ?? {};
  }

  // HEAD answers carry the headers of the GET they stand for, never a body.
  if (observed.method === 'HEAD') return observed.body.length === 0 ? [] : [`${where}: HEAD answered with a body`];
  const problems: string[] = [];
  if (!contentType.startsWith('application/json')) problems.push(`${where}: content-type is "${contentType}", not application/json`);
  for (const header of requiredHeaders) {
    if (observed.headers[header.toLowerCase()] === undefined) problems.push(`${where}: documented header ${header} is missing`);
  }
  let body: unknown;
  try {
    body = JSON.parse(observed.body);
  } catch {
    problems.push(`${where}: body is not JSON: ${observed.body.slice(0, 200)}`);
    return problems;
  }
  const validate = validatorFor(schemaKey, schema);
  if (!validate(body)) problems.push(`${where}: body does not match the schema: ${describe(validate.errors)}`);
  return problems;
}
