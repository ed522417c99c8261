/**
 * Test support: checks requests against Firecracker's own API description (the swagger file in
 * Firecracker's source, src/firecracker/swagger/firecracker.yaml), so that what the executor sends
 * is compared with the real schema of a given Firecracker version rather than with a copy of it
 * written here. The file is not part of this repository: tests read it from the path in
 * FAAS_FC_SWAGGER and skip with one line without it.
 *
 * Only the parts of Swagger 2.0 that Firecracker's file uses for request bodies are understood:
 * $ref to #/definitions, type, required, properties, enum, minimum/maximum, items. A property the
 * schema does not list is an error, because Firecracker deserialises bodies with
 * deny_unknown_fields and answers 400 to them.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';

interface Schema {
  $ref?: string;
  type?: string;
  required?: string[];
  properties?: Record<string, Schema>;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  items?: Schema;
  additionalProperties?: boolean | Schema;
}

interface Parameter {
  name: string;
  in: string;
  required?: boolean;
  schema?: Schema;
}

interface Operation {
  parameters?: Parameter[];
  responses?: Record<string, unknown>;
}

export interface Swagger {
  info?: { version?: string };
  paths: Record<string, Record<string, Operation>>;
  definitions: Record<string, Schema>;
}

/** The spec from FAAS_FC_SWAGGER (YAML through python3's PyYAML, or JSON), or why it cannot be had. */
export function loadSwagger(path: string | undefined): { spec: Swagger } | { skip: string } {
  if (!path) return { skip: 'FAAS_FC_SWAGGER is not set (path of firecracker.yaml from Firecracker source)' };
  if (!existsSync(path)) return { skip: `FAAS_FC_SWAGGER names no file: ${path}` };
  let text: string;
  if (path.endsWith('.json')) {
    text = readFileSync(path, 'utf8');
  } else {
    const converted = spawnSync(
      'python3',
      ['-c', 'import json, sys, yaml; json.dump(yaml.safe_load(open(sys.argv[1])), sys.stdout, default=str)', path],
      { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 },
    );
    if (converted.status !== 0) {
      return {
        skip: `reading ${path} needs python3 with PyYAML (or pass a JSON copy): ${(converted.stderr || String(converted.error)).trim()}`,
      };
    }
    text = converted.stdout;
  }
  const spec = JSON.parse(text) as Swagger;
  if (!spec.paths || !spec.definitions) return { skip: `${path} is not a Swagger 2.0 document with paths and definitions` };
  return { spec };
}

/** The operation for a request path, matching templates such as /drives/{drive_id}. */
function findOperation(spec: Swagger, method: string, path: string): { template: string; operation: Operation } | undefined {
  for (const [template, operations] of Object.entries(spec.paths)) {
    const pattern = new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+')}$`);
    if (!pattern.test(path)) continue;
    const operation = operations[method.toLowerCase()];
    if (operation) return { template, operation };
  }
  return undefined;
}

function resolveRef(spec: Swagger, schema: Schema): Schema {
  let current = schema;
  for (let depth = 0; current.$ref && depth < 16; depth++) {
    const name = /^#\/definitions\/(.+)$/.exec(current.$ref)?.[1];
    const target = name ? spec.definitions[name] : undefined;
    if (!target) throw new Error(`unresolvable $ref ${current.$ref}`);
    current = target;
  }
  return current;
}

/** Problems of a value against a schema; empty when it conforms. */
export function checkValue(spec: Swagger, schema: Schema, value: unknown, at: string): string[] {
  const s = resolveRef(spec, schema);
  const problems: string[] = [];
  if (s.enum && !s.enum.includes(value)) problems.push(`${at}: ${JSON.stringify(value)} is not one of ${JSON.stringify(s.enum)}`);
  const type = s.type ?? (s.properties ? 'object' : undefined);
  switch (type) {
    case 'object': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        problems.push(`${at}: expected an object`);
        break;
      }
      const record = value as Record<string, unknown>;
      for (const key of s.required ?? []) if (!(key in record)) problems.push(`${at}: missing required ${key}`);
      for (const [key, item] of Object.entries(record)) {
        const property = s.properties?.[key];
        if (property) problems.push(...checkValue(spec, property, item, `${at}.${key}`));
        else if (typeof s.additionalProperties === 'object')
          problems.push(...checkValue(spec, s.additionalProperties, item, `${at}.${key}`));
        else if (s.additionalProperties !== true) problems.push(`${at}: field ${key} is not in the schema`);
      }
      break;
    }
    case 'string':
      if (typeof value !== 'string') problems.push(`${at}: expected a string`);
      break;
    case 'integer':
    case 'number':
      if (typeof value !== 'number' || (type === 'integer' && !Number.isInteger(value))) problems.push(`${at}: expected an ${type}`);
      else {
        if (s.minimum !== undefined && value < s.minimum) problems.push(`${at}: ${value} is below the minimum ${s.minimum}`);
        if (s.maximum !== undefined && value > s.maximum) problems.push(`${at}: ${value} is above the maximum ${s.maximum}`);
      }
      break;
    case 'boolean':
      if (typeof value !== 'boolean') problems.push(`${at}: expected a boolean`);
      break;
    case 'array':
      if (!Array.isArray(value)) problems.push(`${at}: expected an array`);
      else if (s.items) {
        const items = s.items;
        value.forEach((item, i) => {
          problems.push(...checkValue(spec, items, item, `${at}[${i}]`));
        });
      }
      break;
  }
  return problems;
}

/** One request as the API client put it on the wire. */
export interface RecordedRequest {
  method: string;
  path: string;
  contentType: string | undefined;
  body: unknown;
}

/** Problems of one request against the spec: path, method, body schema, and a 204/200 success answer. */
export function checkRequest(spec: Swagger, request: RecordedRequest): string[] {
  const where = `${request.method} ${request.path}`;
  const found = findOperation(spec, request.method, request.path);
  if (!found) return [`${where}: no such operation in the spec`];
  const problems: string[] = [];
  const bodyParameter = found.operation.parameters?.find((p) => p.in === 'body');
  if (bodyParameter?.schema) {
    if (request.body === undefined) {
      if (bodyParameter.required) problems.push(`${where}: the spec requires a body`);
    } else {
      if (request.contentType !== 'application/json')
        problems.push(`${where}: content-type ${request.contentType} is not application/json`);
      problems.push(...checkValue(spec, bodyParameter.schema, request.body, where));
    }
  } else if (request.body !== undefined) {
    problems.push(`${where}: the spec takes no body`);
  }
  const responses = Object.keys(found.operation.responses ?? {});
  if (!responses.includes('204') && !responses.includes('200')) problems.push(`${where}: the spec lists no 200/204 answer`);
  return problems;
}

/**
 * A stand-in Firecracker on a Unix socket that records every request and answers 204 (200 with an
 * instance description for GET /), so the requests the client produces can be checked.
 */
export async function startRecorder(socketPath: string): Promise<{ requests: RecordedRequest[]; close(): Promise<void> }> {
  const requests: RecordedRequest[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      requests.push({
        method: req.method ?? '',
        path: req.url ?? '',
        contentType: req.headers['content-type'],
        body: text.length > 0 ? (JSON.parse(text) as unknown) : undefined,
      });
      if (req.method === 'GET') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ app_name: 'Firecracker', id: 'recorder', state: 'Not started', vmm_version: '0.0.0' }));
      } else {
        res.writeHead(204).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  return { requests, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
