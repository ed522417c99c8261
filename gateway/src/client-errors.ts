/**
 * Answers for requests that never reach a route: Node's HTTP parser and timers report them as
 * `clientError` (malformed HTTP, headers over the limit, a request not received in time), and
 * CONNECT requests arrive as `connect`. Left to Node or Fastify these answer with bodies of their
 * own shape (or none); here they get the documented error body with a registry code, a correct
 * content-length, and the connection is closed after the answer.
 */
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { FaasError } from '@faas/common';
import type { FastifyBaseLogger } from 'fastify';
import { errorBody, INVOCATION_HEADER, MethodNotAllowedError, methodNotAllowed, notFound } from './errors.js';
import { documentedPath } from './routes.js';

export interface ClientErrorLimits {
  requestTimeoutMs: number;
  headersTimeoutMs: number;
  maxHeaderBytes: number;
}

/** What Node hands to `clientError`: a parser error (`HPE_*`, with the bytes it choked on) or a timeout. */
export interface ClientError extends Error {
  code?: string;
  reason?: string;
  rawPacket?: Buffer;
}

/** How long a closed-for-writing connection may linger so the client reads the answer before it is destroyed. */
const LINGER_MS = 1000;

/** `METHOD SP request-target SP HTTP/1.x`, on a bounded prefix of the packet. */
const REQUEST_LINE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]{1,32}) ([^\s]{1,8192}) HTTP\/1\.[01]\r?\n/;

/** The answer for a request line whose method Node's parser does not know (e.g. QUERY, or a made-up token). */
function unknownMethod(rawPacket: unknown): FaasError | undefined {
  if (!Buffer.isBuffer(rawPacket)) return undefined;
  const match = REQUEST_LINE.exec(rawPacket.subarray(0, 8300).toString('latin1'));
  if (!match) return undefined;
  const [, method = '', target = ''] = match;
  const documented = documentedPath(target);
  return documented ? methodNotAllowed(documented.methods) : notFound(method, target);
}

/** Maps a client error to the registry; undefined when there is nobody to answer (the peer reset the connection). */
export function clientErrorFault(err: ClientError, limits: ClientErrorLimits): FaasError | undefined {
  switch (err.code) {
    case 'ECONNRESET':
    case 'EPIPE':
      return undefined;
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new FaasError(
        'FAAS_ERR_REQUEST_TIMEOUT',
        `the request was not received in time (headers within ${limits.headersTimeoutMs} ms, the whole request within ${limits.requestTimeoutMs} ms)`,
      );
    case 'HPE_HEADER_OVERFLOW':
      return new FaasError('FAAS_ERR_HEADERS_TOO_LARGE', `the request line and headers exceed ${limits.maxHeaderBytes} bytes`);
    case 'HPE_INVALID_METHOD':
      return unknownMethod(err.rawPacket) ?? malformed(err);
    default:
      return malformed(err);
  }
}

function malformed(err: ClientError): FaasError {
  const reason = (err.reason ?? err.message ?? 'unparsable').slice(0, 120);
  return new FaasError('FAAS_ERR_INVALID_REQUEST', `malformed HTTP request (${err.code ?? 'parse error'}): ${reason}`);
}

/** The response Node's server is writing on this socket, if a request got that far (internal, but stable since Node 0.x). */
function currentResponse(socket: Duplex): { headersSent: boolean; getHeader(name: string): unknown } | undefined {
  return (socket as Duplex & { _httpMessage?: { headersSent: boolean; getHeader(name: string): unknown } })._httpMessage ?? undefined;
}

const answered = new WeakSet<Duplex>();

/** `fault` as a complete HTTP/1.1 answer that closes the connection. */
export function rawAnswer(fault: FaasError, invocationId?: string): string {
  const body = JSON.stringify(errorBody(fault, invocationId));
  const head = [
    `HTTP/1.1 ${fault.status} ${STATUS_CODES[fault.status] ?? 'Error'}`,
    'content-type: application/json; charset=utf-8',
    `content-length: ${Buffer.byteLength(body)}`,
    'connection: close',
  ];
  if (invocationId) head.push(`${INVOCATION_HEADER}: ${invocationId}`);
  if (fault instanceof MethodNotAllowedError) head.push(`allow: ${fault.allow}`);
  return `${head.join('\r\n')}\r\n\r\n${body}`;
}

/**
 * Writes `fault` straight to the socket, once, and closes the connection. `linger`: the write side
 * is ended first and the socket destroyed a little later, so a client still sending (a long
 * header block) reads the answer rather than a reset. `cut`: destroyed at once, for a parser that
 * is still live (a timed-out request), where more bytes could otherwise start a new request.
 */
export function answerOnSocket(socket: Duplex, fault: FaasError, invocationId: string | undefined, mode: 'linger' | 'cut'): void {
  if (answered.has(socket)) return;
  answered.add(socket);
  const answer = rawAnswer(fault, invocationId);
  if (mode === 'cut') {
    socket.write(answer);
    socket.destroy();
    return;
  }
  socket.end(answer);
  setTimeout(() => socket.destroy(), LINGER_MS).unref();
}

/** Fastify's `clientErrorHandler`: every client error is answered with a registry error and closes the connection. */
export function createClientErrorHandler(limits: ClientErrorLimits, log: FastifyBaseLogger) {
  // Typed as Fastify declares it; what Node passes is a ClientError whose rawPacket is a Buffer.
  return function clientErrorHandler(error: Error, socket: Socket): void {
    const err = error as ClientError;
    const fault = socket.destroyed ? undefined : clientErrorFault(err, limits);
    const response = currentResponse(socket);
    const idHeader = response?.getHeader(INVOCATION_HEADER);
    const invocationId = typeof idHeader === 'string' ? idHeader : undefined;
    if (!fault || !socket.writable || response?.headersSent) {
      log.debug({ code: err.code, invocationId }, 'client connection ended before an answer could be sent');
      socket.destroy();
      return;
    }
    log.debug({ code: err.code, status: fault.status, invocationId }, `client error: ${fault.message}`);
    answerOnSocket(socket, fault, invocationId, err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 'cut' : 'linger');
  };
}

/** The server's `connect` listener: CONNECT is no method of this API (without one, Node drops the connection silently). */
export function answerConnect(url: string | undefined, socket: Duplex): void {
  const documented = documentedPath(url ?? '');
  answerOnSocket(socket, documented ? methodNotAllowed(documented.methods) : notFound('CONNECT', url ?? ''), undefined, 'linger');
}
