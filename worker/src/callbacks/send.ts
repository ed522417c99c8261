/**
 * One callback attempt: a POST to the address `resolveCallbackTarget` checked, and to no other.
 * The connection is made to that IP itself (no name is looked up here), with the URL's host in the
 * Host header and, for https, as the TLS server name and the name the certificate must carry. A
 * redirect is an answer like any other (never followed), the whole attempt has one deadline, and
 * at most `maxResponseBytes` of the answer are read: the receiver's body is never needed.
 */
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import type { PinnedTarget } from './url-policy.js';

export interface AttemptRequest {
  target: PinnedTarget;
  body: Buffer;
  headers: Record<string, string>;
  timeoutMs: number;
  maxResponseBytes: number;
  /** Extra certificate authorities to trust for https (a private CA); the system's are used otherwise. */
  ca?: string | Buffer | undefined;
  /** Ends the attempt early (the dispatcher is closing). */
  signal?: AbortSignal | undefined;
}

export type AttemptAnswer =
  /** The receiver answered; `retryAfter` is its Retry-After header, if any. */
  | { status: number; retryAfter: string | undefined }
  /** No answer: connection refused or reset, TLS failure, timeout, abort. */
  | { error: string };

function describe(err: unknown, timedOut: boolean, timeoutMs: number): string {
  if (timedOut) return `no answer within ${timeoutMs} ms`;
  const e = err as NodeJS.ErrnoException;
  return e.code ? `${e.code}${e.message && !e.message.includes(e.code) ? ` (${e.message})` : ''}` : (e.message ?? String(err));
}

export function sendAttempt(request: AttemptRequest): Promise<AttemptAnswer> {
  const { target, body, timeoutMs } = request;
  const secure = target.url.protocol === 'https:';
  const options: https.RequestOptions = {
    method: 'POST',
    host: target.address,
    family: target.family,
    port: target.url.port === '' ? (secure ? 443 : 80) : Number(target.url.port),
    path: `${target.url.pathname}${target.url.search}`,
    headers: { ...request.headers, host: target.url.host, 'content-length': String(body.length) },
    // A fresh connection per attempt: nothing pooled can carry a request to an address checked for another.
    agent: false,
  };
  if (secure) {
    // No SNI for a literal address (TLS forbids it); the certificate is then checked against the address.
    if (isIP(target.hostname) === 0) options.servername = target.hostname;
    if (request.ca !== undefined) options.ca = request.ca;
  }

  return new Promise((resolve) => {
    let settled = false;
    let timedOut = false;
    const settle = (answer: AttemptAnswer) => {
      if (settled) return;
      settled = true;
      resolve(answer);
    };
    const controller = new AbortController();
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    const onOuterAbort = () => controller.abort();
    request.signal?.addEventListener('abort', onOuterAbort, { once: true });
    if (request.signal?.aborted) controller.abort();
    const done = () => {
      clearTimeout(timer);
      request.signal?.removeEventListener('abort', onOuterAbort);
    };

    const req = (secure ? https : http).request({ ...options, signal: controller.signal }, (res) => {
      const retryAfter = res.headers['retry-after'];
      settle({ status: res.statusCode ?? 0, retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter });
      // Drain what the receiver sends, up to the cap, within the same deadline.
      let seen = 0;
      res.on('data', (chunk: Buffer) => {
        seen += chunk.length;
        if (seen > request.maxResponseBytes) res.destroy();
      });
      res.on('error', () => {});
      res.on('close', done);
    });
    req.on('error', (err) => {
      done();
      settle({ error: describe(err, timedOut, timeoutMs) });
    });
    req.end(body);
  });
}
