/**
 * API keys on the real platform, as a matrix: every route the OpenAPI document lists (so a new
 * route is covered the day it is documented) × every method × spellings of its path, against no
 * key, wrong keys, keys without the scope, a key limited to other functions, a key over its rate
 * limit, and the admin key (docs/API.md, "Authentication"). Keys without the scope get their 403 on
 * every spelling and undeclared method of the path too (the scope follows the path's family and
 * shape), and keys with it the 404 or 405 that spelling deserves. Requests are raw node:http, paths sent
 * exactly as written and headers chosen here; every answer is also checked against the document.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { conformanceProblems, openApiDocument } from '../support/openapi.js';
import { usePlatform } from '../support/platform.js';

const ADMIN = randomBytes(32).toString('hex');
const dataDir = mkdtempSync(join(tmpdir(), 'faas-auth-e2e-'));
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
const PUBLIC = new Set(['/health', '/ready', '/openapi.json']);
const REFUSALS = new Set(['FAAS_ERR_UNAUTHORIZED', 'FAAS_ERR_FORBIDDEN', 'FAAS_ERR_RATE_LIMITED']);
const SCOPES = ['invoke', 'functions', 'history', 'metrics', 'admin'] as const;
type Scope = (typeof SCOPES)[number];

/**
 * docs/API.md's scope table, written out independently of the gateway's own so that the two are
 * checked against each other. HEAD follows GET. A documented operation missing here fails the
 * test: decide its scope in docs/API.md and here.
 */
const SCOPE_TABLE: Record<string, readonly Scope[]> = {
  'POST /functions/{function_id}/invoke': ['invoke'],
  'GET /functions': ['functions', 'invoke'],
  'GET /functions/{function_id}': ['functions', 'invoke'],
  'POST /functions': ['functions'],
  'PATCH /functions/{function_id}': ['functions'],
  'DELETE /functions/{function_id}': ['functions'],
  'GET /functions/{function_id}/invocations': ['history'],
  'GET /invocations/{invocation_id}': ['history'],
  'GET /invocations/{invocation_id}/output': ['history'],
  'DELETE /invocations/{invocation_id}': ['invoke'],
  'GET /dead-letters': ['history'],
  'POST /dead-letters/{invocation_id}/redrive': ['invoke'],
  'DELETE /dead-letters/{invocation_id}': ['invoke'],
  'GET /metrics': ['metrics'],
  'POST /keys': ['admin'],
  'GET /keys': ['admin'],
  'GET /keys/{key_id}': ['admin'],
  'DELETE /keys/{key_id}': ['admin'],
};

/** The scopes any operation of `template`'s path declares: what a method it does not declare needs. */
function templateScopes(template: string): Scope[] {
  const scopes = Object.entries(SCOPE_TABLE).flatMap(([op, needed]) => (op.split(' ')[1] === template ? needed : []));
  return [...new Set(scopes)];
}

/** The scopes of every operation of the template's family (its first segment): what another path of the family needs. */
function familyScopes(template: string): Scope[] {
  const family = template.split('/')[1];
  const scopes = Object.entries(SCOPE_TABLE).flatMap(([op, needed]) => (op.split(' ')[1]?.split('/')[1] === family ? needed : []));
  return [...new Set(scopes)];
}

/**
 * Spellings of an operation's path that no route serves, each with what it needs: docs/API.md
 * decides the scope from the path's family and shape, so a key without it gets 403 on each, and a
 * key with it the 404 the spelling deserves. (Undeclared methods are the 405 case, apart.)
 */
function unroutedVariants(
  path: string,
  template: string,
  opScopes: readonly Scope[],
): { variant: string; path: string; needs: readonly Scope[] }[] {
  return [
    { variant: 'trailing slash', path: `${path}/`, needs: opScopes },
    { variant: 'upper-cased', path: path.toUpperCase(), needs: opScopes },
    { variant: 'encoded dot segments', path: `/x/%2e%2e${path}`, needs: opScopes },
    { variant: 'nested extra segments', path: `${path}/x/y`, needs: familyScopes(template) },
  ];
}

interface Operation {
  template: string;
  method: string;
  public: boolean;
}

const paths = openApiDocument.paths as Record<string, Record<string, unknown>>;
const TEMPLATES = Object.keys(paths);
const OPERATIONS: Operation[] = TEMPLATES.flatMap((template) =>
  METHODS.filter((m) => m.toLowerCase() in (paths[template] ?? {})).map((method) => ({
    template,
    method,
    public: PUBLIC.has(template),
  })),
);

/** The template with its parameters filled in (`fn`, or the function id given). */
function concrete(template: string, functionId = 'fn'): string {
  return template.replace('{function_id}', functionId).replace(/\{[^}]+\}/g, 'fn');
}

/** Spellings of a path that must not be mistaken for it by the public-route check. */
function variants(path: string): Record<string, string> {
  const lastSlash = path.lastIndexOf('/');
  return {
    'as is': path,
    'trailing slash': `${path}/`,
    'upper-cased': path.toUpperCase(),
    '%2e segment': `/%2e${path}`,
    '%2e%2e segment': `/x/%2e%2e${path}`,
    'double slash': `/${path}`,
    'inner double slash': lastSlash > 0 ? `${path.slice(0, lastSlash)}/${path.slice(lastSlash)}` : `/${path}`,
  };
}

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  ms: number;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

describe('API keys on every route', () => {
  const p = usePlatform({ FAAS_ADMIN_KEY: ADMIN, FAAS_DATA_DIR: dataDir, FAAS_AUTH: 'keys' });

  after(() => {
    agent.destroy();
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** One request, path as written; answers of the gateway are checked against the document. */
  function send(method: string, path: string, headers: Record<string, string> = {}, body?: unknown): Promise<Answer> {
    const url = new URL(p.url);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const all: Record<string, string> = { ...headers };
    if (payload) {
      all['content-type'] = 'application/json';
      all['content-length'] = String(payload.length);
    }
    const started = performance.now();
    return new Promise((resolve, reject) => {
      const req = http.request({ host: url.hostname, port: url.port, method, path, headers: all, agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const answer = { status: res.statusCode ?? 0, headers: res.headers, text, ms: performance.now() - started };
          const problems = conformanceProblems({ method, path, status: answer.status, headers: res.headers, body: text });
          if (problems.length > 0)
            reject(new assert.AssertionError({ message: `departs from gateway/openapi.json:\n  ${problems.join('\n  ')}` }));
          else resolve(answer);
        });
      });
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** Runs `jobs` a few at a time. */
  async function all<T>(jobs: (() => Promise<T>)[], concurrency = 16): Promise<T[]> {
    const results: T[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < jobs.length) {
          const i = next++;
          results[i] = await (jobs[i] as () => Promise<T>)();
        }
      }),
    );
    return results;
  }

  const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
  const codeOf = (a: Answer): string | undefined => (a.text.startsWith('{') ? (JSON.parse(a.text) as { code?: string }).code : undefined);

  function assertRefused(a: Answer, method: string, status: number, code: string, what: string): void {
    assert.equal(a.status, status, `${what}: expected ${status} ${code}, got ${a.status} ${a.text.slice(0, 300)}`);
    if (method === 'HEAD') assert.equal(a.text, '', `${what}: HEAD answered with a body`);
    else assert.equal(codeOf(a), code, `${what}: ${a.text.slice(0, 300)}`);
    if (status === 401) assert.equal(a.headers['www-authenticate'], 'Bearer realm="faas"', `${what}: WWW-Authenticate`);
  }

  /** The auth hook let the request through: whatever the route answered, it was not a refusal (HEAD: by status alone). */
  function assertAdmitted(a: Answer, method: string, what: string): void {
    const refused = method === 'HEAD' ? [401, 403, 429].includes(a.status) : REFUSALS.has(codeOf(a) ?? '');
    assert.ok(!refused, `${what}: refused ${a.status} ${a.text.slice(0, 300)}`);
  }

  /** A body each route refuses or ignores, so that no request of the matrix changes anything or runs a function. */
  const harmless = (method: string) => (method === 'POST' || method === 'PATCH' ? {} : undefined);

  async function createKey(body: Record<string, unknown>): Promise<{ key: string; id: string }> {
    const res = await send('POST', '/keys', bearer(ADMIN), { name: 'e2e', ...body });
    assert.equal(res.status, 201, res.text);
    return JSON.parse(res.text);
  }

  let wrongKeys: Record<string, Record<string, string>>;

  before(async () => {
    const revoked = await createKey({ scopes: ['admin'] });
    assert.equal((await send('DELETE', `/keys/${revoked.id}`, bearer(ADMIN))).status, 204);
    const expiresAt = Date.now() + 1500;
    const expired = await createKey({ scopes: ['admin'], expires_at: new Date(expiresAt).toISOString() });
    assert.equal((await send('GET', '/metrics', bearer(expired.key))).status, 200, 'the expiring key works before it expires');
    const valid = await createKey({ scopes: ['admin'] });
    const id = Array.from(randomBytes(12), (b) => '0123456789abcdefghijklmnopqrstuv'[b & 31]).join('');
    wrongKeys = {
      'no key': {},
      'unknown well-formed key': bearer(`faas_${id}_${randomBytes(32).toString('base64url')}`),
      'revoked key': bearer(revoked.key),
      'expired key': bearer(expired.key),
      'malformed key': bearer('faas_not-a-key'),
      'truncated key': bearer(valid.key.slice(0, -1)),
      'valid key, Basic scheme': { authorization: `Basic ${Buffer.from(`faas:${valid.key}`).toString('base64')}` },
      'valid key, no scheme': { authorization: valid.key },
      'admin key, Basic scheme': { authorization: `Basic ${Buffer.from(`admin:${ADMIN}`).toString('base64')}` },
      'valid key in another header': { 'x-api-key': valid.key },
    };
    await new Promise((r) => setTimeout(r, Math.max(0, expiresAt - Date.now() + 50)));
  });

  it('the public routes answer GET and HEAD without a key', async () => {
    for (const path of PUBLIC) {
      for (const method of ['GET', 'HEAD']) {
        const a = await send(method, path);
        assert.ok(
          path === '/ready' ? [200, 503].includes(a.status) : a.status === 200,
          `${method} ${path}: ${a.status} ${a.text.slice(0, 200)}`,
        );
      }
    }
  });

  it('without a valid key, every path, spelling and method is 401 with WWW-Authenticate (public ones only as written, with GET or HEAD)', async () => {
    assert.ok(TEMPLATES.length >= 12, `the document lists ${TEMPLATES.length} paths`);
    const jobs: (() => Promise<void>)[] = [];
    for (const template of TEMPLATES) {
      for (const [variant, path] of Object.entries(variants(concrete(template)))) {
        for (const method of METHODS) {
          const isPublic = PUBLIC.has(template) && variant === 'as is' && (method === 'GET' || method === 'HEAD');
          if (isPublic) continue;
          for (const [kind, headers] of Object.entries(wrongKeys)) {
            jobs.push(async () => {
              const what = `${kind}: ${method} ${path} (${template}, ${variant})`;
              const a = await send(method, path, headers, harmless(method));
              assertRefused(a, method, 401, 'FAAS_ERR_UNAUTHORIZED', what);
              if (method === 'POST' && variant === 'as is' && template === '/functions/{function_id}/invoke') {
                assert.match(String(a.headers['x-faas-invocation-id']), /^[0-9a-f-]{36}$/, `${what}: invocation id`);
              }
            });
          }
        }
      }
    }
    await all(jobs);
  });

  it('a key in the query string is no key', async () => {
    const { key } = await createKey({ scopes: ['metrics'] });
    for (const query of [`?key=${key}`, `?api_key=${key}`, `?access_token=${key}`]) {
      assertRefused(await send('GET', `/metrics${query}`), 'GET', 401, 'FAAS_ERR_UNAUTHORIZED', query.split('=')[0] as string);
    }
  });

  it('the admin key passes every documented operation', async () => {
    await all(
      OPERATIONS.map((op) => async () => {
        const path = concrete(op.template);
        assertAdmitted(await send(op.method, path, bearer(ADMIN), harmless(op.method)), op.method, `admin: ${op.method} ${path}`);
      }),
    );
  });

  it('a key without the route scope gets 403 FAAS_ERR_FORBIDDEN; the scopes of the table pass', async () => {
    const keys = {} as Record<Scope, string>;
    for (const scope of SCOPES) keys[scope] = (await createKey({ scopes: [scope] })).key;
    const jobs: (() => Promise<void>)[] = [];
    for (const op of OPERATIONS) {
      if (op.public) continue;
      const needed = SCOPE_TABLE[`${op.method === 'HEAD' ? 'GET' : op.method} ${op.template}`];
      assert.ok(needed, `${op.method} ${op.template} is documented but has no scope in this test's table (docs/API.md)`);
      for (const scope of SCOPES) {
        jobs.push(async () => {
          const path = concrete(op.template);
          const what = `scope ${scope}: ${op.method} ${path}`;
          const a = await send(op.method, path, bearer(keys[scope]), harmless(op.method));
          if (scope === 'admin' || needed.includes(scope)) assertAdmitted(a, op.method, what);
          else assertRefused(a, op.method, 403, 'FAAS_ERR_FORBIDDEN', what);
        });
      }
    }
    await all(jobs);
  });

  it('a key without the scope gets 403 on every spelling and method of the path; a key with it the 404, or the 405 with Allow', async () => {
    const keys = {} as Record<Scope, string>;
    for (const scope of SCOPES) keys[scope] = (await createKey({ scopes: [scope] })).key;
    const jobs: (() => Promise<void>)[] = [];
    const check = (method: string, path: string, needs: readonly Scope[], what: string, admitted: (a: Answer, what: string) => void) => {
      for (const scope of SCOPES) {
        jobs.push(async () => {
          const label = `scope ${scope}: ${method} ${path} (${what}; needs ${needs.join(' or ')})`;
          const a = await send(method, path, bearer(keys[scope]), harmless(method));
          if (scope === 'admin' || needs.includes(scope)) admitted(a, label);
          else assertRefused(a, method, 403, 'FAAS_ERR_FORBIDDEN', label);
        });
      }
    };
    for (const op of OPERATIONS) {
      if (op.public) continue;
      const opScopes = SCOPE_TABLE[`${op.method === 'HEAD' ? 'GET' : op.method} ${op.template}`];
      assert.ok(opScopes, `${op.method} ${op.template} has no scope in this test's table`);
      for (const v of unroutedVariants(concrete(op.template), op.template, opScopes)) {
        check(op.method, v.path, v.needs, v.variant, (a, label) => assertRefused(a, op.method, 404, 'FAAS_ERR_NOT_FOUND', label));
      }
    }
    for (const template of TEMPLATES) {
      if (PUBLIC.has(template)) continue;
      const declared = METHODS.filter((m) => m.toLowerCase() in (paths[template] ?? {}));
      for (const method of METHODS.filter((m) => !declared.includes(m))) {
        check(method, concrete(template), templateScopes(template), 'undeclared method', (a, label) => {
          assertRefused(a, method, 405, 'FAAS_ERR_METHOD_NOT_ALLOWED', label);
          // The conformance check holds Allow to the document's order; here, to the declared methods.
          assert.deepEqual(String(a.headers.allow).split(', ').sort(), [...declared].sort(), `${label}: Allow`);
        });
      }
    }
    assert.ok(jobs.length >= 500, `${jobs.length} requests`);
    await all(jobs);
  });

  it('a path of no family is 404 for every valid key, whatever its scope', async () => {
    const { key } = await createKey({ scopes: ['metrics'] });
    for (const path of ['/nope', '/nope/', '/x/y/z', '/health/x', '/%2e%2e/nope']) {
      for (const method of ['GET', 'HEAD', 'POST', 'PUT', 'DELETE']) {
        assertRefused(await send(method, path, bearer(key), harmless(method)), method, 404, 'FAAS_ERR_NOT_FOUND', `${method} ${path}`);
      }
    }
  });

  it('a trailing slash on a collection is 404 saying so, not the item route with an empty id', async () => {
    for (const collection of ['/functions', '/keys', '/dead-letters', '/invocations']) {
      for (const method of ['GET', 'POST', 'PUT', 'DELETE']) {
        const a = await send(method, `${collection}/`, bearer(ADMIN), harmless(method));
        assertRefused(a, method, 404, 'FAAS_ERR_NOT_FOUND', `${method} ${collection}/`);
        assert.match(JSON.parse(a.text).error, /no path of this API ends in "\/"/);
      }
    }
  });

  it('a key limited to some functions gets 403 FAAS_ERR_FORBIDDEN on every route of another function', async () => {
    const { key } = await createKey({ scopes: ['invoke', 'functions', 'history'], functions: ['billing-*', 'report'] });
    const withFunction = OPERATIONS.filter((op) => op.template.startsWith('/functions/{function_id}'));
    assert.ok(withFunction.length >= 4, 'the document lists the function routes');
    const jobs: (() => Promise<void>)[] = [];
    for (const op of withFunction) {
      for (const fn of ['other', 'billing', 'reports', 'Billing-a']) {
        jobs.push(async () => {
          const path = concrete(op.template, fn);
          assertRefused(await send(op.method, path, bearer(key), harmless(op.method)), op.method, 403, 'FAAS_ERR_FORBIDDEN', path);
        });
      }
      for (const fn of ['billing-a', 'report']) {
        jobs.push(async () => {
          const path = concrete(op.template, fn);
          assertAdmitted(await send(op.method, path, bearer(key), harmless(op.method)), op.method, `${op.method} ${path}`);
        });
      }
      // Every spelling of another function's path is refused; of its own, the route's 404 (the
      // key holds every scope of the /functions paths, so only the function id decides).
      for (const v of unroutedVariants(concrete(op.template, 'other'), op.template, [])) {
        jobs.push(async () => {
          const what = `${op.method} ${v.path} (${v.variant})`;
          assertRefused(await send(op.method, v.path, bearer(key), harmless(op.method)), op.method, 403, 'FAAS_ERR_FORBIDDEN', what);
        });
      }
      for (const v of unroutedVariants(concrete(op.template, 'billing-a'), op.template, [])) {
        if (v.variant === 'upper-cased') continue; // BILLING-A is another function, refused like any other
        jobs.push(async () => {
          const what = `${op.method} ${v.path} (${v.variant})`;
          assertRefused(await send(op.method, v.path, bearer(key), harmless(op.method)), op.method, 404, 'FAAS_ERR_NOT_FOUND', what);
        });
      }
    }
    // A method the path does not declare: 403 for another function, the 405 for its own.
    for (const template of TEMPLATES.filter((t) => t.startsWith('/functions/{function_id}'))) {
      const declared = METHODS.filter((m) => m.toLowerCase() in (paths[template] ?? {}));
      for (const method of METHODS.filter((m) => !declared.includes(m))) {
        jobs.push(async () => {
          const path = concrete(template, 'other');
          assertRefused(await send(method, path, bearer(key), harmless(method)), method, 403, 'FAAS_ERR_FORBIDDEN', `${method} ${path}`);
        });
        jobs.push(async () => {
          const path = concrete(template, 'billing-a');
          const a = await send(method, path, bearer(key), harmless(method));
          assertRefused(a, method, 405, 'FAAS_ERR_METHOD_NOT_ALLOWED', `${method} ${path}`);
        });
      }
    }
    await all(jobs);
  });

  it('a key over its rate limit gets 429 FAAS_ERR_RATE_LIMITED with Retry-After; HEAD too', async () => {
    const { key } = await createKey({ scopes: ['metrics'], rate_limit: { per_second: 0.2, burst: 2 } });
    for (let i = 0; i < 2; i++) assertAdmitted(await send('GET', '/metrics', bearer(key)), 'GET', `request ${i + 1}`);
    for (const method of ['GET', 'HEAD']) {
      const a = await send(method, '/metrics', bearer(key));
      assertRefused(a, method, 429, 'FAAS_ERR_RATE_LIMITED', `${method} over the limit`);
      const retry = String(a.headers['retry-after']);
      assert.match(retry, /^[1-9][0-9]*$/, `Retry-After: ${retry}`);
      assert.ok(Number(retry) <= 5, `Retry-After: ${retry}`);
    }
    // The admin key is not limited.
    await all(Array.from({ length: 100 }, () => async () => assertAdmitted(await send('GET', '/metrics', bearer(ADMIN)), 'GET', 'admin')));
  });

  it('a revoked key is refused from the very next request', async () => {
    const { key, id } = await createKey({ scopes: ['metrics'] });
    assert.equal((await send('GET', '/metrics', bearer(key))).status, 200);
    assert.equal((await send('DELETE', `/keys/${id}`, bearer(ADMIN))).status, 204);
    assertRefused(await send('GET', '/metrics', bearer(key)), 'GET', 401, 'FAAS_ERR_UNAUTHORIZED', 'revoked');
  });

  it('an unauthenticated 10 MiB body gets 401 at once, without the gateway waiting for it', async () => {
    const url = new URL(p.url);
    const answer = await new Promise<Answer>((resolve, reject) => {
      const started = performance.now();
      const req = http.request({
        host: url.hostname,
        port: url.port,
        method: 'POST',
        path: '/functions/fn/invoke',
        agent: false,
        headers: { 'content-type': 'application/json', 'content-length': String(10 * 1024 * 1024) },
      });
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text: Buffer.concat(chunks).toString(),
            ms: performance.now() - started,
          });
          req.destroy();
        });
      });
      req.on('error', reject);
      // Only the first 64 KiB: an answer that waited for the body would never come.
      req.write(Buffer.alloc(64 * 1024, 0x20));
    });
    assertRefused(answer, 'POST', 401, 'FAAS_ERR_UNAUTHORIZED', 'huge body');
    assert.ok(answer.ms < 2000, `answered after ${Math.round(answer.ms)} ms`);
    const body = JSON.parse(answer.text);
    assert.equal(body.invocation_id, answer.headers['x-faas-invocation-id']);
  });
});
