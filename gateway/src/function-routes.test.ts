/**
 * The function registry and the invocation of registered functions through the gateway's HTTP
 * surface, with a real SQLite store and the fake executor: CRUD, versions and If-Match, the merge
 * patch, lists filtered by the caller's key, the invoke merge rules, and secrets that never leave.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { ExecRequest } from '@faas/executor';
import { openSqliteStore } from '@faas/store';
import type { LightMyRequestResponse } from 'fastify';
import { startTestGateway, type TestGateway } from './test-fixtures.js';

const SECRET = 'never-show-this-9f3a';
const IMAGE = 'faas/busybox:latest';
let g: TestGateway;

before(async () => {
  g = await startTestGateway();
});

after(async () => {
  await g?.close();
});

function expectCode(res: LightMyRequestResponse, status: number, code?: string, field?: string): Record<string, unknown> {
  assert.equal(res.statusCode, status, res.body.slice(0, 500));
  const body = res.body === '' ? {} : (res.json() as Record<string, unknown>);
  if (code) assert.equal(body.code, code, res.body);
  if (field) assert.equal(body.field, field, res.body);
  return body;
}

async function create(body: Record<string, unknown>): Promise<Record<string, unknown>> {
  return expectCode(await g.call('POST', '/functions', { body: { image: IMAGE, command: ['echo', 'hi'], ...body } }), 201);
}

describe('function registry', () => {
  it('POST, GET, PATCH, DELETE: a round trip with versions, ETag and Location', async () => {
    const post = await g.call('POST', '/functions', {
      body: { id: 'crud', image: IMAGE, command: ['echo', 'hi'], secrets: { TOKEN: SECRET }, description: 'first' },
    });
    const created = expectCode(post, 201);
    assert.equal(post.headers.location, '/functions/crud');
    assert.equal(post.headers.etag, '"1"');
    assert.equal(created.version, 1);
    assert.deepEqual(created.secret_names, ['TOKEN']);
    assert.equal(created.created_at, created.updated_at);
    assert.match(String(created.created_at), /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);

    const read = await g.call('GET', '/functions/crud');
    assert.deepEqual(expectCode(read, 200), created);
    assert.equal(read.headers.etag, '"1"');

    const patched = await g.call('PATCH', '/functions/crud', { body: { description: 'second', timeout_ms: 1000 } });
    assert.equal(expectCode(patched, 200).version, 2);
    assert.equal(patched.headers.etag, '"2"');
    assert.equal(patched.json().description, 'second');
    assert.equal(patched.json().timeout_ms, 1000);

    expectCode(await g.call('POST', '/functions', { body: { id: 'crud', image: IMAGE, command: ['x'] } }), 409, 'FAAS_ERR_FUNCTION_EXISTS');
    expectCode(await g.call('DELETE', '/functions/crud'), 204);
    expectCode(await g.call('GET', '/functions/crud'), 404, 'FAAS_ERR_FUNCTION_NOT_FOUND');
    expectCode(await g.call('DELETE', '/functions/crud'), 404, 'FAAS_ERR_FUNCTION_NOT_FOUND');
    expectCode(await g.call('PATCH', '/functions/crud', { body: {} }), 404, 'FAAS_ERR_FUNCTION_NOT_FOUND');
  });

  it('If-Match: the version must match on PATCH and DELETE (412), * or absent means any', async () => {
    await create({ id: 'ifmatch' });
    const stale = expectCode(
      await g.call('PATCH', '/functions/ifmatch', { body: { description: 'x' }, headers: { 'if-match': '"2"' } }),
      412,
      'FAAS_ERR_VERSION_CONFLICT',
    );
    assert.equal(stale.version, 1, 'a 412 gives the current version, on PATCH as on DELETE');
    expectCode(await g.call('PATCH', '/functions/ifmatch', { body: { description: 'x' }, headers: { 'if-match': '"1"' } }), 200);
    expectCode(await g.call('PATCH', '/functions/ifmatch', { body: { description: 'y' }, headers: { 'if-match': '*' } }), 200);
    expectCode(
      await g.call('PATCH', '/functions/ifmatch', { body: { description: 'z' }, headers: { 'if-match': '3' } }),
      400,
      'FAAS_ERR_INVALID_REQUEST',
    );
    const staleDelete = expectCode(
      await g.call('DELETE', '/functions/ifmatch', { headers: { 'if-match': '"1"' } }),
      412,
      'FAAS_ERR_VERSION_CONFLICT',
    );
    assert.equal(staleDelete.version, 3);
    expectCode(await g.call('DELETE', '/functions/ifmatch', { headers: { 'if-match': '"3"' } }), 204);
  });

  it('PATCH is a JSON merge patch: absent kept, null resets, limits and secrets merged member by member; no change, no new version', async () => {
    await create({
      id: 'merge',
      env_vars: ['A=1'],
      limits: { memory_mb: 64, cpus: 0.5 },
      secrets: { ONE: 'x', TWO: 'y' },
      max_concurrency: 2,
    });
    const step = async (body: unknown, type = 'application/merge-patch+json') =>
      expectCode(await g.call('PATCH', '/functions/merge', { body, headers: { 'content-type': type } }), 200);
    let fn = await step({ limits: { cpus: null, pids: 9 }, secrets: { TWO: null, THREE: 'z' } });
    assert.deepEqual(fn.limits, { memory_mb: 64, pids: 9 });
    assert.deepEqual(fn.secret_names, ['ONE', 'THREE']);
    assert.deepEqual(fn.env_vars, ['A=1'], 'absent fields are kept');
    assert.equal(fn.version, 2);
    fn = await step({ env_vars: null, limits: null, secrets: null, max_concurrency: null }, 'application/json');
    assert.deepEqual([fn.env_vars, fn.limits, fn.secret_names, fn.max_concurrency], [[], {}, [], null]);
    assert.equal(fn.version, 3);
    fn = await step({ description: '' });
    assert.equal(fn.version, 3, 'a patch that changes nothing makes no version');
    expectCode(await g.call('PATCH', '/functions/merge', { body: { image: null } }), 400, 'FAAS_ERR_INVALID_FUNCTION', 'image');
    // An unknown limit is refused whatever its value: null does not make it a no-op.
    for (const limits of [{ memory: null }, { memory: 64 }, { cpus: null, swap_mb: null }]) {
      const name = Object.keys(limits).find((n) => n !== 'cpus');
      expectCode(await g.call('PATCH', '/functions/merge', { body: { limits } }), 400, 'FAAS_ERR_INVALID_LIMITS', `limits.${name}`);
    }
    expectCode(await g.call('PATCH', '/functions/merge', { body: { id: 'other' } }), 400, 'FAAS_ERR_INVALID_FUNCTION', 'id');
    expectCode(
      await g.call('PATCH', '/functions/merge', { body: { env_vars: ['ONE=1'], secrets: { ONE: 'v' } } }),
      400,
      'FAAS_ERR_INVALID_ENV',
      'secrets',
    );
    expectCode(
      await g.call('PATCH', '/functions/merge', { body: '', headers: { 'content-type': 'application/json' } }),
      400,
      'FAAS_ERR_INVALID_FUNCTION',
    );
  });

  it('POST refuses bad definitions naming the field', async () => {
    const post = (body: unknown) => g.call('POST', '/functions', { body });
    expectCode(await post({ id: 'bad', image: IMAGE, command: ['x'], colour: 'red' }), 400, 'FAAS_ERR_INVALID_FUNCTION', 'colour');
    expectCode(await post({ id: 'a..b', image: IMAGE, command: ['x'] }), 400, 'FAAS_ERR_INVALID_FUNCTION_ID', 'id');
    expectCode(await post({ id: 'bad', image: IMAGE, command: ['x'], executor: 'qemu' }), 403, 'FAAS_ERR_EXECUTOR_NOT_ALLOWED', 'executor');
    expectCode(await post({ id: 'bad', image: IMAGE, command: [] }), 400, 'FAAS_ERR_INVALID_COMMAND', 'command');
    expectCode(
      await g.call('POST', '/functions', { body: '', headers: { 'content-type': 'application/json' } }),
      400,
      'FAAS_ERR_INVALID_FUNCTION',
    );
  });

  it('GET /functions pages by id, and a key limited to some functions sees only those (and cannot register others)', async () => {
    for (const id of ['list-a', 'list-b', 'list-c', 'other-x']) await create({ id });
    const all: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await g.call('GET', `/functions?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      const page = expectCode(res, 200) as { functions: Array<{ id: string }>; next_cursor: string | null };
      assert.ok(page.functions.length <= 2);
      all.push(...page.functions.map((f) => f.id));
      cursor = page.next_cursor;
    } while (cursor);
    assert.deepEqual(
      all.filter((id) => /^(list|other)-/.test(id)),
      ['list-a', 'list-b', 'list-c', 'other-x'],
    );

    const limited = await g.newKey(['functions'], ['list-*']);
    const seen: string[] = [];
    cursor = null;
    do {
      const res = await g.call('GET', `/functions?limit=1${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { key: limited.key });
      const page = expectCode(res, 200) as { functions: Array<{ id: string }>; next_cursor: string | null };
      seen.push(...page.functions.map((f) => f.id));
      cursor = page.next_cursor;
    } while (cursor);
    assert.deepEqual(seen, ['list-a', 'list-b', 'list-c']);
    expectCode(await g.call('GET', '/functions/other-x', { key: limited.key }), 403, 'FAAS_ERR_FORBIDDEN');
    const outside = await g.call('POST', '/functions', { key: limited.key, body: { id: 'other-y', image: IMAGE, command: ['x'] } });
    expectCode(outside, 403, 'FAAS_ERR_FORBIDDEN');
    expectCode(await g.call('POST', '/functions', { key: limited.key, body: { id: 'list-d', image: IMAGE, command: ['x'] } }), 201);

    expectCode(await g.call('GET', '/functions?limit=0'), 400, 'FAAS_ERR_INVALID_QUERY', 'limit');
    expectCode(await g.call('GET', '/functions?limit=1001'), 400, 'FAAS_ERR_INVALID_QUERY', 'limit');
    expectCode(await g.call('GET', '/functions?cursor=garbage'), 400, 'FAAS_ERR_INVALID_QUERY');
    expectCode(await g.call('GET', '/functions?sort=id'), 400, 'FAAS_ERR_INVALID_QUERY', 'sort');
  });
});

describe('invoking a registered function', () => {
  const lastRequest = () => g.executor.requests[g.executor.requests.length - 1] as ExecRequest;

  it('runs the definition with its secrets in env, with no body at all, and answers its version and phases', async () => {
    await create({
      id: 'reg',
      command: ['run'],
      env_vars: ['MODE=prod'],
      secrets: { TOKEN: SECRET },
      limits: { memory_mb: 64 },
      timeout_ms: 2000,
    });
    for (const options of [{}, { body: '', headers: { 'content-type': 'application/json' } }]) {
      const res = await g.call('POST', '/functions/reg/invoke', options);
      const body = expectCode(res, 200);
      assert.equal(body.function_version, 1);
      assert.deepEqual(Object.keys(body.phases as object).sort(), ['acquire_ms', 'queue_ms', 'run_ms']);
      assert.deepEqual(lastRequest().command, ['run']);
      assert.ok(lastRequest().env.includes('MODE=prod'));
      assert.ok(lastRequest().env.includes(`TOKEN=${SECRET}`));
      assert.equal(lastRequest().timeoutMs, 2000);
    }
  });

  it('merges what the request may set and refuses the rest, naming the field', async () => {
    await create({
      id: 'rules',
      env_vars: ['MODE=prod'],
      allowed_env_vars: ['EXTRA', 'APP_*'],
      secrets: { TOKEN: SECRET },
      limits: { memory_mb: 64 },
      timeout_ms: 2000,
    });
    const invoke = (body: unknown) => g.call('POST', '/functions/rules/invoke', { body });
    expectCode(await invoke({ payload_base64: 'aGk=', env_vars: ['EXTRA=1'], timeout_ms: 1000, limits: { memory_mb: 32 } }), 200);
    assert.equal(lastRequest().stdin?.toString(), 'hi');
    assert.ok(lastRequest().env.includes('EXTRA=1'));
    assert.equal(lastRequest().timeoutMs, 1000);
    for (const [body, field] of [
      [{ image: IMAGE }, 'image'],
      [{ command: ['x'] }, 'command'],
      [{ executor: 'docker' }, 'executor'],
      [{ env_vars: ['MODE=dev'] }, 'env_vars'],
      [{ env_vars: ['TOKEN=x'] }, 'env_vars'],
      [{ env_vars: ['OTHER=1'] }, 'env_vars'],
      [{ env_vars: ['TAR_OPTIONS=--checkpoint=1'] }, 'env_vars'],
      [{ timeout_ms: 2001 }, 'timeout_ms'],
      [{ limits: { memory_mb: 65 } }, 'limits.memory_mb'],
    ] as const) {
      expectCode(await invoke(body), 400, 'FAAS_ERR_FIELD_NOT_ALLOWED', field);
    }
    expectCode(await invoke({ nope: 1 }), 400, 'FAAS_ERR_INVALID_REQUEST', 'nope');
  });

  it('an unregistered id runs an ad-hoc SandboxConfig; without image it is 404 saying how to register', async () => {
    expectCode(await g.call('POST', '/functions/adhoc/invoke', { body: { image: IMAGE, command: ['echo'] } }), 200);
    for (const options of [{}, { body: { command: ['echo'] } }, { body: { payload_base64: '' } }]) {
      const body = expectCode(await g.call('POST', '/functions/nowhere/invoke', options), 404, 'FAAS_ERR_FUNCTION_NOT_FOUND');
      assert.match(String(body.error), /POST \/functions/);
      assert.match(String(body.error), /SandboxConfig/);
    }
    // JSON that is no object is malformed, registered or not.
    for (const body of ['[]', 'null', '42']) {
      const options = { body, headers: { 'content-type': 'application/json' } };
      expectCode(await g.call('POST', '/functions/nowhere/invoke', options), 400, 'FAAS_ERR_INVALID_REQUEST');
      expectCode(await g.call('POST', '/functions/rules/invoke', options), 400, 'FAAS_ERR_INVALID_REQUEST');
    }
  });

  it('max_concurrency: one more than the cap is 429 FAAS_ERR_CONCURRENCY_LIMIT', async () => {
    const capped = await startTestGateway(
      {},
      {
        run: (request) =>
          new Promise((resolve) => {
            request.signal?.addEventListener('abort', () => undefined);
            setTimeout(
              () =>
                resolve({
                  stdout: Buffer.alloc(0),
                  stderr: Buffer.alloc(0),
                  combined: Buffer.alloc(0),
                  exitCode: 0,
                  signal: null,
                  truncated: false,
                  timedOut: false,
                }),
              200,
            );
          }),
      },
    );
    try {
      expectCode(await capped.call('POST', '/functions', { body: { id: 'one', image: IMAGE, command: ['x'], max_concurrency: 1 } }), 201);
      const first = capped.call('POST', '/functions/one/invoke');
      await new Promise((r) => setTimeout(r, 50));
      expectCode(await capped.call('POST', '/functions/one/invoke'), 429, 'FAAS_ERR_CONCURRENCY_LIMIT');
      expectCode(await first, 200);
      expectCode(await capped.call('POST', '/functions/one/invoke'), 200);
    } finally {
      await capped.close();
    }
  });

  it('with FAAS_ALLOW_ADHOC=off only registered functions run', async () => {
    const closed = await startTestGateway({ FAAS_ALLOW_ADHOC: 'off' });
    try {
      const body = expectCode(
        await closed.call('POST', '/functions/x/invoke', { body: { image: IMAGE, command: ['echo'] } }),
        404,
        'FAAS_ERR_FUNCTION_NOT_FOUND',
      );
      assert.match(String(body.error), /FAAS_ALLOW_ADHOC=off/);
      expectCode(await closed.call('POST', '/functions', { body: { id: 'x', image: IMAGE, command: ['echo'] } }), 201);
      expectCode(await closed.call('POST', '/functions/x/invoke'), 200);
    } finally {
      await closed.close();
    }
  });

  it('a secret value is in no answer, no log line (trace level) and no history record or output', async () => {
    await create({ id: 'secretive', secrets: { TOKEN: SECRET }, env_vars: ['PLAIN=1'] });
    const answers: string[] = [];
    const keep = (res: LightMyRequestResponse) => {
      answers.push(res.body, JSON.stringify(res.headers));
      return res;
    };
    const ok = keep(await g.call('POST', '/functions/secretive/invoke', { body: { env_vars: ['EXTRA=2'] } }));
    const id = String(ok.json().invocation_id);
    keep(await g.call('POST', '/functions/secretive/invoke', { body: { env_vars: ['TOKEN=guess'] } }));
    keep(await g.call('POST', '/functions/secretive/invoke', { body: { image: IMAGE } }));
    keep(await g.call('GET', '/functions/secretive'));
    keep(await g.call('GET', '/functions'));
    keep(await g.call('PATCH', '/functions/secretive', { body: { secrets: { TOKEN: SECRET, OTHER: SECRET } } }));
    keep(await g.call('PATCH', '/functions/secretive', { body: { env_vars: ['OTHER=1'] } }));
    keep(await g.call('GET', `/invocations/${id}`));
    keep(await g.call('GET', `/invocations/${id}/output`));
    keep(await g.call('GET', '/functions/secretive/invocations'));
    assert.ok(
      g.executor.requests.some((r) => r.env.includes(`TOKEN=${SECRET}`)),
      'the sandbox did get it',
    );
    for (const text of [...answers, ...g.logs]) assert.ok(!text.includes(SECRET), `the secret leaked: ${text.slice(0, 300)}`);
    assert.ok(
      g.logs.some((line) => line.includes(id)),
      'the invocation was logged',
    );
  });

  it('every log line of an invocation names its invocation and its function', async () => {
    await create({ id: 'logged' });
    for (const body of [undefined, { image: IMAGE }, { timeout_ms: 'soon' }]) {
      const from = g.logs.length;
      await g.call('POST', '/functions/logged/invoke', body === undefined ? {} : { body });
      const lines = g.logs.slice(from).map((l) => JSON.parse(l) as Record<string, unknown>);
      assert.ok(lines.length > 0, 'the invocation left a log line (trace level)');
      // Fastify's reqId is the invocation id (the x-faas-invocation-id of the answer).
      const id = lines[0]?.reqId;
      for (const line of lines) {
        assert.ok(typeof id === 'string' && line.reqId === id, JSON.stringify(line));
        if ('invocationId' in line) assert.equal(line.invocationId, id, JSON.stringify(line));
        assert.equal(line.functionId, 'logged', JSON.stringify(line));
      }
    }
  });
});

describe('secrets sealed with another FAAS_SECRETS_KEY', () => {
  it('are a 503 saying how to recover, and a PATCH that sets or deletes every one of them recovers', async () => {
    // A gateway with another secrets key wrote this function into the same database.
    const other = openSqliteStore({ dataDir: g.dataDir, secretsKey: randomBytes(32) });
    try {
      await other.functions.create({
        id: 'rekeyed',
        image: IMAGE,
        command: ['run'],
        env: [],
        secrets: { ONE: 'old-1', TWO: 'old-2' },
        executor: null,
        poolMode: null,
        limits: {},
        timeoutMs: null,
        maxConcurrency: null,
        description: '',
      });
    } finally {
      await other.close();
    }
    const refused = expectCode(await g.call('POST', '/functions/rekeyed/invoke'), 503, 'FAAS_ERR_STORE_UNAVAILABLE');
    assert.match(String(refused.error), /FAAS_SECRETS_KEY.*set all of the function's secrets again in one PATCH/);
    // A change that keeps a secret it cannot read cannot be checked (its size counts): still 503.
    for (const body of [{ description: 'x' }, { secrets: { ONE: 'new-1' } }]) {
      expectCode(await g.call('PATCH', '/functions/rekeyed', { body }), 503, 'FAAS_ERR_STORE_UNAVAILABLE');
    }
    // Setting one and deleting the other leaves nothing unreadable.
    const fixed = expectCode(await g.call('PATCH', '/functions/rekeyed', { body: { secrets: { ONE: 'new-1', TWO: null } } }), 200);
    assert.deepEqual([fixed.secret_names, fixed.version], [['ONE'], 2]);
    expectCode(await g.call('POST', '/functions/rekeyed/invoke'), 200);
    const env = (g.executor.requests[g.executor.requests.length - 1] as ExecRequest).env;
    assert.ok(env.includes('ONE=new-1') && !env.some((e) => e.startsWith('TWO=')), env.join(' '));

    // "secrets": null deletes every secret, readable or not.
    const again = openSqliteStore({ dataDir: g.dataDir, secretsKey: randomBytes(32) });
    try {
      await again.functions.update('rekeyed', { secrets: { THREE: 'old-3' } });
    } finally {
      await again.close();
    }
    expectCode(await g.call('POST', '/functions/rekeyed/invoke'), 503, 'FAAS_ERR_STORE_UNAVAILABLE');
    expectCode(await g.call('PATCH', '/functions/rekeyed', { body: { secrets: { ONE: 'newer-1' } } }), 503, 'FAAS_ERR_STORE_UNAVAILABLE');
    assert.deepEqual(expectCode(await g.call('PATCH', '/functions/rekeyed', { body: { secrets: null } }), 200).secret_names, []);
    expectCode(await g.call('POST', '/functions/rekeyed/invoke'), 200);
  });
});
