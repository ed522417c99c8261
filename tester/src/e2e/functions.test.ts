/**
 * Registered functions end to end against the real Docker engine: the registry's round trip with
 * versions and If-Match, the merge patch, the invoke merge rules (every field a request may and
 * may not set), secrets that reach the function as variables yet never show in an answer, a log
 * line, the history or the database file, a function in reuse mode, and its concurrency cap.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createPlatform, type Platform } from '@faas/bin';
import { createLoggerFactory, loadConfig } from '@faas/common';
import { describeContainers, waitForNoContainers } from '../support/docker.js';
import { assertError, decode, HttpClient, type HttpResponse } from '../support/http.js';
import { BUSYBOX, NODE, PYTHON } from '../support/images.js';
import { OWN_CONTAINERS, platformEnv } from '../support/platform.js';

const SECRET = 's3cret-7c1e9b';
/** Prints ok when TOKEN holds the secret; compares digests, so the command itself never holds the value. */
const IS_SET = [
  'sh',
  '-c',
  `test "$(printf %s "$TOKEN" | sha256sum | cut -d' ' -f1)" = ${createHash('sha256').update(SECRET).digest('hex')} && echo ok`,
];
/** The memory limit the sandbox got, from cgroup v2 or v1. */
const MEMORY_LIMIT = 'cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes';

interface LoggedPlatform {
  platform: Platform;
  client: HttpClient;
  /** Every line the platform logged, at trace level. */
  logs: string[];
}

/** A platform of this file's own, logging everything into memory (the secret checks read it). */
function useLoggedPlatform(env: Record<string, string>): LoggedPlatform {
  const handle = { logs: [] as string[] } as LoggedPlatform;
  before(async () => {
    const config = loadConfig(platformEnv({ ...env, FAAS_LOG_LEVEL: 'trace' }), 2);
    const logs = createLoggerFactory(config.logFilter, { write: (line: string) => void handle.logs.push(line) });
    handle.platform = createPlatform(config, logs);
    try {
      handle.client = new HttpClient(await handle.platform.start());
    } catch (err) {
      await handle.platform.stop(0).catch(() => undefined);
      throw err;
    }
  });
  after(async () => {
    if (!handle.platform) return;
    await handle.platform.stop();
    const left = await waitForNoContainers(OWN_CONTAINERS, 10_000);
    assert.deepEqual(left, [], `containers left behind after stop:\n${describeContainers(left)}`);
  });
  return handle;
}

const p = useLoggedPlatform({ FAAS_POOL_MODE: 'single-use', FAAS_POOL_MIN_IDLE: '0' });
/** Every answer body and header this file received, for the secret check at the end. */
const seen: string[] = [];

async function call(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<HttpResponse> {
  const res = await p.client.request(path, { method, ...(body !== undefined ? { body } : {}), ...(headers ? { headers } : {}) });
  seen.push(res.text, JSON.stringify(res.headers));
  return res;
}

function expect(res: HttpResponse, status: number): Record<string, unknown> {
  assert.equal(res.status, status, `expected ${status}, got ${res.status}: ${res.text.slice(0, 500)}`);
  return res.text ? res.json() : {};
}

async function register(definition: Record<string, unknown>): Promise<Record<string, unknown>> {
  return expect(await call('POST', '/functions', { image: BUSYBOX, command: ['echo', 'hi'], ...definition }), 201);
}

async function invoke(id: string, body?: unknown) {
  const res = await call('POST', `/functions/${id}/invoke`, body);
  assert.equal(res.status, 200, res.text.slice(0, 500));
  return decode(res.json(), res.headers);
}

describe('registered functions', { concurrency: 1 }, () => {
  it('POST, GET, PATCH with If-Match, DELETE: versions, ETag and Location', async () => {
    const post = await call('POST', '/functions', { id: 'crud', image: BUSYBOX, command: ['echo', 'v1'], description: 'one' });
    const created = expect(post, 201);
    assert.equal(post.headers.location, '/functions/crud');
    assert.equal(post.headers.etag, '"1"');
    assert.equal(created.version, 1);
    assertError(await call('POST', '/functions', { id: 'crud', image: BUSYBOX, command: ['x'] }), 409, 'FAAS_ERR_FUNCTION_EXISTS');

    const get = await call('GET', '/functions/crud');
    assert.deepEqual(expect(get, 200), created);
    assert.equal(get.headers.etag, '"1"');
    assert.equal((await invoke('crud')).stdout.toString(), 'v1\n');

    assertError(
      await call('PATCH', '/functions/crud', { command: ['echo', 'v2'] }, { 'if-match': '"7"' }),
      412,
      'FAAS_ERR_VERSION_CONFLICT',
    );
    const patched = await call('PATCH', '/functions/crud', { command: ['echo', 'v2'] }, { 'if-match': '"1"' });
    assert.equal(expect(patched, 200).version, 2);
    assert.equal(patched.headers.etag, '"2"');
    const ran = await invoke('crud');
    assert.equal(ran.stdout.toString(), 'v2\n');
    assert.equal(ran.function_version, 2);

    const list = expect(await call('GET', '/functions?limit=1000'), 200) as { functions: Array<{ id: string }> };
    assert.ok(list.functions.some((f) => f.id === 'crud'));
    assertError(await call('DELETE', '/functions/crud', undefined, { 'if-match': '"1"' }), 412, 'FAAS_ERR_VERSION_CONFLICT');
    expect(await call('DELETE', '/functions/crud', undefined, { 'if-match': '"2"' }), 204);
    assertError(await call('GET', '/functions/crud'), 404, 'FAAS_ERR_FUNCTION_NOT_FOUND');
    // Gone from the registry, the id is unregistered again: a body without image is a 404.
    const gone = assertError(await call('POST', '/functions/crud/invoke', {}), 404, 'FAAS_ERR_FUNCTION_NOT_FOUND');
    assert.match(gone.error, /POST \/functions/);
  });

  it('PATCH merges: absent kept, null resets, limits and secrets member by member', async () => {
    await register({
      id: 'merge',
      env_vars: ['A=1'],
      limits: { memory_mb: 64, pids: 50 },
      secrets: { ONE: 'x', TWO: 'y' },
      timeout_ms: 9000,
    });
    let fn = expect(
      await call('PATCH', '/functions/merge', { limits: { pids: null, cpus: 0.5 }, secrets: { TWO: null, THREE: 'z' } }),
      200,
    );
    assert.deepEqual(fn.limits, { memory_mb: 64, cpus: 0.5 });
    assert.deepEqual(fn.secret_names, ['ONE', 'THREE']);
    assert.deepEqual(fn.env_vars, ['A=1']);
    assert.equal(fn.timeout_ms, 9000);
    fn = expect(await call('PATCH', '/functions/merge', { timeout_ms: null, env_vars: null, secrets: null, limits: null }), 200);
    assert.deepEqual([fn.timeout_ms, fn.env_vars, fn.secret_names, fn.limits, fn.version], [null, [], [], {}, 3]);
    assertError(await call('PATCH', '/functions/merge', { image: null }), 400, 'FAAS_ERR_INVALID_FUNCTION');
    assertError(await call('PATCH', '/functions/merge', { id: 'renamed' }), 400, 'FAAS_ERR_INVALID_FUNCTION');
    assertError(
      await call('POST', '/functions', { id: 'bad', image: BUSYBOX, command: ['x'], runtime: 'x' }),
      400,
      'FAAS_ERR_INVALID_FUNCTION',
    );
  });

  it('invoke merge rules: payload, extra env_vars, a smaller timeout and limits are taken; the rest is refused naming the field', async () => {
    await register({
      id: 'rules',
      command: ['sh', '-c', `cat; echo " $MODE $EXTRA"; ${MEMORY_LIMIT}`],
      env_vars: ['MODE=prod'],
      allowed_env_vars: ['EXTRA'],
      secrets: { TOKEN: SECRET },
      limits: { memory_mb: 64 },
      timeout_ms: 20000,
    });
    const ran = await invoke('rules', {
      payload_base64: Buffer.from('in').toString('base64'),
      env_vars: ['EXTRA=more'],
      timeout_ms: 10000,
      limits: { memory_mb: 32 },
    });
    const [line, memory] = ran.stdout.toString().split('\n');
    assert.equal(line, 'in prod more', ran.stderr.toString());
    assert.equal(memory, String(32 * 1024 * 1024), 'the smaller memory limit reached the sandbox');
    assert.equal(ran.function_version, 1);
    for (const [body, field] of [
      [{ image: BUSYBOX }, 'image'],
      [{ command: ['id'] }, 'command'],
      [{ executor: 'docker' }, 'executor'],
      [{ env_vars: ['MODE=dev'] }, 'env_vars'],
      [{ env_vars: ['TOKEN=guess'] }, 'env_vars'],
      [{ env_vars: ['UNLISTED=1'] }, 'env_vars'],
      [{ timeout_ms: 20001 }, 'timeout_ms'],
      [{ limits: { memory_mb: 65 } }, 'limits.memory_mb'],
    ] as const) {
      const err = assertError(await call('POST', '/functions/rules/invoke', body), 400, 'FAAS_ERR_FIELD_NOT_ALLOWED');
      assert.equal(err.field, field);
      assert.ok(err.invocation_id, 'the answer names its invocation');
    }
    assertError(await call('POST', '/functions/rules/invoke', { stdin: 'x' }), 400, 'FAAS_ERR_INVALID_REQUEST');
  });

  it('a registered function needs no body: none at all, an empty one, or {}', async () => {
    await register({ id: 'nobody', command: ['echo', 'ran'] });
    const bare = await p.client.request('/functions/nobody/invoke', { method: 'POST' });
    assert.equal(bare.status, 200, bare.text);
    const empty = await p.client.request('/functions/nobody/invoke', {
      method: 'POST',
      body: '',
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(empty.status, 200, empty.text);
    assert.equal((await invoke('nobody', {})).stdout.toString(), 'ran\n');
    assertError(await call('POST', '/functions/unregistered/invoke'), 404, 'FAAS_ERR_FUNCTION_NOT_FOUND');
  });

  it('secrets reach the function as variables, in single-use and in reuse mode, and are gone once deleted', async () => {
    await register({ id: 'secret-single', command: IS_SET, secrets: { TOKEN: SECRET } });
    await register({ id: 'secret-reuse', command: IS_SET, secrets: { TOKEN: SECRET }, pool_mode: 'reuse' });
    assert.equal((await invoke('secret-single')).stdout.toString(), 'ok\n');
    const hitsBefore = p.platform.orchestrator.poolStats['docker/reuse']?.hits ?? 0;
    for (let i = 0; i < 3; i++) {
      const ran = await invoke('secret-reuse');
      assert.equal(ran.stdout.toString(), 'ok\n', ran.stderr.toString());
    }
    assert.ok((p.platform.orchestrator.poolStats['docker/reuse']?.hits ?? 0) > hitsBefore, 'the reuse pool served a later invocation');
    expect(await call('PATCH', '/functions/secret-reuse', { secrets: { TOKEN: null } }), 200);
    const after = await invoke('secret-reuse');
    assert.equal(after.exit_code, 1, 'TOKEN is no longer set');
  });

  it('a function that prints its secret: the answer, the asynchronous result and the history have *** in its place', async () => {
    const print = ['sh', '-c', 'echo "token=$TOKEN"; echo "$TOKEN" >&2; printf "%s" "$LINES"'];
    const pem = `-----BEGIN-----\n${SECRET}-line-2\n-----END-----`;
    await register({ id: 'secret-print', command: print, secrets: { TOKEN: SECRET, LINES: pem } });
    const ran = await invoke('secret-print');
    assert.equal(ran.stdout.toString(), 'token=***\n***');
    assert.equal(ran.stderr.toString(), '***\n');

    const accepted = expect(await call('POST', '/functions/secret-print/invoke', {}, { prefer: 'respond-async' }), 202);
    const id = accepted.invocation_id as string;
    let done: { state: string; result?: { response_base64?: string } } = { state: 'queued' };
    for (let i = 0; i < 300 && !['succeeded', 'failed', 'dead'].includes(done.state); i++) {
      await new Promise((r) => setTimeout(r, 100));
      done = expect(await call('GET', `/invocations/${id}`), 200) as typeof done;
    }
    assert.equal(done.state, 'succeeded', JSON.stringify(done).slice(0, 500));
    assert.equal(
      Buffer.from(done.result?.response_base64 ?? '', 'base64').toString(),
      'token=***\n***',
      'the asynchronous result as the answer',
    );

    const output = expect(await call('GET', `/invocations/${ran.invocation_id}/output`), 200) as {
      stdout_base64: string;
      stderr_base64: string;
    };
    assert.equal(Buffer.from(output.stdout_base64, 'base64').toString(), 'token=***\n***', 'the history keeps the masked output');
    assert.equal(Buffer.from(output.stderr_base64, 'base64').toString(), '***\n');
  });

  it("a caller cannot make a bash function run a command of its own (BASH_ENV) next to the function's secrets", async () => {
    // Patterns that cover start-up variables: those are refused all the same.
    await register({
      id: 'bash-fn',
      image: PYTHON,
      command: ['bash', '-c', 'echo hi'],
      allowed_env_vars: ['GREETING', 'BASH_*', 'LD_*', 'NODE_*', 'PYTHON*'],
      secrets: { TOKEN: SECRET },
    });
    const payload_base64 = Buffer.from('echo "leaked $TOKEN"\n').toString('base64');
    // bash expands BASH_ENV before it reads the file it names: the command substitution runs.
    const leak = 'BASH_ENV=$(echo leaked $TOKEN >&2)';
    const refused = await call('POST', '/functions/bash-fn/invoke', { env_vars: [leak], payload_base64 });
    assertError(refused, 400, 'FAAS_ERR_FIELD_NOT_ALLOWED');
    assert.equal(refused.json().field, 'env_vars');
    assert.doesNotMatch(refused.text, /leaked/);
    for (const variable of [
      'BASH_ENV=/dev/stdin',
      'LD_PRELOAD=/tmp/x.so',
      'NODE_OPTIONS=--require /dev/stdin',
      'PYTHONSTARTUP=/dev/stdin',
    ]) {
      assertError(
        await call('POST', '/functions/bash-fn/invoke', { env_vars: [variable], payload_base64 }),
        400,
        'FAAS_ERR_FIELD_NOT_ALLOWED',
      );
    }
    // An ordinary variable is still the caller's to set, and the function runs as defined.
    const ran = await invoke('bash-fn', { env_vars: ['GREETING=1'], payload_base64 });
    assert.equal(ran.stdout.toString(), 'hi\n', ran.stderr.toString());
  });

  it("a caller sets only the variables the function allows: OPENSSL_CONF would make node print the function's secrets", async () => {
    await register({
      id: 'node-fn',
      image: NODE,
      command: ['node', '-e', 'console.log("hi")'],
      allowed_env_vars: ['APP_*'],
      secrets: { TOKEN: SECRET },
    });
    // Node.js reads OpenSSL's configuration at start-up and prints a parse error with ${ENV::...}
    // expanded; /proc/self/environ holds the configuration the second variable writes.
    // biome-ignore lint/suspicious/noTemplateCurlyInString: OpenSSL's own ${ENV::NAME} syntax, sent as is
    const config = '\n\nnodejs_conf = a\n[a]\nalg_section = evp\n[evp]\ndefault_properties = @${ENV::TOKEN}\n';
    const refused = await call('POST', '/functions/node-fn/invoke', { env_vars: ['OPENSSL_CONF=/proc/self/environ', `ZZ=${config}`] });
    const err = assertError(refused, 400, 'FAAS_ERR_FIELD_NOT_ALLOWED');
    assert.equal(err.field, 'env_vars');
    assert.match(err.error, /OPENSSL_CONF/);
    // A variable of no list is stopped by the function's allowed_env_vars.
    const unlisted = assertError(
      await call('POST', '/functions/node-fn/invoke', { env_vars: ['SOMETOOL_OPTIONS=x'] }),
      400,
      'FAAS_ERR_FIELD_NOT_ALLOWED',
    );
    assert.match(unlisted.error, /allowed_env_vars: APP_\*/);
    const ran = await invoke('node-fn', { env_vars: ['APP_MODE=1'] });
    assert.equal(ran.stdout.toString(), 'hi\n', ran.stderr.toString());
    const fn = expect(await call('GET', '/functions/node-fn'), 200);
    assert.deepEqual(fn.allowed_env_vars, ['APP_*']);
    // Taking it back is a change of its own: the next call may set nothing.
    const patched = expect(await call('PATCH', '/functions/node-fn', { allowed_env_vars: null }), 200);
    assert.deepEqual([patched.allowed_env_vars, patched.version], [[], 2]);
    assertError(await call('POST', '/functions/node-fn/invoke', { env_vars: ['APP_MODE=1'] }), 400, 'FAAS_ERR_FIELD_NOT_ALLOWED');
  });

  it("max_concurrency: one more than the function's cap is 429 FAAS_ERR_CONCURRENCY_LIMIT", async () => {
    await register({ id: 'capped', command: ['sleep', '2'], max_concurrency: 1 });
    const first = call('POST', '/functions/capped/invoke');
    for (let i = 0; i < 100 && (p.platform.orchestrator.stats.running ?? 0) === 0; i++) await new Promise((r) => setTimeout(r, 20));
    assertError(await call('POST', '/functions/capped/invoke'), 429, 'FAAS_ERR_CONCURRENCY_LIMIT');
    assert.equal((await first).status, 200);
  });

  it('a secret value is in no answer, no log line, no history record or output, and not in the database file', async () => {
    const ids: string[] = [];
    for (const id of ['secret-single', 'secret-reuse', 'secret-print', 'rules']) {
      const history = expect(await call('GET', `/functions/${id}/invocations?limit=1000`), 200) as { invocations: Array<{ id: string }> };
      for (const inv of history.invocations) {
        ids.push(inv.id);
        expect(await call('GET', `/invocations/${inv.id}`), 200);
        expect(await call('GET', `/invocations/${inv.id}/output`), 200);
      }
    }
    assert.ok(ids.length >= 5, 'the invocations were recorded');
    expect(await call('GET', '/functions?limit=1000'), 200);
    for (const text of seen) assert.ok(!text.includes(SECRET), `an answer holds the secret: ${text.slice(0, 300)}`);
    assert.ok(p.logs.length > 0);
    for (const line of p.logs) assert.ok(!line.includes(SECRET), `a log line holds the secret: ${line.slice(0, 300)}`);
    const dir = p.platform.config.dataDir;
    const files = readdirSync(dir).filter((f) => f.startsWith('faas.db'));
    assert.ok(files.length > 0, `no database in ${dir}`);
    for (const file of files) {
      const bytes = readFileSync(join(dir, file));
      assert.equal(bytes.indexOf(SECRET), -1, `${file} holds the secret in plain text`);
    }
  });
});
