/**
 * The baselines' side of Docker: a keep-alive Engine API client over the unix socket (the same
 * transport the platform uses, so "raw API" measures the engine, not our HTTP code) and a bounded
 * wrapper around the docker CLI. Every container the bench creates carries BENCH_LABEL.
 */
import { spawn } from 'node:child_process';
import http from 'node:http';

export const BENCH_LABEL = 'dev.faas.bench';
const API = '/v1.41';

export class Engine {
  constructor(socketPath = dockerSocket()) {
    this.socketPath = socketPath;
    this.agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  }

  /** One API call; resolves { status, body } with body parsed as JSON when it is JSON. */
  request(method, path, body, timeoutMs = 60_000) {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          socketPath: this.socketPath,
          agent: this.agent,
          method,
          path: API + path,
          headers: payload ? { 'content-type': 'application/json', 'content-length': payload.length } : { 'content-length': 0 },
        },
        (res) => {
          const chunks = [];
          res.on('data', (c) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed = text;
            try {
              parsed = text ? JSON.parse(text) : undefined;
            } catch {
              // not JSON (exec start answers raw bytes)
            }
            resolve({ status: res.statusCode ?? 0, body: parsed });
          });
        },
      );
      req.setTimeout(timeoutMs, () => req.destroy(new Error(`Docker API ${method} ${path} timed out after ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** Like request, but throws unless the status is 2xx. */
  async ok(method, path, body, timeoutMs) {
    const res = await this.request(method, path, body, timeoutMs);
    if (res.status >= 300) {
      throw new Error(`Docker API ${method} ${path} answered ${res.status}: ${JSON.stringify(res.body).slice(0, 300)}`);
    }
    return res.body;
  }

  async listByLabel(label) {
    const filters = encodeURIComponent(JSON.stringify({ label: [label] }));
    return this.ok('GET', `/containers/json?all=1&filters=${filters}`);
  }

  async remove(id) {
    const res = await this.request('DELETE', `/containers/${id}?force=1&v=1`);
    if (res.status >= 300 && res.status !== 404 && res.status !== 409) {
      throw new Error(`cannot remove container ${id}: ${res.status} ${JSON.stringify(res.body)}`);
    }
  }

  /** Removes every container carrying `label` (key=value); returns how many there were. */
  async removeByLabel(label) {
    const list = await this.listByLabel(label);
    await Promise.all(list.map((c) => this.remove(c.Id)));
    return list.length;
  }

  /**
   * Opens a container's hijacked attach stream, as the platform's executor does before start.
   * Runs on its own connection: an upgraded socket leaves the keep-alive pool.
   */
  attach(id, timeoutMs = 60_000) {
    return new Promise((resolve, reject) => {
      const req = http.request({
        socketPath: this.socketPath,
        method: 'POST',
        path: `${API}/containers/${id}/attach?stream=1&stdin=1&stdout=1&stderr=1`,
        headers: { Connection: 'Upgrade', Upgrade: 'tcp', 'content-length': 0 },
      });
      req.on('upgrade', (_res, socket) => resolve(socket));
      req.on('response', (res) => {
        res.resume();
        reject(new Error(`attach to ${id} answered ${res.statusCode}`));
      });
      req.setTimeout(timeoutMs, () => req.destroy(new Error(`attach to ${id} timed out`)));
      req.on('error', reject);
      req.end();
    });
  }

  /**
   * Subscribes to the engine's event stream (GET /events) with `filters`; resolves once the engine
   * has answered, so no event after that point is missed. Runs on its own connection.
   */
  watchEvents(filters, onEvent, timeoutMs = 10_000) {
    return new Promise((resolve, reject) => {
      const req = http.request(
        { socketPath: this.socketPath, method: 'GET', path: `${API}/events?filters=${encodeURIComponent(JSON.stringify(filters))}` },
        (res) => {
          clearTimeout(timer);
          if (res.statusCode !== 200) {
            res.resume();
            reject(new Error(`Docker API GET /events answered ${res.statusCode}`));
            return;
          }
          let buffer = '';
          res.setEncoding('utf8');
          res.on('data', (chunk) => {
            buffer += chunk;
            for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
              const line = buffer.slice(0, nl).trim();
              buffer = buffer.slice(nl + 1);
              if (!line) continue;
              try {
                onEvent(JSON.parse(line));
              } catch {
                // not an event line
              }
            }
          });
          res.on('error', () => {});
          resolve({ close: () => req.destroy() });
        },
      );
      const timer = setTimeout(() => req.destroy(new Error(`Docker API GET /events did not answer within ${timeoutMs} ms`)), timeoutMs);
      req.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      req.end();
    });
  }

  close() {
    this.agent.destroy();
  }
}

export function dockerSocket(env = process.env) {
  const host = env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
  if (!host.startsWith('unix://')) throw new Error(`bench needs a unix DOCKER_HOST, got ${host}`);
  return host.slice('unix://'.length);
}

/** Runs the docker CLI; rejects on a non-zero exit or after timeoutMs (the process is killed). */
export function dockerCli(args, timeoutMs = 60_000) {
  return new Promise((resolve, reject) => {
    const child = spawn('docker', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      err += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`docker ${args.join(' ')} failed (${signal ?? code}): ${err.trim().slice(0, 300)}`));
    });
  });
}
