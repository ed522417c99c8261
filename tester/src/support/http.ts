/**
 * A small HTTP client over node:http. It sends paths exactly as written (fetch would normalise
 * `%2e%2e` and friends away before they reach the server) and checks every response it receives
 * against the OpenAPI document, so each test also checks the spec.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { InvocationResult, SandboxConfig } from '@faas/common';
import { TEST_ADMIN_KEY } from './keys.js';
import { conformanceProblems } from './openapi.js';

export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  /** The body parsed as JSON (throws if it is not). */
  json<T = Record<string, unknown>>(): T;
}

export interface RequestOptions {
  method?: string;
  /** A Buffer or string is sent as is; anything else is JSON-encoded. */
  body?: unknown;
  headers?: Record<string, string>;
  /** Skip the spec check, for the rare response that is not the gateway's (none so far). */
  unchecked?: boolean;
  /** The API key sent as `Authorization: Bearer`; null sends none. Default: the client's key. */
  key?: string | null;
}

/** The error body every 4xx/5xx carries. */
export interface ErrorBody {
  error: string;
  code: string;
  field?: string;
  invocation_id?: string;
  image?: string;
  logs_base64?: string;
}

let checked = 0;

/** How many responses this process has checked against the spec. */
export function checkedResponseCount(): number {
  return checked;
}

export class HttpClient {
  /** `apiKey`: sent with every request (default: the admin key test platforms start with). */
  constructor(
    readonly baseUrl: string,
    readonly apiKey: string | null = TEST_ADMIN_KEY,
  ) {}

  request(path: string, options: RequestOptions = {}): Promise<HttpResponse> {
    const url = new URL(this.baseUrl);
    const method = options.method ?? (options.body === undefined ? 'GET' : 'POST');
    let payload: Buffer | undefined;
    const headers: Record<string, string> = {};
    if (options.body !== undefined) {
      if (Buffer.isBuffer(options.body) || typeof options.body === 'string') {
        payload = Buffer.from(options.body);
      } else {
        payload = Buffer.from(JSON.stringify(options.body));
        headers['content-type'] = 'application/json';
      }
      headers['content-length'] = String(payload.length);
    }
    const key = options.key === undefined ? this.apiKey : options.key;
    if (key !== null) headers.authorization = `Bearer ${key}`;
    Object.assign(headers, options.headers);
    return new Promise<HttpResponse>((resolve, reject) => {
      // agent: false: one connection per request, so a test never inherits a half-closed socket.
      const req = http.request({ host: url.hostname, port: url.port, path, method, headers, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const response: HttpResponse = {
            status: res.statusCode ?? 0,
            headers: res.headers,
            text,
            json: <T>() => JSON.parse(text) as T,
          };
          if (!options.unchecked) {
            checked++;
            const problems = conformanceProblems({ method, path, status: response.status, headers: res.headers, body: text });
            if (problems.length > 0) {
              reject(new assert.AssertionError({ message: `response departs from gateway/openapi.json:\n  ${problems.join('\n  ')}` }));
              return;
            }
          }
          resolve(response);
        });
      });
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** POST /functions/{id}/invoke with a SandboxConfig (or any body, for the error cases). */
  invoke(functionId: string, body: Partial<SandboxConfig> | Record<string, unknown> | string | Buffer): Promise<HttpResponse> {
    return this.request(`/functions/${functionId}/invoke`, { method: 'POST', body });
  }

  /** Invokes and asserts a 200, returning the result with the streams decoded. */
  async run(functionId: string, body: Partial<SandboxConfig> | Record<string, unknown>): Promise<DecodedResult> {
    const res = await this.invoke(functionId, body);
    assert.equal(res.status, 200, `expected 200, got ${res.status}: ${res.text.slice(0, 500)}`);
    return decode(res.json<InvocationResult>(), res.headers);
  }
}

export interface DecodedResult extends InvocationResult {
  stdout: Buffer;
  stderr: Buffer;
  logs: Buffer;
  header: string | undefined;
}

export function decode(result: InvocationResult, headers: http.IncomingHttpHeaders): DecodedResult {
  const b = (s: string | null) => Buffer.from(s ?? '', 'base64');
  const header = headers['x-faas-invocation-id'];
  return {
    ...result,
    stdout: b(result.response_base64),
    stderr: b(result.stderr_base64),
    logs: b(result.logs_base64),
    header: Array.isArray(header) ? header[0] : header,
  };
}

/** Asserts an error response: status, registry code, and the documented error shape. */
export function assertError(res: HttpResponse, status: number, code: string): ErrorBody {
  assert.equal(res.status, status, `expected ${status} ${code}, got ${res.status}: ${res.text.slice(0, 500)}`);
  const body = res.json<ErrorBody>();
  assert.equal(body.code, code, `expected code ${code}: ${res.text.slice(0, 500)}`);
  assert.ok(body.error.length > 0, 'error message is empty');
  return body;
}
