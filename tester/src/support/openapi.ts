/**
 * Checks real traffic against the written spec (gateway/openapi.json): every response the suite
 * receives is matched to its path, method and status in the document and its body validated with
 * the schema found there. A response the document does not describe is a failure too, so the spec
 * cannot silently fall behind the server.
 */
import { readFileSync } from 'node:fs';
import type { ValidateFunction } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { OPENAPI_PATH } from './paths.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

interface Operation {
  responses?: Record<string, JsonObject>;
}

/** The keys of a path item that are operations. */
const METHODS = ['get', 'head', 'post', 'put', 'delete', 'patch', 'options', 'trace'];

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

// OpenAPI 3.1 schemas are JSON Schema 2020-12 (`prefixItems`, `type: [X, "null"]`). `format: byte`
// (base64) only appears in request schemas, which this checker never validates against; the times
// of functions, keys and the history (`format: date-time`) are held to RFC 3339.
const ajv = new Ajv2020({ allErrors: true, strict: true });
ajv.addFormat('byte', true);
ajv.addFormat('date-time', { type: 'string', validate: isRfc3339 });

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-](\d{2}):(\d{2}))$/;

/** RFC 3339 `date-time` (section 5.6), with the ranges a calendar allows (a leap second only as :60). */
export function isRfc3339(text: string): boolean {
  const m = RFC3339.exec(text);
  if (!m) return false;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  const offsetOk = m[9] === undefined || (Number(m[9]) <= 23 && Number(m[10]) <= 59);
  return month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth && hour <= 23 && minute <= 59 && second <= 60 && offsetOk;
}
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

/** Follows a `#/components/<kind>/<name>` reference (responses, headers); other objects are returned as they are. */
function resolve(object: JsonObject, kind: 'responses' | 'headers'): JsonObject {
  const ref = object.$ref;
  if (typeof ref !== 'string') return object;
  const prefix = `#/components/${kind}/`;
  const table = (components[kind] as JsonObject | undefined) ?? {};
  const target = ref.startsWith(prefix) ? table[ref.slice(prefix.length)] : undefined;
  if (!target || typeof target !== 'object' || Array.isArray(target)) throw new Error(`openapi.json: unresolved ${ref}`);
  return target;
}

/** The methods the document declares for a path, upper-case, as an `Allow` header lists them. */
export function documentedMethods(template: string): string[] {
  const item = ((openApiDocument.paths as JsonObject)[template] as JsonObject | undefined) ?? {};
  return METHODS.filter((m) => m in item).map((m) => m.toUpperCase());
}

/** Finds the spec path whose template matches a raw request path (query removed, still percent-encoded). */
export function matchPath(rawPath: string): string | undefined {
  const path = rawPath.split('?')[0] ?? '';
  // No template ends in "/": `/functions/` is no path of the document (the gateway answers it 404
  // FAAS_ERR_NOT_FOUND), not `/functions/{function_id}` with an empty id.
  if (path.length > 1 && path.endsWith('/')) return undefined;
  const paths = Object.keys((openApiDocument.paths as JsonObject | undefined) ?? {});
  return paths.find((template) => {
    // A parameter is one path segment, possibly empty (the server routes `/functions//invoke` and refuses the id).
    const pattern = template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]*');
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
 * documented Error shape, and a 405 must carry `Allow` with exactly the path's documented methods.
 * Wherever both are present, the `x-faas-invocation-id` header and the body's `invocation_id` agree.
 */
export function conformanceProblems(observed: ObservedResponse): string[] {
  const where = `${observed.method} ${observed.path} -> ${observed.status}`;
  const template = matchPath(observed.path);
  const pathItem = template ? ((openApiDocument.paths as JsonObject)[template] as JsonObject) : undefined;
  const operation = pathItem?.[observed.method.toLowerCase()] as Operation | undefined;
  const contentType = String(observed.headers['content-type'] ?? '');
  const problems: string[] = [];

  let schemaKey: string;
  let schema: Json;
  if (!template || !operation) {
    if (observed.status < 400) return [`${where}: the spec lists no such operation, yet it succeeded`];
    schemaKey = 'undocumented-error';
    schema = { $ref: `${COMPONENT_REF}Error` };
    // Without a valid key, over its rate limit, or without the scope of the path (whatever the
    // method), the refusal comes before routing (docs/API.md, "Authentication").
    const refusedFirst = observed.status === 401 || observed.status === 403 || observed.status === 429;
    if (template && observed.status !== 405 && !refusedFirst) {
      problems.push(`${where}: a method ${template} does not declare must be answered 405 (or 401/403/429 before routing)`);
    }
    if (observed.status === 401 && !/^Bearer/.test(String(observed.headers['www-authenticate'] ?? ''))) {
      problems.push(`${where}: a 401 must carry WWW-Authenticate: Bearer`);
    }
    if (observed.status === 405) {
      const allow = String(observed.headers.allow ?? '');
      const expected = template ? documentedMethods(template).join(', ') : '(no such path: 404, not 405)';
      if (allow !== expected) problems.push(`${where}: Allow is "${allow}", the document declares ${expected}`);
    }
  } else {
    const documented = operation.responses?.[String(observed.status)] ?? operation.responses?.default;
    if (!documented) return [`${where}: status ${observed.status} is not documented for this operation`];
    const response = resolve(documented, 'responses');
    for (const [name, declared] of Object.entries((response.headers as JsonObject | undefined) ?? {})) {
      const header = resolve(declared as JsonObject, 'headers');
      if (header.required === true && observed.headers[name.toLowerCase()] === undefined) {
        problems.push(`${where}: documented header ${name} is missing`);
      }
    }
    const content = response.content as JsonObject | undefined;
    const media = content?.['application/json'] as JsonObject | undefined;
    if (!media) {
      // A body of another media type (text/plain for /metrics): the content-type must be one the
      // document lists; the body itself is not JSON, and HEAD carries none.
      const declared = Object.keys(content ?? {});
      if (declared.length > 0 && observed.method !== 'HEAD') {
        if (!declared.some((type) => contentType.startsWith(type))) {
          problems.push(`${where}: content-type is "${contentType}", the document declares ${declared.join(', ')}`);
        }
        return problems;
      }
      if (observed.body.length > 0) problems.push(`${where}: the spec documents no body, got ${observed.body.length} bytes`);
      return problems;
    }
    schemaKey = `${template} ${observed.method} ${observed.status}`;
    schema = (media.schema as Json) ?? {};
  }

  // HEAD answers carry the headers of the GET they stand for, never a body.
  if (observed.method === 'HEAD') return observed.body.length === 0 ? problems : [...problems, `${where}: HEAD answered with a body`];
  if (!contentType.startsWith('application/json')) problems.push(`${where}: content-type is "${contentType}", not application/json`);
  let body: unknown;
  try {
    body = JSON.parse(observed.body);
  } catch {
    problems.push(`${where}: body is not JSON: ${observed.body.slice(0, 200)}`);
    return problems;
  }
  const validate = validatorFor(schemaKey, schema);
  if (!validate(body)) problems.push(`${where}: body does not match the schema: ${describe(validate.errors)}`);
  const headerId = observed.headers['x-faas-invocation-id'];
  const bodyId = (body as { invocation_id?: unknown } | null)?.invocation_id;
  if (headerId !== undefined && bodyId !== undefined && headerId !== bodyId) {
    problems.push(`${where}: x-faas-invocation-id "${String(headerId)}" differs from the body's invocation_id "${String(bodyId)}"`);
  }
  return problems;
}
