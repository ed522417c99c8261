/**
 * A minimal Docker Engine API client over node:http, for unix and tcp DOCKER_HOST values.
 * We speak the API directly instead of shelling out to the CLI: a CLI call costs a process spawn
 * and a new connection per step, and the cold path is measured against the raw API.
 */
import http from 'node:http';
import type { Duplex } from 'node:stream';
import { FaasError } from '@faas/common';

const API_VERSION = 'v1.41';

/** Where the Docker engine listens when DOCKER_HOST is not set. */
export const DEFAULT_DOCKER_HOST = 'unix:///var/run/docker.sock';
export interface EngineOptions {
  /** DOCKER_HOST: unix:///var/run/docker.sock or tcp://host:port */
  host: string;
  /** Bound on any single API call other than attach/wait (which last as long as the function). */
  requestTimeoutMs?: number;
}

/** An error the engine answered with: keeps the status so callers can tell "no such image" from faults. */
export class EngineError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'EngineError';
  }
}

interface Target {
  socketPath?: string;
  host?: string;
  port?: number;
}

function parseHost(host: string): Target {
  if (host.startsWith('unix://')) return { socketPath: host.slice('unix://'.length) };
  const url = new URL(host.replace(/^tcp:/, 'http:'));
  return { host: url.hostname, port: Number(url.port) };
}

export class DockerEngine {
  private readonly target: Target;
  private readonly agent: http.Agent;
  private readonly requestTimeoutMs: number;

  constructor(options: EngineOptions) {
    this.target = parseHost(options.host);
    // Keep-alive saves a connect per call; the cold path makes four to five calls.
    this.agent = new http.Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 32 });
    this.requestTimeoutMs = options.requestTimeoutMs ?? 60_000;
  }

  /** Performs one API call and parses the JSON answer; throws EngineError for 4xx/5xx. */
  async request<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    options: { timeoutMs?: number; signal?: AbortSignal } = {},
  ): Promise<T> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const { status, data } = await new Promise<{ status: number; data: Buffer }>((resolve, reject) => {
      const req = http.request(
        {
          ...this.target,
          agent: this.agent,
          method,
          path: `/${API_VERSION}${path}`,
          headers: payload ? { 'content-type': 'application/json', 'content-length': payload.length } : { 'content-length': 0 },
          signal: options.signal,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, data: Buffer.concat(chunks) }));
          res.on('error', reject);
        },
      );
      const timeoutMs = options.timeoutMs ?? this.requestTimeoutMs;
      if (timeoutMs > 0) {
        req.setTimeout(timeoutMs, () => req.destroy(new Error(`Docker API ${method} ${path} timed out after ${timeoutMs} ms`)));
      }
      req.on('error', reject);
      req.end(payload);
    }).catch((err: unknown) => {
      if (err instanceof Error && err.name === 'AbortError') throw err;
      throw new FaasError('FAAS_ERR_EXECUTOR_UNAVAILABLE', `Docker engine unreachable: ${(err as Error).message}`, { cause: err });
    });
    const text = data.toString('utf8');
    if (status >= 400) {
      let message = text;
      try {
        message = (JSON.parse(text) as { message?: string }).message ?? text;
      } catch {
        // plain-text error body
      }
      throw new EngineError(status, message.trim());
    }
    if (text.length === 0) return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      // Some endpoints (pull) stream newline-delimited JSON; return the raw text.
      return text as T;
    }
  }

  /**
   * A GET whose answer is a stream (an image export, `GET /images/{name}/get`), on a connection of
   * its own; throws EngineError for 4xx/5xx. The caller reads the stream to its end or destroys it.
   */
  getStream(path: string): Promise<http.IncomingMessage> {
    return new Promise((resolve, reject) => {
      const req = http.request(
        { ...this.target, method: 'GET', path: `/${API_VERSION}${path}`, headers: { 'content-length': 0 } },
        (res) => {
          if ((res.statusCode ?? 0) < 400) {
            resolve(res);
            return;
          }
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => reject(new EngineError(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8').trim())));
          res.on('error', reject);
        },
      );
      req.on('error', (err) =>
        reject(new FaasError('FAAS_ERR_EXECUTOR_UNAVAILABLE', `Docker engine unreachable: ${err.message}`, { cause: err })),
      );
      req.end();
    });
  }

  /**
   * Opens the container's hijacked attach stream (stdin in, multiplexed stdout/stderr out).
   * Runs on its own connection because the socket leaves the HTTP pool once upgraded.
   */
  attach(id: string): Promise<Duplex> {
    return new Promise((resolve, reject) => {
      const req = http.request({
        ...this.target,
        method: 'POST',
        path: `/${API_VERSION}/containers/${id}/attach?stream=1&stdin=1&stdout=1&stderr=1`,
        headers: { Connection: 'Upgrade', Upgrade: 'tcp', 'content-length': 0 },
      });
      req.on('upgrade', (_res, socket, head) => {
        if (head.length > 0) socket.unshift(head);
        resolve(socket);
      });
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => reject(new EngineError(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'))));
      });
      req.setTimeout(this.requestTimeoutMs, () => req.destroy(new Error('Docker attach timed out')));
      req.on('error', (err) =>
        reject(new FaasError('FAAS_ERR_EXECUTOR_UNAVAILABLE', `Docker engine unreachable: ${err.message}`, { cause: err })),
      );
      req.end();
    });
  }

  /**
   * Opens `GET /events` on a connection of its own and calls `onEvent` with each event as it
   * arrives; `onEnd` is called once when the stream stops for any reason (the engine went away,
   * an error, `close()`). The connection does not keep the process alive.
   */
  events(filters: Record<string, string[]>, handlers: EventStreamHandlers): { close(): void } {
    let ended = false;
    const end = (reason: string) => {
      if (ended) return;
      ended = true;
      handlers.onEnd(reason);
    };
    const req = http.request(
      {
        ...this.target,
        agent: false,
        method: 'GET',
        path: `/${API_VERSION}/events?filters=${encodeURIComponent(JSON.stringify(filters))}`,
      },
      (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          end(`the engine answered /events with ${res.statusCode}`);
          return;
        }
        handlers.onOpen?.();
        let pending = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          pending += chunk;
          for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
            const line = pending.slice(0, nl).trim();
            pending = pending.slice(nl + 1);
            if (!line) continue;
            try {
              handlers.onEvent(JSON.parse(line) as EngineEvent);
            } catch {
              // Not JSON: an engine bug or a proxy in the way; the next line may be fine.
            }
          }
        });
        res.on('end', () => end('the engine ended the event stream'));
        res.on('close', () => end('the event stream closed'));
        res.on('error', (err) => end(`the event stream broke: ${err.message}`));
      },
    );
    req.on('socket', (socket) => socket.unref());
    req.on('error', (err) => end(`Docker engine unreachable: ${err.message}`));
    req.end();
    return {
      close: () => {
        ended = true;
        req.destroy();
      },
    };
  }

  close(): void {
    this.agent.destroy();
  }
}

/** One event of the engine's stream (the fields the platform reads). */
export interface EngineEvent {
  Type?: string;
  Action?: string;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
  time?: number;
}

export interface EventStreamHandlers {
  onOpen?(): void;
  onEvent(event: EngineEvent): void;
  onEnd(reason: string): void;
}

/** An engine failure outside the function's control, as the registry's sandbox fault. */
export function engineFault(err: unknown, step: string): FaasError {
  if (err instanceof FaasError) return err;
  return new FaasError('FAAS_ERR_SANDBOX_FAILURE', `Docker ${step} failed: ${(err as Error).message}`, { cause: err });
}
