/**
 * The gateway's HTTP edge on a real listening server (port 0) in front of the real invocation core,
 * whose executor is the in-memory fake with a scripted run: the faults no real executor produces on
 * demand (an unexpected exception, a caller that hangs up while its invocation is pending), and the
 * agreement between the routes and the document.
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
import { type ExecRequest, type ExecResult, FakeExecutor, facts } from '@faas/executor';
import { Orchestrator } from '@faas/orchestrator';
import { openSqliteStore, type Store } from '@faas/store';
import type { FastifyInstance } from 'fastify';
import { DOCUMENTED_PATHS } from './routes.js';
import { buildGateway, INVOCATION_HEADER } from './server.js';

type Script = (request: ExecRequest) => Promise<ExecResult>;

interface LogLine {
  level: number;
  msg: string;
  invocationId?: string;
  err?: { type: string; message: string; stack: string };
  [key: string]: unknown;
}

let script: Script = async () => {
  throw new Error('no script');
};
const lines: LogLine[] = [];
let app: FastifyInstance;
let port: number;

let orchestrator: Orchestrator;
let store: Store;
const dataDir = mkdtempSync(join(tmpdir(), 'faas-gateway-test-'));

before(async () => {
  // Open mode: these tests are about the HTTP edge, not keys (auth has tests of its own).
  const config = loadConfig({ FAAS_GATEWAY_PORT: '0', FAAS_POOL_MODE: 'off', FAAS_AUTH: 'open', FAAS_DATA_DIR: dataDir }, 2);
  store = openSqliteStore({ dataDir, secretsKey: randomBytes(32) });
  const logs = createLoggerFactory('debug', { write: (line: string) => lines.push(JSON.parse(line)) });
  const executor = new FakeExecutor({ run: (request) => script(request) });
  orchestrator = new Orchestrator({ config, executors: new Map([['docker', executor]]), logger: logs.for('orchestrator') });
  await orchestrator.start();
  app = buildGateway({ config, orchestrator, store, adminKey: undefined, logger: logs.for('gateway') });
  await app.listen({ host: '127.0.0.1', port: 0 });
  port = (app.server.address() as AddressInfo).port;
});

after(async () => {
  await app.close();
  await orchestrator.drain(1000);
  await store.close();
  rmSync(dataDir, { recursive: true, force: true });
});

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Record<string, unknown>;
}

function invoke(body: unknown): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const payload = JSON.stringify(body);
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/functions/fn/invoke',
        headers: { 'content-type': 'application/json' },
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: JSON.parse(Buffer.concat(chunks).toString()) }),
        );
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** Sends an invocation and hangs up once the orchestrator has it; resolves with the invocation id. */
function invokeAndHangUp(started: Promise<string>): Promise<string> {
  const req = http.request({
    host: '127.0.0.1',
    port,
    method: 'POST',
    path: '/functions/fn/invoke',
    headers: { 'content-type': 'application/json' },
    agent: false,
  });
  req.on('error', () => undefined);
  req.end(JSON.stringify({ image: 'faas/busybox:latest', command: ['sleep', '60'] }));
  return started.then((id) => {
    req.destroy();
    return id;
  });
}

async function logged(predicate: (line: LogLine) => boolean, withinMs = 5000): Promise<LogLine> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const line = lines.find(predicate);
    if (line) return line;
    if (Date.now() > deadline) assert.fail(`no such log line; got:\n${lines.map((l) => JSON.stringify(l)).join('\n')}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('gateway HTTP edge', () => {
  it('routes exactly the documented operations (HEAD included), and nothing else', () => {
    const methods = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE'] as const;
    assert.ok(DOCUMENTED_PATHS.length >= 4);
    for (const path of DOCUMENTED_PATHS) {
      const url = path.template.replace(/\{([^}]+)\}/g, ':$1');
      for (const method of methods) {
        assert.equal(app.hasRoute({ method, url }), path.methods.includes(method), `${method} ${path.template}`);
      }
    }
  });

  it('an unexpected exception is a 500 FAAS_ERR_INTERNAL naming the invocation, logged at error with its stack, cause and invocation id', async () => {
    script = async () => {
      throw new TypeError('cannot read properties of undefined', { cause: new Error('engine answered garbage') });
    };
    const res = await invoke({ image: 'faas/busybox:latest', command: ['true'] });
    assert.equal(res.status, 500);
    assert.equal(res.body.code, 'FAAS_ERR_INTERNAL');
    const id = res.headers[INVOCATION_HEADER];
    assert.ok(typeof id === 'string' && id.length > 0);
    assert.equal(res.body.invocation_id, id);
    assert.doesNotMatch(JSON.stringify(res.body), /cannot read|engine answered|at /, 'the answer leaks no internals');
    const line = await logged((l) => l.invocationId === id && l.level === 50);
    assert.match(line.msg, /unexpected fault: TypeError: cannot read properties of undefined/);
    assert.match(line.err?.stack ?? '', /TypeError: cannot read properties of undefined\n\s+at /);
    assert.match(line.err?.stack ?? '', /caused by: Error: engine answered garbage/);
  });

  it('a caller that hangs up while its invocation waits is logged as cancelled at info, not as an error', async () => {
    let started!: (id: string) => void;
    const ids = new Promise<string>((resolve) => {
      started = resolve;
    });
    script = (request) =>
      new Promise((_resolve, reject) => {
        // What the limiter does with a queued invocation whose caller leaves: reject with the abort reason.
        request.signal?.addEventListener('abort', () => reject(request.signal?.reason));
        started(request.invocationId);
      });
    const id = await invokeAndHangUp(ids);
    const line = await logged((l) => l.invocationId === id && /cancelled/.test(l.msg));
    assert.equal(line.level, 30);
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(
      lines.filter((l) => l.invocationId === id && l.level >= 40),
      [],
    );
  });

  it('a caller that hangs up while its function runs is logged as a cancelled invocation at info', async () => {
    let started!: (id: string) => void;
    const ids = new Promise<string>((resolve) => {
      started = resolve;
    });
    script = (request) =>
      new Promise((resolve) => {
        // What an executor does with a running function whose caller leaves: kill it, report the kill.
        request.signal?.addEventListener('abort', () => resolve(facts({ exitCode: null, signal: 'SIGKILL', cancelled: true })));
        started(request.invocationId);
      });
    const id = await invokeAndHangUp(ids);
    const line = await logged((l) => l.invocationId === id && /cancelled/.test(l.msg));
    assert.equal(line.level, 30);
    assert.equal(
      lines.some((l) => l.invocationId === id && l.msg === 'invocation finished'),
      false,
    );
  });
});
