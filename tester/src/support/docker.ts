/**
 * Looks at the Docker engine directly (not through the platform) to check what the platform left
 * behind: every container it creates carries `dev.faas.managed=true` and the creating process's
 * pid in `dev.faas.pid`.
 */
import http from 'node:http';

export const DOCKER_HOST = process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';

function target(host = DOCKER_HOST): { socketPath: string } | { host: string; port: number } {
  if (host.startsWith('unix://')) return { socketPath: host.slice('unix://'.length) };
  const url = new URL(host.replace(/^tcp:/, 'http:'));
  return { host: url.hostname, port: Number(url.port) };
}

/** One request to the Docker Engine API, with no body; the answer's status and text. */
export function dockerApi(method: string, path: string, timeoutMs = 10_000, host = DOCKER_HOST): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ ...target(host), path, method, agent: false, headers: { 'content-length': 0 } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`Docker API ${method} ${path} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

const get = (path: string, timeoutMs = 5000, host = DOCKER_HOST) => dockerApi('GET', path, timeoutMs, host);
const post = (path: string, timeoutMs = 10_000, host = DOCKER_HOST) => dockerApi('POST', path, timeoutMs, host);

/** `docker tag image name`: makes `name` (repo:tag) name `image`; throws with the engine's answer otherwise. */
export async function tagImage(image: string, name: string): Promise<void> {
  const colon = name.lastIndexOf(':');
  const query = new URLSearchParams({ repo: name.slice(0, colon), tag: name.slice(colon + 1) });
  const res = await post(`/images/${encodeURIComponent(image)}/tag?${query}`);
  if (res.status !== 201) throw new Error(`docker tag ${image} ${name}: ${res.status} ${res.body.trim()}`);
}

/** Removes the name `name` (`docker rmi --no-prune`; the image stays under its other names); the status. */
export async function untagImage(name: string): Promise<number> {
  return (await dockerApi('DELETE', `/images/${encodeURIComponent(name)}?noprune=1`)).status;
}

/**
 * `docker kill` of the container(s) holding the labels, from outside the platform (as an operator,
 * or the host's OOM killer, would); returns the ids it killed.
 */
export async function killContainers(labels: Record<string, string>, signal = 'KILL', host = DOCKER_HOST): Promise<string[]> {
  const killed: string[] = [];
  for (const container of await managedContainers(labels, host)) {
    if (container.state !== 'running') continue;
    const res = await post(`/containers/${container.id}/kill?signal=${signal}`, 10_000, host);
    if (res.status === 204) killed.push(container.id);
  }
  return killed;
}

/** Undefined when the engine answers; otherwise one line saying why not (for skip messages). */
export async function dockerUnavailableReason(): Promise<string | undefined> {
  try {
    const res = await get('/_ping', 2000);
    return res.status === 200 ? undefined : `Docker engine at ${DOCKER_HOST} answered /_ping with ${res.status}`;
  } catch (err) {
    return `no Docker engine at ${DOCKER_HOST} (${(err as Error).message})`;
  }
}

/** Undefined when the engine has the runtime; otherwise why not. */
export async function runtimeUnavailableReason(runtime: string): Promise<string | undefined> {
  const down = await dockerUnavailableReason();
  if (down) return down;
  const info = JSON.parse((await get('/info')).body) as { Runtimes?: Record<string, unknown> };
  return info.Runtimes && runtime in info.Runtimes ? undefined : `the Docker engine has no "${runtime}" runtime (scripts/setup-host.sh)`;
}

export interface ManagedContainer {
  id: string;
  name: string;
  state: string;
  labels: Record<string, string>;
}

/**
 * Containers the platform created, narrowed by extra labels (`dev.faas.pid`, `dev.faas.invocation`,
 * ...), on the host's engine or on another (`host`, a DOCKER_HOST value).
 */
export async function managedContainers(labels: Record<string, string> = {}, host = DOCKER_HOST): Promise<ManagedContainer[]> {
  const filter = ['dev.faas.managed=true', ...Object.entries(labels).map(([k, v]) => `${k}=${v}`)];
  const res = await get(`/containers/json?all=1&filters=${encodeURIComponent(JSON.stringify({ label: filter }))}`, 5000, host);
  if (res.status !== 200) throw new Error(`Docker API /containers/json answered ${res.status}: ${res.body}`);
  const list = JSON.parse(res.body) as Array<{ Id: string; Names: string[]; State: string; Labels: Record<string, string> }>;
  return list.map((c) => ({ id: c.Id.slice(0, 12), name: c.Names[0] ?? '', state: c.State, labels: c.Labels }));
}

/**
 * Waits until no managed container matches the labels and returns what is still there after
 * `withinMs` (empty on success). Removal runs after the response is sent, so it may lag a little.
 */
export async function waitForNoContainers(labels: Record<string, string>, withinMs = 15_000): Promise<ManagedContainer[]> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const left = await managedContainers(labels);
    if (left.length === 0 || Date.now() >= deadline) return left;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** One line per container, for assertion messages: the ids a human needs to go and look. */
export function describeContainers(list: ManagedContainer[]): string {
  return list.map((c) => `${c.id} ${c.name} ${c.state} invocation=${c.labels['dev.faas.invocation'] ?? '?'}`).join('\n');
}

/**
 * Processes, in any running container of ours, whose command line contains `marker`: a killed
 * invocation must leave none, whether its sandbox was a one-shot container or a warm one.
 */
export async function survivingProcesses(marker: string, labels: Record<string, string>): Promise<string[]> {
  const found: string[] = [];
  for (const container of await managedContainers(labels)) {
    if (container.state !== 'running') continue;
    const res = await get(`/containers/${container.id}/top?ps_args=-eo%20pid,args`);
    // 404/409: the container went away or stopped between the listing and this call.
    if (res.status !== 200) continue;
    const top = JSON.parse(res.body) as { Processes?: string[][] };
    for (const row of top.Processes ?? []) {
      const line = row.join(' ');
      if (line.includes(marker)) found.push(`${container.id}: ${line}`);
    }
  }
  return found;
}

/** Waits until no process carrying `marker` runs in our containers; returns what is still there. */
export async function waitForNoSurvivor(marker: string, labels: Record<string, string>, withinMs = 15_000): Promise<string[]> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const left = await survivingProcesses(marker, labels);
    if (left.length === 0 || Date.now() >= deadline) return left;
    await new Promise((r) => setTimeout(r, 200));
  }
}
