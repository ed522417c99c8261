/**
 * The auth hook and the key routes through the gateway's HTTP surface (Fastify's inject, and a
 * real listening server where the raw connection matters), in front of a real SQLite store in a
 * temporary folder and the invocation core with the in-memory fake executor.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createLoggerFactory, loadConfig } from '@faas/common';
import { FakeExecutor, facts } from '@faas/executor';
import { Orchestrator } from '@faas/orchestrator';
import { openSqliteStore, type Scope, type Store } from '@faas/store';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { asyncFrontDoor } from '../async-invoke.js';
import { DOCUMENTED_PATHS } from '../routes.js';
import { buildGateway } from '../server.js';
import { ADMIN_KEY, startTestGateway, type TestGateway } from '../test-fixtures.js';
import { generateKey } from './keys.js';

const ADMIN = randomBytes(32).toString('hex');
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
const REFUSALS = new Set(['FAAS_ERR_UNAUTHORIZED', 'FAAS_ERR_FORBIDDEN', 'FAAS_ERR_RATE_LIMITED']);

interface Gateway {
  app: FastifyInstance;
  store: Store;
  orchestrator: Orchestrator;
  logs: string[];
  close(): Promise<void>;
}

async function startGateway(env: Record<string, string> = {}, adminKey: string | undefined = ADMIN): Promise<Gateway> {
  const dir = mkdtempSync(join(tmpdir(), 'faas-auth-test-'));
  let config: ReturnType<typeof loadConfig>;
  let store: Store;
  try {
    config = loadConfig({ FAAS_GATEWAY_PORT: '0', FAAS_POOL_MODE: 'off', FAAS_DATA_DIR: dir, ...env }, 2);
    store = openSqliteStore({ dataDir: dir, secretsKey: randomBytes(32) });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const logs: string[] = [];
  const factory = createLoggerFactory('debug', { write: (line: string) => logs.push(line) });
  const orchestrator = new Orchestrator({
    config,
    executors: new Map([['docker', new FakeExecutor()]]),
    logger: factory.for('orchestrator'),
  });
  await orchestrator.start();
  const app = buildGateway({ config, orchestrator, store, adminKey, logger: factory.for('gateway') });
  await app.ready();
  return {
    app,
    store,
    orchestrator,
    logs,
    async close() {
      await app.close();
      await orchestrator.drain(1000);
      // A test may have closed the store already.
      await store.close().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function bearer(key: string): Record<string, string> {
  return { authorization: `Bearer ${key}` };
}

function assertCode(res: LightMyRequestResponse, status: number, code: string, what = ''): void {
  assert.equal(res.statusCode, status, `${what}: expected ${status} ${code}, got ${res.statusCode} ${res.body.slice(0, 300)}`);
  if (res.headers['content-length'] !== '0' && res.body !== '') assert.equal(res.json().code, code, what);
}

function assertUnauthorized(res: LightMyRequestResponse, what: string): void {
  assertCode(res, 401, 'FAAS_ERR_UNAUTHORIZED', what);
  assert.equal(res.headers['www-authenticate'], 'Bearer realm="faas"', what);
}

/** A request the auth hook let through: whatever the route answered, it was not a refusal. */
function assertAdmitted(res: LightMyRequestResponse, what: string): void {
  const code = res.body.startsWith('{') ? (res.json() as { code?: string }).code : undefined;
  assert.ok(!REFUSALS.has(code ?? ''), `${what}: refused with ${res.statusCode} ${res.body.slice(0, 300)}`);
}

/** A path that falls under `template`, parameters filled in. */
function concrete(template: string): string {
  return template.replace(/\{[^}]+\}/g, 'fn');
}

describe('auth: keys mode', () => {
  let g: Gateway;
  const created: string[] = [];

  async function createKey(body: Record<string, unknown>): Promise<{ key: string; id: string } & Record<string, unknown>> {
    const res = await g.app.inject({ method: 'POST', url: '/keys', headers: bearer(ADMIN), payload: { name: 'test', ...body } });
    assert.equal(res.statusCode, 201, res.body);
    const info = res.json();
    created.push(info.key);
    return info;
  }

  /** False for a documented operation whose route is not registered yet (the admin key gets the router's 404). */
  async function built(method: string, url: string): Promise<boolean> {
    // A HEAD answer has no body to tell the router's 404 from the route's: ask with GET.
    const probe = method === 'HEAD' ? 'GET' : method;
    const res = await g.app.inject({ method: probe as 'GET', url, headers: bearer(ADMIN), payload: probe === 'GET' ? undefined : {} });
    return !(res.statusCode === 404 && res.json().code === 'FAAS_ERR_NOT_FOUND');
  }

  before(async () => {
    g = await startGateway();
  });
  after(async () => {
    await g?.close();
  });

  it('the public routes answer without a key, spelled exactly; any other spelling needs one', async () => {
    for (const path of ['/health', '/ready', '/openapi.json', '/health?verbose=1']) {
      for (const method of ['GET', 'HEAD'] as const) {
        const res = await g.app.inject({ method, url: path });
        assert.notEqual(res.statusCode, 401, `${method} ${path}`);
      }
    }
    for (const path of ['/Health', '/health/', '/%68ealth', '//health', '/ready/', '/OPENAPI.JSON', '/openapi.json/']) {
      assertUnauthorized(await g.app.inject({ method: 'GET', url: path }), `GET ${path}`);
    }
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const) {
      assertUnauthorized(await g.app.inject({ method, url: '/health' }), `${method} /health`);
    }
  });

  it('the console is public as GET or HEAD of /console and its plainly spelled files; any other spelling or method needs a key', async () => {
    for (const path of ['/console', '/console/', '/console/assets/index-x1.js', '/console?x=1', '/console/nope.txt']) {
      for (const method of ['GET', 'HEAD'] as const) {
        const res = await g.app.inject({ method, url: path });
        assert.notEqual(res.statusCode, 401, `${method} ${path}`);
      }
    }
    for (const path of [
      '/Console',
      '/consoles',
      '/console/%2e%2e/keys',
      '/console//x',
      '/console/.env',
      '/%63onsole',
      '/console/a%2fb',
      '/console/a/../../keys',
    ]) {
      assertUnauthorized(await g.app.inject({ method: 'GET', url: path }), `GET ${path}`);
    }
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const) {
      assertUnauthorized(await g.app.inject({ method, url: '/console' }), `${method} /console`);
    }
  });

  it('without a key, every path and method is 401 before routing (unknown paths and wrong methods included)', async () => {
    const paths = [...DOCUMENTED_PATHS.map((p) => concrete(p.template)), '/nope', '/functions/fn/invoke/', '/keys', '/keys/abc'];
    for (const url of paths) {
      if (url === '/health' || url === '/ready' || url === '/openapi.json') continue;
      for (const method of METHODS) {
        const res = await g.app.inject({ method, url });
        assertUnauthorized(res, `${method} ${url}`);
        if (method === 'HEAD') assert.equal(res.body, '', `HEAD ${url} has no body`);
      }
    }
  });

  it('without a key, a malformed body or content-type is 401, not 400 or 415', async () => {
    const bodies = [
      { payload: '{not json', headers: { 'content-type': 'application/json' } },
      { payload: 'text', headers: { 'content-type': 'text/plain' } },
      { payload: '', headers: { 'content-type': 'application/json' } },
    ];
    for (const b of bodies) {
      assertUnauthorized(await g.app.inject({ method: 'POST', url: '/functions/fn/invoke', ...b }), JSON.stringify(b));
      assertUnauthorized(await g.app.inject({ method: 'POST', url: '/keys', ...b }), JSON.stringify(b));
    }
  });

  it('a path the router cannot decode is 401 without a key, and its usual answer with one', async () => {
    assertUnauthorized(await g.app.inject({ method: 'POST', url: '/functions/%ff/invoke' }), 'bad percent-encoding');
    assertUnauthorized(await g.app.inject({ method: 'GET', url: '/%zz' }), 'bad percent-encoding, unknown path');
    const res = await g.app.inject({ method: 'GET', url: '/%zz', headers: bearer(ADMIN) });
    assertCode(res, 404, 'FAAS_ERR_NOT_FOUND', 'bad percent-encoding with the admin key');
    // The scope is read from the path's shape, which the router's fault does not change.
    const invoker = (await createKey({ scopes: ['invoke'] })).key;
    const invoke = await g.app.inject({ method: 'POST', url: '/functions/%ff/invoke', headers: bearer(invoker) });
    assertCode(invoke, 400, 'FAAS_ERR_INVALID_FUNCTION_ID', 'bad percent-encoding with a key that may invoke');
    const historian = (await createKey({ scopes: ['history'] })).key;
    const refused = await g.app.inject({ method: 'POST', url: '/functions/%ff/invoke', headers: bearer(historian) });
    assertCode(refused, 403, 'FAAS_ERR_FORBIDDEN', 'bad percent-encoding with a key without the invoke scope');
    // A key limited to some functions is not allowed an id it cannot even name.
    const limited = (await createKey({ scopes: ['invoke'], functions: ['billing-*'] })).key;
    const named = await g.app.inject({ method: 'POST', url: '/functions/%ff/invoke', headers: bearer(limited) });
    assertCode(named, 403, 'FAAS_ERR_FORBIDDEN', 'bad percent-encoding with a limited key');
  });

  it('refuses anything but one Authorization: Bearer header with a valid key', async () => {
    const wellFormedUnknown = generateKey().text;
    const { key } = await createKey({ scopes: ['metrics'] });
    const [, id, secret] = /^faas_([0-9a-v]{12})_(.+)$/.exec(key) as RegExpExecArray;
    const otherSecret = generateKey().secret;
    const cases: Record<string, Record<string, string | string[]>> = {
      'unknown id': bearer(wellFormedUnknown),
      'known id, wrong secret': bearer(`faas_${id}_${otherSecret}`),
      'truncated key': bearer(key.slice(0, -1)),
      'key with a trailing character': bearer(`${key}A`),
      'upper-cased id': bearer(`faas_${id?.toUpperCase()}_${secret}`),
      'another spelling of the secret': bearer(`faas_${id}_${secret?.slice(0, -1)}${secret?.endsWith('A') ? 'B' : 'A'}`),
      'Basic scheme': { authorization: `Basic ${Buffer.from(`x:${key}`).toString('base64')}` },
      'no scheme': { authorization: key },
      'empty bearer': { authorization: 'Bearer ' },
      'two headers': { authorization: [`Bearer ${key}`, `Bearer ${key}`] },
      'admin key with a suffix': bearer(`${ADMIN}x`),
      'admin key truncated': bearer(ADMIN.slice(0, -1)),
      'X-API-Key header': { 'x-api-key': key },
    };
    for (const [what, headers] of Object.entries(cases)) {
      assertUnauthorized(await g.app.inject({ method: 'GET', url: '/metrics', headers }), what);
    }
    // Not a key of `created`: the fault log records the URL, query included.
    const inQuery = (await createKey({ scopes: ['metrics'] })).key;
    created.pop();
    assertUnauthorized(await g.app.inject({ method: 'GET', url: `/metrics?api_key=${inQuery}` }), 'key in the query');
    assertAdmitted(
      await g.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `bearer ${key}` } }),
      'lower-case scheme',
    );
    assertAdmitted(
      await g.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `BEARER ${key}` } }),
      'upper-case scheme',
    );
    assertAdmitted(await g.app.inject({ method: 'GET', url: '/metrics', headers: bearer(key) }), 'the key itself');
  });

  it('refuses revoked keys from the very next request, and expired keys', async () => {
    const { key, id } = await createKey({ scopes: ['metrics'] });
    assert.equal((await g.app.inject({ method: 'GET', url: '/metrics', headers: bearer(key) })).statusCode, 200);
    const del = await g.app.inject({ method: 'DELETE', url: `/keys/${id}`, headers: bearer(ADMIN) });
    assert.equal(del.statusCode, 204);
    const res = await g.app.inject({ method: 'GET', url: '/metrics', headers: bearer(key) });
    assertUnauthorized(res, 'revoked');
    assert.match(res.json().error, /revoked/);

    const expired = generateKey();
    await g.store.keys.create({
      id: expired.id,
      secretHash: expired.secretHash,
      name: 'expired',
      scopes: ['metrics'],
      functions: null,
      ratePerSecond: null,
      rateBurst: null,
      expiresAt: Date.now() - 1,
    });
    const old = await g.app.inject({ method: 'GET', url: '/metrics', headers: bearer(expired.text) });
    assertUnauthorized(old, 'expired');
    assert.match(old.json().error, /expired/);
  });

  it('a key without the route scope gets 403 on every documented operation; the scopes of the table let it in', async (t) => {
    const scoped = {
      invoke: (await createKey({ scopes: ['invoke'] })).key,
      functions: (await createKey({ scopes: ['functions'] })).key,
      history: (await createKey({ scopes: ['history'] })).key,
      metrics: (await createKey({ scopes: ['metrics'] })).key,
      admin: (await createKey({ scopes: ['admin'] })).key,
    };
    const expect: Record<string, string[]> = {
      'POST /functions/{}/invoke': ['invoke'],
      'GET /functions': ['functions', 'invoke'],
      'POST /functions': ['functions'],
      'GET /functions/{}': ['functions', 'invoke'],
      'PATCH /functions/{}': ['functions'],
      'DELETE /functions/{}': ['functions'],
      'GET /functions/{}/invocations': ['history'],
      'GET /invocations/{}': ['history'],
      'GET /invocations/{}/output': ['history'],
      'DELETE /invocations/{}': ['invoke'],
      'GET /dead-letters': ['history'],
      'POST /dead-letters/{}/redrive': ['invoke'],
      'DELETE /dead-letters/{}': ['invoke'],
      'GET /metrics': ['metrics'],
      'POST /keys': [],
      'GET /keys': [],
      'GET /keys/{}': [],
      'DELETE /keys/{}': [],
    };
    for (const path of DOCUMENTED_PATHS) {
      for (const method of path.methods) {
        const shape = `${method === 'HEAD' ? 'GET' : method} ${path.template.replace(/\{[^}]+\}/g, '{}')}`;
        const allowed = ['health', 'ready', 'openapi.json'].some((p) => path.template === `/${p}`)
          ? Object.keys(scoped)
          : [...(expect[shape] ?? []), 'admin'];
        const url = concrete(path.template);
        if (!(await built(method, url))) {
          t.diagnostic(`${method} ${path.template} is documented but not built yet: skipped`);
          continue;
        }
        for (const [scope, key] of Object.entries(scoped)) {
          // A body the route refuses, so no operation changes anything.
          const res = await g.app.inject({
            method: method as 'GET',
            url,
            headers: bearer(key),
            payload: method === 'POST' ? {} : undefined,
          });
          const what = `${method} ${path.template} with scope ${scope}`;
          if (allowed.includes(scope)) assertAdmitted(res, what);
          else assertCode(res, 403, 'FAAS_ERR_FORBIDDEN', what);
        }
      }
    }
  });

  it("a key that may only invoke reads a function's callback URL as its origin: its path and query may hold a token", async () => {
    const url = 'https://hooks.example.com/faas/hook?token=WEBHOOK-s3cr3t';
    const made = await g.app.inject({
      method: 'POST',
      url: '/functions',
      headers: bearer(ADMIN),
      payload: { id: 'hooked', image: 'faas/busybox:latest', command: ['true'], callback_url: url },
    });
    assert.equal(made.statusCode, 201, made.body);
    const invoker = (await createKey({ scopes: ['invoke'] })).key;
    const manager = (await createKey({ scopes: ['functions'] })).key;
    for (const path of ['/functions/hooked', '/functions']) {
      const seen = await g.app.inject({ method: 'GET', url: path, headers: bearer(invoker) });
      assert.equal(seen.statusCode, 200, seen.body);
      assert.doesNotMatch(seen.body, /WEBHOOK-s3cr3t|\/faas\/hook/);
      assert.match(seen.body, /"callback_url":"https:\/\/hooks\.example\.com\/\[redacted\]"/);
    }
    for (const key of [manager, ADMIN]) {
      const full = await g.app.inject({ method: 'GET', url: '/functions/hooked', headers: bearer(key) });
      assert.equal(full.json().callback_url, url);
    }
  });

  it('a key limited to some functions gets 403 for the others', async () => {
    const { key } = await createKey({ scopes: ['invoke', 'functions', 'history'], functions: ['billing-*', 'report'] });
    const admitted = ['billing-a', 'billing-', 'report'];
    const refused = ['other', 'reports', 'billing', 'Billing-a', '%62illing-a'];
    const routes = (fn: string) => [
      { method: 'POST' as const, url: `/functions/${fn}/invoke` },
      { method: 'GET' as const, url: `/functions/${fn}` },
      { method: 'PATCH' as const, url: `/functions/${fn}` },
      { method: 'DELETE' as const, url: `/functions/${fn}` },
      { method: 'GET' as const, url: `/functions/${fn}/invocations` },
    ];
    const documented = (url: string, method: string) => DOCUMENTED_PATHS.some((p) => p.pattern.test(url) && p.methods.includes(method));
    for (const fn of admitted) {
      for (const r of routes(fn)) {
        if (!documented(r.url, r.method) || !(await built(r.method, r.url))) continue;
        assertAdmitted(
          await g.app.inject({ ...r, headers: bearer(key), payload: r.method === 'GET' ? undefined : {} }),
          `${r.method} ${r.url}`,
        );
      }
    }
    for (const fn of refused) {
      for (const r of routes(fn)) {
        if (!documented(r.url, r.method) || !(await built(r.method, r.url))) continue;
        const res = await g.app.inject({ ...r, headers: bearer(key), payload: r.method === 'GET' ? undefined : {} });
        // %62 is the router's "b": the decoded id is what is checked, and `billing-a` is allowed.
        if (fn === '%62illing-a') assertAdmitted(res, `${r.method} ${r.url}`);
        else assertCode(res, 403, 'FAAS_ERR_FORBIDDEN', `${r.method} ${r.url}`);
      }
    }
  });

  it('with a valid key, unknown paths and wrong methods keep their 404 and 405', async () => {
    assertCode(await g.app.inject({ method: 'GET', url: '/nope', headers: bearer(ADMIN) }), 404, 'FAAS_ERR_NOT_FOUND', 'unknown');
    const res = await g.app.inject({ method: 'PUT', url: '/functions/fn/invoke', headers: bearer(ADMIN) });
    assertCode(res, 405, 'FAAS_ERR_METHOD_NOT_ALLOWED', 'wrong method');
    assert.equal(res.headers.allow, 'POST');
    // A key with the path's scope learns the same; a path of no family is 404 for every key.
    const { key } = await createKey({ scopes: ['metrics'] });
    assertCode(await g.app.inject({ method: 'GET', url: '/nope', headers: bearer(key) }), 404, 'FAAS_ERR_NOT_FOUND', 'unknown');
    const put = await g.app.inject({ method: 'PUT', url: '/metrics', headers: bearer(key) });
    assertCode(put, 405, 'FAAS_ERR_METHOD_NOT_ALLOWED', '405');
    assert.equal(put.headers.allow, 'GET, HEAD');
    // One without it is refused before the 405: it learns nothing about the methods of the path.
    const other = (await createKey({ scopes: ['functions'] })).key;
    assertCode(await g.app.inject({ method: 'PUT', url: '/metrics', headers: bearer(other) }), 403, 'FAAS_ERR_FORBIDDEN', 'PUT /metrics');
    assertCode(await g.app.inject({ method: 'GET', url: '/nope', headers: bearer(other) }), 404, 'FAAS_ERR_NOT_FOUND', '/nope');
    // Another spelling of a public path is a path of no family: any valid key is let through.
    assert.equal((await g.app.inject({ method: 'GET', url: '/%68ealth', headers: bearer(other) })).statusCode, 200);
  });

  it('a key over its rate limit gets 429 with Retry-After; the admin key is not limited', async () => {
    const { key } = await createKey({ scopes: ['metrics'], rate_limit: { per_second: 0.5, burst: 3 } });
    for (let i = 0; i < 3; i++)
      assertAdmitted(await g.app.inject({ method: 'GET', url: '/metrics', headers: bearer(key) }), `request ${i}`);
    const res = await g.app.inject({ method: 'GET', url: '/metrics', headers: bearer(key) });
    assertCode(res, 429, 'FAAS_ERR_RATE_LIMITED', 'over the limit');
    const retry = Number(res.headers['retry-after']);
    assert.ok(Number.isInteger(retry) && retry >= 1 && retry <= 2, `Retry-After ${res.headers['retry-after']}`);
    // Even routes it lacks the scope for count: probing is not free.
    assertCode(await g.app.inject({ method: 'GET', url: '/keys', headers: bearer(key) }), 429, 'FAAS_ERR_RATE_LIMITED', 'forbidden route');
    for (let i = 0; i < 50; i++) assertAdmitted(await g.app.inject({ method: 'GET', url: '/metrics', headers: bearer(ADMIN) }), 'admin');
  });

  it('records when a key was last used', async () => {
    const { key, id } = await createKey({ scopes: ['metrics'] });
    assert.equal((await g.app.inject({ method: 'GET', url: `/keys/${id}`, headers: bearer(ADMIN) })).json().last_used_at, null);
    await g.app.inject({ method: 'GET', url: '/metrics', headers: bearer(key) });
    const info = (await g.app.inject({ method: 'GET', url: `/keys/${id}`, headers: bearer(ADMIN) })).json();
    assert.ok(Math.abs(Date.parse(info.last_used_at) - Date.now()) < 60_000, info.last_used_at);
  });

  it('never logs a key', async () => {
    assert.ok(created.length > 0);
    const text = g.logs.join('');
    for (const key of [...created, ADMIN]) {
      const at = text.indexOf(key);
      assert.equal(at, -1, `a key is in the log: ${text.slice(Math.max(0, at - 300), at + 100)}`);
    }
    for (const key of created) assert.equal(text.includes(key.slice(18)), false, 'a secret is in the log');
  });
});

describe('auth: the raw connection', () => {
  let g: Gateway;
  let port: number;

  before(async () => {
    g = await startGateway();
    await g.app.listen({ host: '127.0.0.1', port: 0 });
    port = (g.app.server.address() as AddressInfo).port;
  });
  after(async () => {
    await g?.close();
  });

  /** Sends the headers of a request announcing `length` bytes of body, and only `sent` of them. */
  function partialBody(path: string, headers: Record<string, string>, length: number, sent: number) {
    return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string; ms: number }>((resolve, reject) => {
      const started = performance.now();
      const req = http.request({
        host: '127.0.0.1',
        port,
        method: 'POST',
        path,
        agent: false,
        headers: { ...headers, 'content-length': String(length) },
      });
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString(),
            ms: performance.now() - started,
          });
          req.destroy();
        });
      });
      req.on('error', reject);
      req.write(Buffer.alloc(sent, 0x7b));
    });
  }

  it('answers an unauthenticated 10 MiB body with 401 at once, before the body arrives, with the invocation id on the invoke path', async () => {
    const res = await partialBody('/functions/fn/invoke', { 'content-type': 'application/json' }, 10 * 1024 * 1024, 1024);
    assert.equal(res.status, 401, res.body);
    assert.equal(res.headers['www-authenticate'], 'Bearer realm="faas"');
    const body = JSON.parse(res.body);
    assert.equal(body.code, 'FAAS_ERR_UNAUTHORIZED');
    assert.ok(typeof res.headers['x-faas-invocation-id'] === 'string');
    assert.equal(body.invocation_id, res.headers['x-faas-invocation-id']);
    assert.ok(res.ms < 2000, `answered after ${res.ms} ms`);
  });

  it('with a valid key, the same body is refused for its size (the hook let it through)', async () => {
    const res = await partialBody('/functions/fn/invoke', { 'content-type': 'application/json', ...bearer(ADMIN) }, 10 * 1024 * 1024, 1024);
    assert.equal(res.status, 413, res.body);
  });
});

describe('auth: every method and spelling of a path', () => {
  // A real listening server: Fastify's inject resolves dot segments before the gateway sees them.
  let g: Gateway;
  let port: number;
  const keys = {} as Record<Scope, string>;
  let limited: string;

  before(async () => {
    g = await startGateway();
    await g.app.listen({ host: '127.0.0.1', port: 0 });
    port = (g.app.server.address() as AddressInfo).port;
    for (const scope of ['invoke', 'functions', 'history', 'metrics', 'admin'] as const) {
      const res = await g.app.inject({ method: 'POST', url: '/keys', headers: bearer(ADMIN), payload: { name: scope, scopes: [scope] } });
      keys[scope] = res.json().key;
    }
    const res = await g.app.inject({
      method: 'POST',
      url: '/keys',
      headers: bearer(ADMIN),
      payload: { name: 'limited', scopes: ['invoke', 'functions', 'history'], functions: ['only-*'] },
    });
    limited = res.json().key;
  });
  after(async () => {
    await g?.close();
  });

  /** One request with its path exactly as written. */
  function send(method: string, path: string, key: string) {
    return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
      const payload = method === 'POST' || method === 'PATCH' ? '{}' : undefined;
      const headers: Record<string, string> = { ...bearer(key) };
      if (payload) headers['content-type'] = 'application/json';
      const req = http.request({ host: '127.0.0.1', port, method, path, agent: false, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      });
      req.on('error', reject);
      req.end(payload);
    });
  }

  async function expect(method: string, path: string, key: string, status: number, code: string): Promise<http.IncomingHttpHeaders> {
    const res = await send(method, path, key);
    const what = `${method} ${path}`;
    assert.equal(res.status, status, `${what}: expected ${status} ${code}, got ${res.status} ${res.body.slice(0, 300)}`);
    if (method !== 'HEAD') assert.equal(JSON.parse(res.body).code, code, `${what}: ${res.body.slice(0, 300)}`);
    return res.headers;
  }

  it('a key without the scope gets 403 on the variants of a path that used to answer 404 or 405', async () => {
    for (const [method, path] of [
      ['GET', '/dead-letters/'],
      ['PUT', '/functions'],
      ['GET', '/functions/x/invoke'],
      ['GET', '/functions/abc/'],
      ['GET', '/functions/%2e%2e/abc'],
      ['GET', '/functions/abc/x/y'],
      ['GET', '/FUNCTIONS/abc'],
      ['GET', '/%66unctions'],
      ['GET', '/x/%2e%2e/keys'],
      ['GET', '/metrics/%2e%2e/keys'],
      ['POST', '/functions/'],
      ['HEAD', '/functions/abc/'],
      ['OPTIONS', '/invocations/abc'],
      ['DELETE', '/keys/'],
    ] as const) {
      await expect(method, path, keys.metrics, 403, 'FAAS_ERR_FORBIDDEN');
    }
    // The message names what the path needs.
    const messageOf = async (method: string, path: string) => JSON.parse((await send(method, path, keys.metrics)).body).error;
    assert.equal(await messageOf('GET', '/functions/abc/'), 'this API key lacks the scope this route needs: functions or invoke');
    assert.equal(await messageOf('PUT', '/functions'), 'this API key lacks the scope the methods of this path need: functions or invoke');
    assert.equal(
      await messageOf('GET', '/functions/abc/x/y'),
      'this API key lacks the scope the /functions paths need: invoke, functions or history',
    );
    // A scope of the family that is not the path's: 403 too.
    await expect('GET', '/functions/x/invoke', keys.functions, 403, 'FAAS_ERR_FORBIDDEN');
    await expect('PUT', '/functions/fn/invocations', keys.invoke, 403, 'FAAS_ERR_FORBIDDEN');
    await expect('GET', '/dead-letters/', keys.invoke, 403, 'FAAS_ERR_FORBIDDEN');
  });

  it('a key with the scope gets the precise 404, or 405 with Allow', async () => {
    let headers = await expect('PUT', '/functions', keys.functions, 405, 'FAAS_ERR_METHOD_NOT_ALLOWED');
    assert.equal(headers.allow, 'GET, HEAD, POST');
    headers = await expect('GET', '/functions/x/invoke', keys.invoke, 405, 'FAAS_ERR_METHOD_NOT_ALLOWED');
    assert.equal(headers.allow, 'POST');
    headers = await expect('OPTIONS', '/invocations/abc', keys.history, 405, 'FAAS_ERR_METHOD_NOT_ALLOWED');
    assert.equal(headers.allow, 'GET, HEAD, DELETE');
    for (const [method, path, key] of [
      ['GET', '/dead-letters/', keys.history],
      ['GET', '/functions/abc/', keys.functions],
      ['GET', '/functions/%2e%2e/abc', keys.invoke],
      ['GET', '/functions/abc/x/y', keys.history],
      ['GET', '/FUNCTIONS/abc', keys.functions],
      ['GET', '/x/%2e%2e/keys', keys.admin],
      ['POST', '/functions/', keys.functions],
      ['GET', '/functions/', ADMIN],
      ['DELETE', '/keys/', ADMIN],
      ['GET', '/metrics/', keys.metrics],
      ['GET', '/nope', keys.metrics],
    ] as const) {
      await expect(method, path, key, 404, 'FAAS_ERR_NOT_FOUND');
    }
  });

  it('a trailing slash is no route: 404 saying so, never the item route with an empty id', async () => {
    for (const method of ['GET', 'POST', 'PUT', 'DELETE']) {
      const res = await send(method, '/functions/', ADMIN);
      assert.equal(res.status, 404, res.body);
      assert.match(JSON.parse(res.body).error, /no path of this API ends in "\/" \(the path is \/functions\)/);
    }
    // An empty id inside the path still reaches the route, which refuses it.
    await expect('POST', '/functions//invoke', ADMIN, 400, 'FAAS_ERR_INVALID_FUNCTION_ID');
  });

  it('a key limited to some functions gets 403 for the others on every spelling, and the 404 for its own', async () => {
    for (const [method, path] of [
      ['POST', '/functions/other/invoke/'],
      ['GET', '/functions/other/'],
      ['GET', '/functions/other/x/y'],
      ['PUT', '/functions/other'],
      ['POST', '/functions/OTHER/invoke'],
      ['POST', '/FUNCTIONS/other/invoke'],
      ['GET', '/functions/%2e%2e/only-a'],
      ['POST', '/x/%2e%2e/functions/other/invoke'],
    ] as const) {
      await expect(method, path, limited, 403, 'FAAS_ERR_FORBIDDEN');
    }
    for (const [method, path] of [
      ['POST', '/functions/only-a/invoke/'],
      ['GET', '/functions/only-a/x'],
      ['GET', '/functions/'],
      ['POST', '/x/%2e%2e/functions/only-a/invoke'],
    ] as const) {
      await expect(method, path, limited, 404, 'FAAS_ERR_NOT_FOUND');
    }
    await expect('PUT', '/functions/only-a', limited, 405, 'FAAS_ERR_METHOD_NOT_ALLOWED');
  });
});

describe('auth: the store unavailable', () => {
  it('API keys get 503 FAAS_ERR_STORE_UNAVAILABLE (nobody is let in unchecked); the admin key still works', async () => {
    const g = await startGateway();
    try {
      const created = await g.app.inject({
        method: 'POST',
        url: '/keys',
        headers: bearer(ADMIN),
        payload: { name: 'k', scopes: ['metrics'] },
      });
      const { key } = created.json();
      await g.store.close();
      assertCode(
        await g.app.inject({ method: 'GET', url: '/metrics', headers: bearer(key) }),
        503,
        'FAAS_ERR_STORE_UNAVAILABLE',
        'API key',
      );
      assert.equal((await g.app.inject({ method: 'GET', url: '/metrics', headers: bearer(ADMIN) })).statusCode, 200);
      assertUnauthorized(await g.app.inject({ method: 'GET', url: '/metrics' }), 'no key');
    } finally {
      await g.close();
    }
  });
});

describe('auth: open mode', () => {
  let g: Gateway;

  before(async () => {
    g = await startGateway({ FAAS_AUTH: 'open', FAAS_GATEWAY_HOST: '127.0.0.1' }, undefined);
  });
  after(async () => {
    await g?.close();
  });

  it('lets every request in without a key, and keys can still be managed', async () => {
    assert.equal((await g.app.inject({ method: 'GET', url: '/metrics' })).statusCode, 200);
    assertCode(await g.app.inject({ method: 'GET', url: '/nope' }), 404, 'FAAS_ERR_NOT_FOUND', 'unknown path');
    const res = await g.app.inject({ method: 'POST', url: '/keys', payload: { name: 'k', scopes: ['invoke'] } });
    assert.equal(res.statusCode, 201, res.body);
    // A key is neither needed nor checked: a wrong one is ignored, like no key.
    assert.equal((await g.app.inject({ method: 'GET', url: '/metrics', headers: bearer('nonsense') })).statusCode, 200);
  });
});

describe('key routes', () => {
  let g: Gateway;

  before(async () => {
    g = await startGateway();
  });
  after(async () => {
    await g?.close();
  });

  const post = (payload: unknown) => g.app.inject({ method: 'POST', url: '/keys', headers: bearer(ADMIN), payload: payload as object });

  it('creates a key: 201, Location, the key once, and KeyInfo', async () => {
    const expires = new Date(Date.now() + 3_600_000).toISOString();
    const res = await post({
      name: 'billing ci',
      scopes: ['invoke', 'history'],
      functions: ['billing-*'],
      rate_limit: { per_second: 10, burst: 20 },
      max_concurrency: 4,
      expires_at: expires,
    });
    assert.equal(res.statusCode, 201, res.body);
    const body = res.json();
    assert.match(body.key, /^faas_[0-9a-v]{12}_[A-Za-z0-9_-]{43}$/);
    assert.equal(body.key.slice(5, 17), body.id);
    assert.equal(res.headers.location, `/keys/${body.id}`);
    assert.deepEqual(Object.keys(body).sort(), [
      'created_at',
      'expires_at',
      'functions',
      'id',
      'key',
      'last_used_at',
      'max_concurrency',
      'name',
      'rate_limit',
      'revoked_at',
      'scopes',
    ]);
    const { key: _key, id: _id, created_at: _created, ...rest } = body;
    assert.deepEqual(rest, {
      name: 'billing ci',
      scopes: ['invoke', 'history'],
      functions: ['billing-*'],
      rate_limit: { per_second: 10, burst: 20 },
      max_concurrency: 4,
      expires_at: expires,
      revoked_at: null,
      last_used_at: null,
    });
    assert.ok(Math.abs(Date.parse(body.created_at) - Date.now()) < 60_000);

    const got = await g.app.inject({ method: 'GET', url: `/keys/${body.id}`, headers: bearer(ADMIN) });
    assert.equal(got.statusCode, 200);
    const { key: _shown, ...info } = body;
    assert.deepEqual(got.json(), info);
    assert.equal('key' in got.json(), false, 'the key is shown once');

    const list = await g.app.inject({ method: 'GET', url: '/keys', headers: bearer(ADMIN) });
    assert.equal(list.statusCode, 200);
    assert.ok(list.json().keys.some((k: { id: string; key?: string }) => k.id === body.id && k.key === undefined));
  });

  it("defaults: every function, no rate limit, the platform's concurrency cap, no expiry", async () => {
    const res = await post({ name: 'n', scopes: ['metrics'] });
    assert.equal(res.statusCode, 201, res.body);
    const { functions, rate_limit, max_concurrency, expires_at } = res.json();
    assert.deepEqual([functions, rate_limit, max_concurrency, expires_at], [null, null, null, null]);
    assert.equal((await post({ name: 'n', scopes: ['invoke'], max_concurrency: null })).json().max_concurrency, null);
    assert.equal((await post({ name: 'n', scopes: ['invoke'], max_concurrency: 10_000 })).json().max_concurrency, 10_000);
  });

  it('refuses bad requests with 400 FAAS_ERR_INVALID_REQUEST naming the field', async () => {
    const future = new Date(Date.now() + 60_000).toISOString();
    const cases: [unknown, string][] = [
      [{ name: 'n', scopes: ['invoke'], extra: 1 }, 'extra'],
      [{ scopes: ['invoke'] }, 'name'],
      [{ name: '', scopes: ['invoke'] }, 'name'],
      [{ name: 'x'.repeat(101), scopes: ['invoke'] }, 'name'],
      [{ name: 'a\nb', scopes: ['invoke'] }, 'name'],
      [{ name: 'n' }, 'scopes'],
      [{ name: 'n', scopes: [] }, 'scopes'],
      [{ name: 'n', scopes: ['root'] }, 'scopes'],
      [{ name: 'n', scopes: ['invoke', 'invoke'] }, 'scopes'],
      [{ name: 'n', scopes: 'invoke' }, 'scopes'],
      [{ name: 'n', scopes: ['invoke'], functions: [] }, 'functions'],
      [{ name: 'n', scopes: ['invoke'], functions: ['../etc'] }, 'functions'],
      [{ name: 'n', scopes: ['invoke'], functions: ['a*b'] }, 'functions'],
      [{ name: 'n', scopes: ['invoke'], functions: Array.from({ length: 101 }, (_, i) => `f${i}`) }, 'functions'],
      [{ name: 'n', scopes: ['invoke'], rate_limit: { per_second: 0, burst: 1 } }, 'rate_limit.per_second'],
      [{ name: 'n', scopes: ['invoke'], rate_limit: { per_second: 100_001, burst: 1 } }, 'rate_limit.per_second'],
      [{ name: 'n', scopes: ['invoke'], rate_limit: { per_second: 1, burst: 0 } }, 'rate_limit.burst'],
      [{ name: 'n', scopes: ['invoke'], rate_limit: { per_second: 1, burst: 1.5 } }, 'rate_limit.burst'],
      [{ name: 'n', scopes: ['invoke'], rate_limit: { per_second: 1 } }, 'rate_limit.burst'],
      [{ name: 'n', scopes: ['invoke'], rate_limit: { per_second: 1, burst: 1, window: 2 } }, 'rate_limit.window'],
      [{ name: 'n', scopes: ['invoke'], rate_limit: 5 }, 'rate_limit'],
      [{ name: 'n', scopes: ['invoke'], max_concurrency: 0 }, 'max_concurrency'],
      [{ name: 'n', scopes: ['invoke'], max_concurrency: 1.5 }, 'max_concurrency'],
      [{ name: 'n', scopes: ['invoke'], max_concurrency: 10_001 }, 'max_concurrency'],
      [{ name: 'n', scopes: ['invoke'], max_concurrency: '4' }, 'max_concurrency'],
      [{ name: 'n', scopes: ['invoke'], expires_at: '2000-01-01T00:00:00Z' }, 'expires_at'],
      [{ name: 'n', scopes: ['invoke'], expires_at: future.slice(0, 10) }, 'expires_at'],
      [{ name: 'n', scopes: ['invoke'], expires_at: Date.now() + 60_000 }, 'expires_at'],
      [{ name: 'n', scopes: ['invoke'], expires_at: '2099-02-30T00:00:00Z' }, 'expires_at'],
      [[], 'body'],
    ];
    for (const [payload, field] of cases) {
      const res = await post(payload);
      assertCode(res, 400, 'FAAS_ERR_INVALID_REQUEST', JSON.stringify(payload).slice(0, 100));
      assert.equal(res.json().field, field, JSON.stringify(payload).slice(0, 100));
    }
  });

  it('GET and DELETE of an unknown key are 404 FAAS_ERR_KEY_NOT_FOUND; DELETE is 204 and leaves the key listed as revoked', async () => {
    for (const id of ['0123456789ab', 'admin', 'x'.repeat(300)]) {
      assertCode(await g.app.inject({ method: 'GET', url: `/keys/${id}`, headers: bearer(ADMIN) }), 404, 'FAAS_ERR_KEY_NOT_FOUND', id);
      assertCode(await g.app.inject({ method: 'DELETE', url: `/keys/${id}`, headers: bearer(ADMIN) }), 404, 'FAAS_ERR_KEY_NOT_FOUND', id);
    }
    const { id } = (await post({ name: 'n', scopes: ['invoke'] })).json();
    const del = await g.app.inject({ method: 'DELETE', url: `/keys/${id}`, headers: bearer(ADMIN) });
    assert.equal(del.statusCode, 204);
    assert.equal(del.body, '');
    const info = (await g.app.inject({ method: 'GET', url: `/keys/${id}`, headers: bearer(ADMIN) })).json();
    assert.ok(Math.abs(Date.parse(info.revoked_at) - Date.now()) < 60_000);
    assert.equal((await g.app.inject({ method: 'DELETE', url: `/keys/${id}`, headers: bearer(ADMIN) })).statusCode, 204, 'revoking twice');
  });

  type KeyPage = { keys: Array<{ id: string; created_at: string; revoked_at: string | null }>; next_cursor: string | null };
  const listKeys = async (query: string): Promise<KeyPage> => {
    const res = await g.app.inject({ method: 'GET', url: `/keys${query}`, headers: bearer(ADMIN) });
    assert.equal(res.statusCode, 200, `GET /keys${query}: ${res.body.slice(0, 300)}`);
    assert.deepEqual(Object.keys(res.json()).sort(), ['keys', 'next_cursor']);
    return res.json();
  };
  const nextPage = (limit: number, cursor: string | null) =>
    listKeys(`?limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);

  it('GET /keys pages oldest first (creation time, then id): every limit covers every key once, in order', async () => {
    for (let i = 0; i < 5; i++) assert.equal((await post({ name: `page ${i}`, scopes: ['invoke'] })).statusCode, 201);
    const whole = await listKeys('');
    assert.equal(whole.next_cursor, null, 'the default limit (100) holds them all');
    const ids = whole.keys.map((k) => k.id);
    assert.ok(ids.length >= 5);
    const sortKey = (k: KeyPage['keys'][number]) => `${k.created_at} ${k.id}`;
    assert.deepEqual(
      ids,
      [...whole.keys].sort((a, b) => (sortKey(a) < sortKey(b) ? -1 : 1)).map((k) => k.id),
      'ordered',
    );
    for (let limit = 1; limit <= ids.length + 1; limit++) {
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page: KeyPage = await nextPage(limit, cursor);
        assert.ok(page.keys.length <= limit);
        seen.push(...page.keys.map((k) => k.id));
        cursor = page.next_cursor;
        pages++;
      } while (cursor);
      assert.deepEqual(seen, ids, `limit ${limit}`);
      assert.equal(pages, Math.max(1, Math.ceil(ids.length / limit)), `limit ${limit}: no empty last page`);
    }
  });

  it('GET /keys: a key made after the first page comes at the end; one revoked between pages stays in its place', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await post({ name: `between ${i}`, scopes: ['invoke'] })).statusCode, 201);
    const before = (await listKeys('?limit=1000')).keys.map((k) => k.id);
    const first = await nextPage(2, null);
    // In a later millisecond than the keys listed: within the same one, the id would order them.
    await new Promise((resolve) => setTimeout(resolve, 2));
    const late = (await post({ name: 'late', scopes: ['invoke'] })).json().id;
    const revoked = before[before.length - 1] as string;
    assert.equal((await g.app.inject({ method: 'DELETE', url: `/keys/${revoked}`, headers: bearer(ADMIN) })).statusCode, 204);
    const seen = first.keys.map((k) => k.id);
    const rest: KeyPage['keys'] = [];
    for (let cursor = first.next_cursor; cursor; ) {
      const page = await nextPage(2, cursor);
      rest.push(...page.keys);
      cursor = page.next_cursor;
    }
    seen.push(...rest.map((k) => k.id));
    assert.deepEqual(seen, [...before, late]);
    assert.notEqual(rest.find((k) => k.id === revoked)?.revoked_at, null, 'listed, with revoked_at set');
  });

  it('GET /keys refuses a malformed limit, a cursor from elsewhere and unknown parameters as the other list routes do', async () => {
    for (const id of ['kp-a', 'kp-b']) {
      const res = await g.app.inject({
        method: 'POST',
        url: '/functions',
        headers: bearer(ADMIN),
        payload: { id, image: 'faas/busybox:latest', command: ['cat'] },
      });
      assert.equal(res.statusCode, 201, res.body);
    }
    const functionsCursor = (await g.app.inject({ method: 'GET', url: '/functions?limit=1', headers: bearer(ADMIN) })).json().next_cursor;
    const keysCursor = (await nextPage(1, null)).next_cursor;
    assert.equal(typeof functionsCursor, 'string');
    assert.equal(typeof keysCursor, 'string');
    const queries = [
      'limit=0',
      'limit=1001',
      'limit=1.5',
      'limit=abc',
      'limit=',
      'limit=1&limit=2',
      'cursor=',
      'cursor=garbage',
      `cursor=${'a'.repeat(1025)}`,
      `cursor=${encodeURIComponent(keysCursor as string)}x`,
      'sort=id',
    ];
    for (const query of queries) {
      const keys = await g.app.inject({ method: 'GET', url: `/keys?${query}`, headers: bearer(ADMIN) });
      assertCode(keys, 400, 'FAAS_ERR_INVALID_QUERY', query);
      const functions = await g.app.inject({ method: 'GET', url: `/functions?${query}`, headers: bearer(ADMIN) });
      assertCode(functions, 400, 'FAAS_ERR_INVALID_QUERY', query);
      assert.deepEqual(keys.json(), functions.json(), `${query}: the same answer as GET /functions`);
    }
    // Each list refuses the other's cursor, with the same answer.
    const foreign = await g.app.inject({
      method: 'GET',
      url: `/keys?cursor=${encodeURIComponent(functionsCursor)}`,
      headers: bearer(ADMIN),
    });
    assertCode(foreign, 400, 'FAAS_ERR_INVALID_QUERY', 'a functions cursor');
    assert.equal(foreign.json().field, 'cursor');
    const swapped = await g.app.inject({
      method: 'GET',
      url: `/functions?cursor=${encodeURIComponent(keysCursor as string)}`,
      headers: bearer(ADMIN),
    });
    assert.deepEqual(swapped.json(), foreign.json());
    assert.equal((await g.app.inject({ method: 'HEAD', url: '/keys?limit=0', headers: bearer(ADMIN) })).statusCode, 400);
  });

  /** A key limited to functions a* with `scopes`, written to the store directly (as before POST /keys refused it). */
  async function storeLimitedKey(scopes: Scope[]) {
    const key = generateKey();
    await g.store.keys.create({
      id: key.id,
      secretHash: key.secretHash,
      name: `old limited ${scopes.join(' ')}`,
      scopes,
      functions: ['a*'],
      ratePerSecond: null,
      rateBurst: null,
      expiresAt: null,
    });
    return key;
  }

  it('an admin key limited to some functions is refused at creation, and one stored anyway cannot use the key routes', async () => {
    const res = await post({ name: 'limited admin', scopes: ['admin'], functions: ['a*'] });
    assertCode(res, 400, 'FAAS_ERR_INVALID_REQUEST', 'admin with functions');
    assert.equal(res.json().field, 'functions');
    // A record written before the rule (or by hand): it must not mint a key for every function.
    const limited = await storeLimitedKey(['admin']);
    const as = bearer(limited.text);
    const minted = await g.app.inject({ method: 'POST', url: '/keys', headers: as, payload: { name: 'escape', scopes: ['history'] } });
    assertCode(minted, 403, 'FAAS_ERR_FORBIDDEN', 'POST /keys');
    assertCode(await g.app.inject({ method: 'GET', url: '/keys', headers: as }), 403, 'FAAS_ERR_FORBIDDEN', 'GET /keys');
    assertCode(await g.app.inject({ method: 'GET', url: `/keys/${limited.id}`, headers: as }), 403, 'FAAS_ERR_FORBIDDEN', 'GET /keys/{id}');
    assertCode(await g.app.inject({ method: 'DELETE', url: `/keys/${limited.id}`, headers: as }), 403, 'FAAS_ERR_FORBIDDEN', 'DELETE');
    // Its own functions stay reachable; others do not.
    assertAdmitted(await g.app.inject({ method: 'GET', url: '/functions/a1', headers: as }), 'GET /functions/a1');
    assertCode(await g.app.inject({ method: 'GET', url: '/functions/b1', headers: as }), 403, 'FAAS_ERR_FORBIDDEN', 'GET /functions/b1');
  });

  it('a metrics key limited to some functions is refused at creation, and one stored anyway cannot read /metrics', async () => {
    const res = await post({ name: 'limited scraper', scopes: ['metrics'], functions: ['a*'] });
    assertCode(res, 400, 'FAAS_ERR_INVALID_REQUEST', 'metrics with functions');
    assert.equal(res.json().field, 'functions');
    const limited = await storeLimitedKey(['metrics']);
    assertCode(
      await g.app.inject({ method: 'GET', url: '/metrics', headers: bearer(limited.text) }),
      403,
      'FAAS_ERR_FORBIDDEN',
      'GET /metrics',
    );
  });

  it('a key with the admin scope manages keys; the keys it makes work', async () => {
    const admin = (await post({ name: 'second admin', scopes: ['admin'] })).json().key;
    const res = await g.app.inject({ method: 'POST', url: '/keys', headers: bearer(admin), payload: { name: 'm', scopes: ['metrics'] } });
    assert.equal(res.statusCode, 201, res.body);
    assert.equal((await g.app.inject({ method: 'GET', url: '/metrics', headers: bearer(res.json().key) })).statusCode, 200);
  });
});

describe('auth: concurrency caps', () => {
  let g: TestGateway;
  const gates: Array<() => void> = [];
  // Every invocation is held open until the test lets it end, as a `sleep 40` would be.
  before(async () => {
    g = await startTestGateway(
      { FAAS_MAX_CONCURRENCY: '8', FAAS_MAX_QUEUE: '8', FAAS_KEY_MAX_CONCURRENCY: '2' },
      { run: () => new Promise((resolve) => gates.push(() => resolve(facts()))) },
    );
  });
  after(async () => {
    for (const open of gates.splice(0)) open();
    await g?.close();
  });

  const running = async (n: number) => {
    while (gates.length < n) await new Promise((r) => setTimeout(r, 1));
  };
  const openAll = () => {
    for (const open of gates.splice(0)) open();
  };
  const SLOW = { image: 'faas/busybox:latest', command: ['sleep', '40'] };
  const invoke = (key: string, headers: Record<string, string> = {}) =>
    g.call('POST', '/functions/slow/invoke', { key, body: SLOW, headers });
  const makeKey = async (body: Record<string, unknown>) => {
    const res = await g.call('POST', '/keys', { body: { name: 'tenant', scopes: ['invoke', 'history'], ...body } });
    assert.equal(res.statusCode, 201, res.body);
    return res.json() as { id: string; key: string; max_concurrency: number | null };
  };

  it("one more than a key's max_concurrency is 429 FAAS_ERR_KEY_CONCURRENCY_LIMIT; other keys, the default cap and the admin key", async () => {
    const capped = await makeKey({ max_concurrency: 1 });
    const plain = await makeKey({});
    assert.equal(plain.max_concurrency, null, "a key without its own cap shows none: it gets the platform's");

    const first = invoke(capped.key);
    await running(1);
    const refused = await invoke(capped.key);
    assertCode(refused, 429, 'FAAS_ERR_KEY_CONCURRENCY_LIMIT', 'over its cap');
    assert.match(refused.json().error, new RegExp(`API key "${capped.id}" .*concurrency cap of 1; retry when one has finished`));
    assert.equal(refused.headers['retry-after'], undefined, "as for a function's cap: no Retry-After");

    // Another key has a count of its own; without a cap of its own it gets FAAS_KEY_MAX_CONCURRENCY (2).
    const others = [invoke(plain.key), invoke(plain.key)];
    await running(3);
    const overDefault = await invoke(plain.key);
    assertCode(overDefault, 429, 'FAAS_ERR_KEY_CONCURRENCY_LIMIT', 'over the platform default');
    assert.match(overDefault.json().error, /concurrency cap of 2;/);

    // The admin key is not capped, and finds slots free while the tenants are at their caps.
    const admin = [invoke(ADMIN_KEY), invoke(ADMIN_KEY), invoke(ADMIN_KEY)];
    await running(6);
    openAll();
    for (const res of await Promise.all([first, ...others, ...admin])) assert.equal(res.statusCode, 200, res.body);

    // An invocation that has its outcome frees its place at once.
    const again = invoke(capped.key);
    await running(1);
    openAll();
    assert.equal((await again).statusCode, 200);

    // The refusal is in the history (with the key) and in the metrics, by its code.
    const records = await g.call('GET', `/functions/slow/invocations?key_id=${capped.id}&status=error`);
    assert.equal(records.statusCode, 200, records.body);
    assert.deepEqual(
      records.json().invocations.map((i: { error_code: string }) => i.error_code),
      ['FAAS_ERR_KEY_CONCURRENCY_LIMIT'],
    );
    const metrics = await g.call('GET', '/metrics');
    assert.match(
      metrics.body,
      /faas_invocations_total\{function="slow",executor="docker",outcome="error",code="FAAS_ERR_KEY_CONCURRENCY_LIMIT"\} 2/,
    );
  });

  it('an asynchronous invocation is accepted whatever the cap, and carries the cap of its key when it runs; the admin key none', async () => {
    const capped = await makeKey({ max_concurrency: 1 });
    const plain = await makeKey({});
    const door = asyncFrontDoor(g.config, g.store);
    const capOf = async (key: string) => {
      const accepted = await invoke(key, { prefer: 'respond-async' });
      assert.equal(accepted.statusCode, 202, accepted.body);
      const claimed = await g.store.queue.claim({ owner: 'test', leaseMs: 60_000 });
      assert.ok(claimed, 'queued');
      assert.equal(claimed.job.id, accepted.json().invocation_id);
      const { invocation } = await door.resolve(claimed.job, claimed.request);
      return [invocation.keyId, invocation.keyMaxConcurrency];
    };
    assert.deepEqual(await capOf(capped.key), [capped.id, 1]);
    assert.deepEqual(await capOf(plain.key), [plain.id, 2]);
    assert.deepEqual(await capOf(ADMIN_KEY), ['admin', undefined]);
  });
});
