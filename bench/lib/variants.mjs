/**
 * The latency variants, measured side by side. A variant is { name, description, every?, repeat?,
 * setup?, run, settle?, teardown? }: `run` is the timed part and may return phase marks ({ phase: ms
 * since run started }) that are reported as rows of their own; `settle` runs untimed after each
 * `run` (for work the measured path leaves behind, such as the platform's background container
 * removal or a warm pool's refill), so that it does not land in the next variant's sample, and may
 * return 'discard' to drop the sample it follows (a warm call that did not find a warm sandbox);
 * `every: k` takes part in every k-th round only (slow variants); `repeat: k` runs k times in a
 * row per round (fast variants, for a meaningful p99).
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BENCH_LABEL, dockerCli } from './docker.mjs';
import { authHeaders } from './platform.mjs';

const LABELS = { [BENCH_LABEL]: '1' };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The id the bench registers its function under (registeredInvoke, compare.mjs --modes registered). */
export const REGISTERED_ID = 'bench-registered';

/**
 * POST /functions/<functionId>/invoke through the gateway of the platform named `platformName`
 * (see ctx.startPlatform); fails the run unless the function exited 0. Ad hoc (the default): the
 * body is the SandboxConfig (image, command); `registered`: the function id was registered with
 * registerFunction and the body is `{}` (no input: image and command are the definition's).
 */
export function gatewayInvoke(ctx, executor, platformName = 'cold', { functionId = 'bench', registered = false } = {}) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const body = registered
    ? '{}'
    : JSON.stringify({ image: ctx.image, command: ctx.command, ...(executor === 'docker' ? {} : { executor }) });
  const inv = {
    name: `gateway-${executor}`,
    description: `POST /functions/${functionId}/invoke, ${executor} executor: a fresh hardened container per call (answer sent before removal)`,
    platform: true,
    lastInvocation: undefined,
    async run() {
      const { status, headers, text } = await post(agent, `${ctx.platforms.get(platformName).url}/functions/${functionId}/invoke`, body);
      const result = status === 200 ? JSON.parse(text) : undefined;
      if (result?.exit_code !== 0) throw new Error(`gateway answered ${status}: ${text.slice(0, 300)}`);
      inv.lastInvocation = headers['x-faas-invocation-id'];
      // duration_ms is the orchestrator's own clock (validation, slot, sandbox, run); the rest is HTTP.
      return { orchestrator: result.duration_ms };
    },
    async settle() {
      // The platform removes the container after answering; wait for that so it is not billed to the next variant.
      if (inv.lastInvocation) await waitGone(ctx.engine, `dev.faas.invocation=${inv.lastInvocation}`, 10_000);
    },
    async teardown() {
      agent.destroy();
    },
  };
  return inv;
}

/**
 * POST /functions on the platform at `url`: registers REGISTERED_ID with `image` and `command` and
 * the pool mode `poolMode`. Resolves 'registered' (201), 'exists' (409: this platform has it
 * already), or 'unsupported' (404 or 405: a build without function registration, an older commit in
 * compare.mjs); throws on any other answer.
 */
export async function registerFunction(url, { image, command, poolMode }) {
  const body = JSON.stringify({ id: REGISTERED_ID, image, command, env_vars: [], pool_mode: poolMode });
  const agent = new http.Agent({ keepAlive: false });
  try {
    const { status, text } = await post(agent, `${url}/functions`, body);
    if (status === 201) return 'registered';
    if (status === 409) return 'exists';
    if (status === 404 || status === 405) return 'unsupported';
    throw new Error(`POST /functions answered ${status}: ${text.slice(0, 300)}`);
  } finally {
    agent.destroy();
  }
}

/**
 * A warm invocation through the gateway of the platform started with FAAS_POOL_MODE=`mode`
 * (PLATFORMS in platforms.mjs), sequential, same function id every call.
 *
 * reuse: after the answer the sandbox is reset and returned to the function's pool; `settle`
 * waits until the platform has nothing in flight (reset done, slot free) and no spare half-started.
 *
 * single-use: every call must find a spare. `settle` waits until the used sandbox is destroyed, at
 * least `minIdle` spares of the platform are running and 50 ms more (their agents answer HELLO
 * within milliseconds of start), so each measured call starts with spares ready. As a check, a call
 * whose invocation id shows up on a one-shot container (the platform's miss path creates one
 * labelled dev.faas.invocation=<id>; spares carry no invocation label) is discarded and counted.
 */
export function warmInvoke(ctx, mode, { repeat }) {
  const inv = gatewayInvoke(ctx, 'docker', mode);
  const minIdle = Number(ctx.platformEnv(mode).FAAS_POOL_MIN_IDLE ?? 2);
  let platform;
  const settle = async () => {
    await ctx.waitPlatformIdle(platform, 15_000);
    if (mode === 'single-use') {
      await waitSpares(ctx, platform, minIdle, 15_000);
      await sleep(50);
      if (platform.oneShot.has(inv.lastInvocation)) return 'discard';
    }
  };
  return {
    name: `gateway-docker-${mode}`,
    description:
      mode === 'reuse'
        ? "POST /functions/bench/invoke to a platform with FAAS_POOL_MODE=reuse: the function's own warm sandbox, reached through its guest agent over a Unix socket, reset after the answer"
        : 'POST /functions/bench/invoke to a platform with FAAS_POOL_MODE=single-use: a pre-started spare runs the call over its agent socket and is destroyed after (calls that found no spare are discarded)',
    platform: true,
    warm: mode,
    repeat,
    async setup() {
      platform = await ctx.startPlatform(mode);
      // The first call creates the pool key (a miss); its spares then start in the background.
      await inv.run();
      await settle();
    },
    run: inv.run,
    settle,
    teardown: inv.teardown,
  };
}

/**
 * The registered function's warm path, next to warmInvoke(ctx, 'reuse') on the same reuse platform:
 * REGISTERED_ID is registered once in setup (POST /functions with the bench's image and command,
 * pool_mode reuse) and every call is `POST /functions/bench-registered/invoke {}`. The gap to the
 * ad-hoc variant is what a registered call adds (the definition read from the store and merged
 * with the request); acceptance: p50 within 1.2x of the ad-hoc one. When the platform answers 404
 * to POST /functions (a build without registration), setup marks the variant `skipped` with the
 * reason, and run.mjs leaves it out.
 */
export function registeredInvoke(ctx, { repeat }) {
  const mode = 'reuse';
  const inv = gatewayInvoke(ctx, 'docker', mode, { functionId: REGISTERED_ID, registered: true });
  let platform;
  const settle = async () => {
    await ctx.waitPlatformIdle(platform, 15_000);
  };
  const variant = {
    name: 'gateway-docker-reuse-registered',
    description: `POST /functions/${REGISTERED_ID}/invoke {} to the FAAS_POOL_MODE=reuse platform: a function registered once (POST /functions, same image and command, pool_mode reuse), its own warm sandbox reset after the answer; compared with the ad-hoc gateway-docker-reuse`,
    platform: true,
    warm: mode,
    repeat,
    skipped: undefined,
    async setup() {
      platform = await ctx.startPlatform(mode);
      const outcome = await registerFunction(platform.url, { image: ctx.image, command: ctx.command, poolMode: mode });
      if (outcome === 'unsupported') {
        variant.skipped = 'the platform answered 404 to POST /functions (this build cannot register functions)';
        return;
      }
      await inv.run();
      await settle();
    },
    run: inv.run,
    settle,
    teardown: inv.teardown,
  };
  return variant;
}

/** Waits until `platform` runs at least `count` containers that carry no invocation (spares). */
export async function waitSpares(ctx, platform, count, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const list = await ctx.engine.listByLabel(`dev.faas.pid=${platform.pid}`);
    const spares = list.filter((c) => c.State === 'running' && !c.Labels?.['dev.faas.invocation']);
    if (spares.length >= count) return;
    await sleep(20);
  }
  throw new Error(`platform ${platform.name} did not have ${count} spares running within ${timeoutMs} ms`);
}

/**
 * A warm sandbox container of the bench's own, started the way the platform starts one: the
 * container body from executor/dist/docker/agent-container.js (the static guest agent as PID 1 under
 * tini, listening on a socket in a host folder) and the platform's own agent client (connectUnix).
 */
async function startAgentBox(ctx) {
  const { agentContainerSpec, AGENT_SOCKET } = await import(join(ctx.root, 'executor/dist/docker/agent-container.js'));
  const { connectUnix } = await import(join(ctx.root, 'executor/dist/agent/client.js'));
  const box = { dir: mkdtempSync(join(tmpdir(), 'faas-bench-agent-')), id: undefined, client: undefined };
  try {
    chmodSync(box.dir, 0o700);
    const body = agentContainerSpec({
      image: ctx.image,
      limits: ctx.config.defaultLimits,
      agentPath: ctx.config.agentPath,
      hostRunDir: box.dir,
      runtime: 'runc',
      labels: LABELS,
    });
    ({ Id: box.id } = await ctx.engine.ok('POST', '/containers/create', body));
    await ctx.engine.ok('POST', `/containers/${box.id}/start`);
    box.client = await connectUnix(join(box.dir, AGENT_SOCKET), { helloTimeoutMs: 15_000, connectTimeoutMs: 15_000, retryIntervalMs: 5 });
    return box;
  } catch (err) {
    await stopAgentBox(ctx, box);
    throw err;
  }
}

async function stopAgentBox(ctx, box) {
  if (!box) return;
  box.client?.close();
  if (box.id) await ctx.engine.remove(box.id).catch(() => {});
  rmSync(box.dir, { recursive: true, force: true });
}

/** EXEC of the bench command as the platform sends it (sandbox user, /tmp, default output cap). */
async function agentExec(ctx, client) {
  const [uid, gid] = ctx.config.sandboxUser.split(':').map(Number);
  const result = await client.exec({
    command: ctx.command,
    env: ['HOME=/tmp', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
    cwd: '/tmp',
    uid,
    gid: gid ?? uid,
    stdin: Buffer.alloc(0),
    timeoutMs: 30_000,
    maxOutputBytes: ctx.config.defaultLimits.outputBytes,
  });
  if (result.exitCode !== 0) throw new Error(`agent exec exited ${result.exitCode} ${result.startError ?? ''}`);
}

/**
 * The guest agent alone, the floors of the warm paths (no HTTP, no orchestrator, no pool):
 * - 'reused': EXEC over the socket of an already running agent container that has served earlier
 *   EXECs, RESET after each, untimed (the floor of reuse mode);
 * - 'fresh': the first EXEC into an agent container that just answered HELLO and ran nothing yet
 *   (a single-use spare; the next one is started untimed in settle);
 * - 'spare': the same, with the next spare's create + start sent to the engine just before the EXEC
 *   and left running meanwhile, as the pool's refill does on every single-use hit.
 */
export function agentDirect(ctx, kind, { repeat }) {
  let box;
  let next;
  const names = { reused: 'agent-direct', fresh: 'agent-direct-fresh', spare: 'agent-direct-spare' };
  const descriptions = {
    reused:
      "EXEC over the guest agent's Unix socket of an already running warm sandbox container (the platform's agent client and container body; no HTTP, no pool); RESET after, untimed",
    fresh: 'first EXEC into a freshly started agent container (a single-use spare that ran nothing yet), no HTTP, no pool',
    spare:
      "first EXEC into a fresh agent container while the next spare's create + start runs in the engine (what a single-use hit does, with the pool's refill), no HTTP",
  };
  return {
    name: names[kind],
    description: descriptions[kind],
    repeat,
    async setup() {
      box = await startAgentBox(ctx);
    },
    async run() {
      if (kind === 'spare') {
        next = startAgentBox(ctx);
        next.catch(() => {});
      }
      await agentExec(ctx, box.client);
    },
    async settle() {
      if (kind === 'reused') {
        await box.client.reset({ scratchDir: '/tmp' });
        return;
      }
      const used = box;
      box = undefined;
      await stopAgentBox(ctx, used);
      box = await (next ?? startAgentBox(ctx));
      next = undefined;
    },
    async teardown() {
      await stopAgentBox(ctx, box);
      await stopAgentBox(ctx, await next?.catch(() => undefined));
    },
  };
}

/** `docker run --rm --network none IMAGE CMD`: what a user of the CLI pays. */
export function dockerRun(ctx, runtime) {
  const extra = runtime ? ['--runtime', runtime] : [];
  return {
    name: runtime ? `docker-run-${runtime}` : 'docker-run',
    description: `docker run --rm --network none${runtime ? ` --runtime ${runtime}` : ''} (the CLI: spawn, create, attach, start, wait, remove)`,
    run: () => dockerCli(['run', '--rm', '--network', 'none', '--label', `${BENCH_LABEL}=1`, ...extra, ctx.image, ...ctx.command]),
  };
}

/**
 * Create / start / wait / remove over the Engine API on a keep-alive unix socket. With `spec`
 * 'platform' it sends the platform's own hardened container body and attaches before start, i.e.
 * exactly the engine calls the docker executor makes, so the gap to gateway-docker is the
 * platform's own overhead; 'plain' is the minimal container `docker run --network none` asks for.
 */
export function apiLifecycle(ctx, spec) {
  const platform = spec === 'platform';
  return {
    name: platform ? 'api-platform-calls' : 'api-lifecycle',
    description: platform
      ? "Engine API with the platform's container body: create, attach, start, wait, remove"
      : 'Engine API, minimal container (network none): create, start, wait, remove',
    async run() {
      const t0 = performance.now();
      const body = platform
        ? ctx.platformSpec()
        : { Image: ctx.image, Cmd: ctx.command, Labels: LABELS, HostConfig: { NetworkMode: 'none' } };
      const { Id } = await ctx.engine.ok('POST', '/containers/create', body);
      try {
        const stream = platform ? await ctx.engine.attach(Id) : undefined;
        stream?.on('error', () => {});
        stream?.resume();
        await ctx.engine.ok('POST', `/containers/${Id}/start`);
        stream?.end();
        const waited = await ctx.engine.ok('POST', `/containers/${Id}/wait?condition=not-running`, undefined, 60_000);
        stream?.destroy();
        if (waited.StatusCode !== 0) throw new Error(`container exited ${waited.StatusCode}`);
        const exited = performance.now() - t0;
        await ctx.engine.ok('DELETE', `/containers/${Id}?v=1`);
        return { 'to-exit': exited };
      } catch (err) {
        await ctx.engine.remove(Id).catch(() => {});
        throw err;
      }
    },
  };
}

/** A long-running container to exec into, labelled for cleanup. */
async function startSleeper(ctx) {
  const body = { Image: ctx.image, Cmd: ['sleep', '3600'], Labels: LABELS, HostConfig: { NetworkMode: 'none' } };
  const { Id } = await ctx.engine.ok('POST', '/containers/create', body);
  await ctx.engine.ok('POST', `/containers/${Id}/start`);
  return Id;
}

/** `docker exec` into a running container: the floor a warm sandbox could reach through the CLI. */
export function dockerExec(ctx) {
  let id;
  return {
    name: 'docker-exec',
    description: 'docker exec into an already running container (no container lifecycle at all)',
    async setup() {
      id = await startSleeper(ctx);
    },
    run: () => dockerCli(['exec', id, ...ctx.command]),
    async teardown() {
      if (id) await ctx.engine.remove(id);
    },
  };
}

/** Exec create + start (attached, so the answer ends when the process exits) over the Engine API. */
export function apiExec(ctx) {
  let id;
  return {
    name: 'api-exec',
    description: 'Engine API exec into an already running container: exec create, start (attached), inspect',
    async setup() {
      id = await startSleeper(ctx);
    },
    async run() {
      const exec = await ctx.engine.ok('POST', `/containers/${id}/exec`, { Cmd: ctx.command, AttachStdout: true, AttachStderr: true });
      await ctx.engine.ok('POST', `/exec/${exec.Id}/start`, { Detach: false, Tty: false });
      for (let i = 0; i < 100; i++) {
        const info = await ctx.engine.ok('GET', `/exec/${exec.Id}/json`);
        if (!info.Running) {
          if (info.ExitCode !== 0) throw new Error(`exec exited ${info.ExitCode}`);
          return;
        }
        await new Promise((r) => setTimeout(r, 5));
      }
      throw new Error('exec still running after 100 polls');
    },
    async teardown() {
      if (id) await ctx.engine.remove(id);
    },
  };
}

/**
 * The variants of one run, platform first: cold (pool off), warm (single-use and reuse pools, when
 * the guest agent is built), then the baselines. gVisor ones only when the runtime is registered.
 */
export function latencyVariants(ctx) {
  const list = [gatewayInvoke(ctx, 'docker')];
  if (ctx.config.agentPath) {
    list.push(
      warmInvoke(ctx, 'single-use', { repeat: 3 }),
      warmInvoke(ctx, 'reuse', { repeat: 10 }),
      registeredInvoke(ctx, { repeat: 10 }),
    );
  }
  list.push(dockerRun(ctx), apiLifecycle(ctx, 'plain'), apiLifecycle(ctx, 'platform'));
  if (ctx.gvisor) {
    list.push(
      { ...gatewayInvoke(ctx, 'gvisor'), every: ctx.gvisorEvery },
      { ...dockerRun(ctx, ctx.gvisorRuntime), every: ctx.gvisorEvery },
    );
  }
  list.push(dockerExec(ctx), apiExec(ctx));
  if (ctx.config.agentPath) {
    list.push(
      agentDirect(ctx, 'reused', { repeat: 10 }),
      agentDirect(ctx, 'fresh', { repeat: 2 }),
      agentDirect(ctx, 'spare', { repeat: 2 }),
    );
  }
  return list;
}

function post(agent, url, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: 'POST',
        agent,
        headers: { ...authHeaders(), 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => {
          text += d;
        });
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text }));
        res.on('error', reject);
      },
    );
    req.setTimeout(60_000, () => req.destroy(new Error(`POST ${url} timed out`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** Polls until no container carries `label`, at most timeoutMs. */
async function waitGone(engine, label, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await engine.listByLabel(label)).length === 0) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}
