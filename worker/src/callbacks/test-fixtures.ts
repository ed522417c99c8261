/**
 * Fixtures of the callback tests: a receiver the test starts on loopback (HTTP, or HTTPS with a
 * certificate made by openssl for one name), which records every request it gets and answers as
 * the test says; an in-memory KvStore; and a logger whose lines the test can read.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createLoggerFactory, type Logger } from '@faas/common';
import type { KvStore } from '@faas/store';

export interface Received {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** The TLS server name the client sent (https receivers). */
  servername: string | undefined;
  at: number;
}

export type Answer = (req: Received, index: number, res: http.ServerResponse) => void;

export interface Receiver {
  /** `http://127.0.0.1:<port>` (or https). */
  origin: string;
  port: number;
  received: Received[];
  close(): Promise<void>;
}

export const answerWith =
  (status: number, headers: Record<string, string> = {}): Answer =>
  (_req, _i, res) => {
    res.writeHead(status, headers).end('ok');
  };

function listen(server: http.Server, received: Received[], answer: Answer, scheme: string, port = 0): Promise<Receiver> {
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const entry: Received = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks),
        servername: (req.socket as { servername?: string | false }).servername || undefined,
        at: Date.now(),
      };
      received.push(entry);
      answer(entry, received.length - 1, res);
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const bound = (server.address() as AddressInfo).port;
      resolve({
        origin: `${scheme}://127.0.0.1:${bound}`,
        port: bound,
        received,
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}

/** An HTTP receiver on 127.0.0.1; `port` 0 picks a free one. */
export function startReceiver(answer: Answer = answerWith(200), port = 0): Promise<Receiver> {
  return listen(http.createServer(), [], answer, 'http', port);
}

export interface Certificate {
  key: string;
  cert: string;
}

/** A self-signed certificate for `name`, or undefined when openssl is not installed. */
export function makeCertificate(name: string): Certificate | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'faas-callback-cert-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '1',
        '-subj',
        `/CN=${name}`,
        '-addext',
        `subjectAltName=DNS:${name}`,
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    return { key: readFileSync(join(dir, 'key.pem'), 'utf8'), cert: readFileSync(join(dir, 'cert.pem'), 'utf8') };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** An HTTPS receiver on 127.0.0.1 with `certificate`. */
export function startTlsReceiver(certificate: Certificate, answer: Answer = answerWith(200)): Promise<Receiver> {
  return listen(https.createServer({ key: certificate.key, cert: certificate.cert }), [], answer, 'https');
}

/** A free loopback port with nothing listening on it (connections are refused). */
export async function closedPort(): Promise<number> {
  const r = await startReceiver();
  await r.close();
  return r.port;
}

/** An in-memory KvStore; `fail` makes every call throw, like a store that cannot be used. */
export function memoryKv(): KvStore & { map: Map<string, string>; fail: boolean } {
  const map = new Map<string, string>();
  return {
    map,
    fail: false,
    async get(key) {
      if (this.fail) throw new Error('store unavailable');
      return map.get(key);
    },
    async set(key, value) {
      if (this.fail) throw new Error('store unavailable');
      map.set(key, value);
    },
  };
}

/** A logger at debug level whose output lines are kept in `lines`. */
export function captureLog(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { log: createLoggerFactory('debug', destination).for('callbacks'), lines };
}

/** Waits until `check` holds, polling; throws after `timeoutMs`. */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
