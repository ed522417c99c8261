/**
 * The console's folder comes from the configuration (FAAS_CONSOLE_DIR, read once by loadConfig),
 * never from the process environment behind its back.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { FaasError } from '@faas/common';
import { CONSOLE_NOT_BUILT, consoleFault } from './console.js';
import { ADMIN_KEY, startTestGateway } from './test-fixtures.js';

const folders: string[] = [];

function consoleBuild(marker: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'faas-console-test-'));
  folders.push(dir);
  writeFileSync(join(dir, 'index.html'), `<!doctype html><title>${marker}</title>`);
  writeFileSync(join(dir, 'app.js'), `console.log(${JSON.stringify(marker)});`);
  mkdirSync(join(dir, 'assets'));
  writeFileSync(join(dir, 'assets', 'index.js'), 'export {};');
  return dir;
}

after(() => {
  for (const dir of folders) rmSync(dir, { recursive: true, force: true });
});

describe('the web console folder', () => {
  it('is the configured FAAS_CONSOLE_DIR, whatever the process environment says', async () => {
    const configured = consoleBuild('configured');
    const stray = consoleBuild('stray');
    const saved = process.env.FAAS_CONSOLE_DIR;
    process.env.FAAS_CONSOLE_DIR = stray;
    try {
      const g = await startTestGateway({ FAAS_CONSOLE_DIR: configured });
      try {
        assert.equal(g.config.gateway.consoleDir, configured);
        for (const path of ['/console', '/console/']) {
          const page = await g.call('GET', path, { key: null });
          assert.equal(page.statusCode, 200, `${path}: ${page.body}`);
          assert.match(page.body, /<title>configured<\/title>/);
        }
        const asset = await g.call('GET', '/console/app.js', { key: null });
        assert.equal(asset.statusCode, 200);
        assert.match(asset.body, /"configured"/);
      } finally {
        await g.close();
      }
      // Without the variable in the configuration: the default folder, not the stray one.
      const plain = await startTestGateway();
      try {
        assert.notEqual(plain.config.gateway.consoleDir, stray);
        const page = await plain.call('GET', '/console', { key: null });
        assert.doesNotMatch(page.body, /stray/);
        if (page.statusCode === 404) assert.equal(page.body, CONSOLE_NOT_BUILT);
      } finally {
        await plain.close();
      }
    } finally {
      if (saved === undefined) delete process.env.FAAS_CONSOLE_DIR;
      else process.env.FAAS_CONSOLE_DIR = saved;
    }
  });
});

/** A request sent as written: no client normalizes its path (inject resolves dot segments). */
function rawRequest(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('paths under /console the console does not serve', () => {
  // What curl --path-as-is sends: empty and dot segments, encoded dots, NUL and backslash.
  const ODD_PATHS = [
    '/console//',
    '/console//x',
    '/console/..',
    '/console/.',
    '/console/%2e%2e',
    '/console/%00',
    '/console/index.html%00',
    '/console/./index.html',
    '/console/assets/../index.html',
    '/console/assets/..',
    '/console/%5c..%5cindex.html',
    '/console/..%2f..%2fetc%2fpasswd',
    '/console/%41pp.js',
  ];

  it('are 404 FAAS_ERR_NOT_FOUND with any valid key (never a 500, never logged as a fault), and 401 without one', async () => {
    const g = await startTestGateway({ FAAS_CONSOLE_DIR: consoleBuild('odd') });
    try {
      await g.app.listen({ host: '127.0.0.1', port: 0 });
      const { port } = g.app.server.address() as AddressInfo;
      const reader = await g.newKey(['history']);
      for (const key of [ADMIN_KEY, reader.key]) {
        for (const path of ODD_PATHS) {
          for (const method of ['GET', 'HEAD']) {
            const res = await rawRequest(port, method, path, { authorization: `Bearer ${key}` });
            assert.equal(res.status, 404, `${method} ${path}: ${res.body}`);
            if (method === 'GET') assert.equal(JSON.parse(res.body).code, 'FAAS_ERR_NOT_FOUND', `${method} ${path}`);
          }
        }
      }
      // Not public: without a key they are refused before anything about them is told.
      for (const path of ODD_PATHS) assert.equal((await rawRequest(port, 'GET', path)).status, 401, path);
      // The plain spellings still serve the files.
      for (const path of ['/console', '/console/', '/console/index.html', '/console/app.js', '/console/assets/index.js']) {
        assert.equal((await rawRequest(port, 'GET', path)).status, 200, path);
      }
      const faults = g.logs.filter((line) => /"level":(40|50|60)/.test(line));
      assert.deepEqual(faults, [], 'no warn or error line');
    } finally {
      await g.close();
    }
  });

  it('conditional and range requests get a file or a registry answer, never a 500', async () => {
    const g = await startTestGateway({ FAAS_CONSOLE_DIR: consoleBuild('conditional') });
    try {
      await g.app.listen({ host: '127.0.0.1', port: 0 });
      const { port } = g.app.server.address() as AddressInfo;
      // Ranges are not served: the whole file is a valid answer, an unsatisfiable range included.
      for (const range of ['bytes=0-1', 'bytes=100000-200000']) {
        const res = await rawRequest(port, 'GET', '/console/index.html', { range });
        assert.equal(res.status, 200, `${range}: ${res.body}`);
        assert.match(res.body, /<title>conditional<\/title>/);
      }
      const preconditions: Record<string, string>[] = [
        { 'if-match': '"not-this-one"' },
        { 'if-unmodified-since': 'Mon, 01 Jan 1990 00:00:00 GMT' },
      ];
      for (const headers of preconditions) {
        const res = await rawRequest(port, 'GET', '/console/index.html', headers);
        assert.equal(res.status, 412, `${JSON.stringify(headers)}: ${res.body}`);
        assert.equal(JSON.parse(res.body).code, 'FAAS_ERR_VERSION_CONFLICT');
      }
      const faults = g.logs.filter((line) => /"level":(40|50|60)/.test(line));
      assert.deepEqual(faults, [], 'no warn or error line');
    } finally {
      await g.close();
    }
  });

  it('consoleFault maps what the static-file plugin refuses to registry errors', () => {
    const forbidden = Object.assign(new Error('Forbidden'), { code: 'FST_STATIC_FORBIDDEN_PATH', statusCode: 403 });
    const mapped = consoleFault(forbidden, 'GET', '/console//') as FaasError;
    assert.ok(mapped instanceof FaasError);
    assert.equal(mapped.code, 'FAAS_ERR_NOT_FOUND');
    // The `send` module's own errors carry `status` (http-errors).
    assert.equal(
      (consoleFault(Object.assign(new Error('Bad Request'), { status: 400 }), 'GET', '/console/%00') as FaasError).code,
      'FAAS_ERR_NOT_FOUND',
    );
    assert.equal(
      (consoleFault(Object.assign(new Error('x'), { status: 412 }), 'GET', '/console/') as FaasError).code,
      'FAAS_ERR_VERSION_CONFLICT',
    );
    // Anything else is left to the gateway's own mapping (a 500 for the unexpected).
    const other = new Error('disk on fire');
    assert.equal(consoleFault(other, 'GET', '/console/'), other);
  });
});
