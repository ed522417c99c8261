/**
 * The cold-path variants, measured side by side. A variant is { name, description, every?, setup?,
 * run, settle?, teardown? }: `run` is the timed part and may return phase marks ({ phase: ms since
 * run started }) that are reported as rows of their own; `settle` runs untimed after each `run`
 * (for work the measured path leaves behind, such as the platform's background container removal),
 * so that it does not land in the next variant's sample; `every: k` takes part in every k-th round
 * only (slow variants). Warm-pool and VM variants are added to `coldVariants` in the same shape.
 */
import http from 'node:http';
import { BENCH_LABEL, dockerCli } from './docker.mjs';

const LABELS = { [BENCH_LABEL]: '1' };

/**
 * POST /functions/bench/invoke through the gateway of the platform named `platformName` (see
 * ctx.startPlatform); fails the run unless the function exited 0.
 */
export function gatewayInvoke(ctx, executor, platformName = 'cold') {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const body = JSON.stringify({ image: ctx.image, command: ctx.command, ...(executor === 'docker' ? {} : { executor }) });
  let lastInvocation;
  return {
    name: `gateway-${executor}`,
    description: `POST /functions/bench/invoke, ${executor} executor: a fresh hardened container per call (answer sent before removal)`,
    platform: true,
    async run() {
      const { status, headers, text } = await post(agent, `${ctx.platforms.get(platformName).url}/functions/bench/invoke`, body);
      const result = status === 200 ? JSON.parse(text) : undefined;
      if (result?.exit_code !== 0) throw new Error(`gateway answered ${status}: ${text.slice(0, 300)}`);
      lastInvocation = headers['x-faas-invocation-id'];
    },
    async settle() {
      // The platform removes the container after answering; wait for that so it is not billed to the next variant.
      if (lastInvocation) await waitGone(ctx.engine, `dev.faas.invocation=${lastInvocation}`, 10_000);
    },
    async teardown() {
      agent.destroy();
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

/** The cold variants of one run, platform first. gVisor ones only when the runtime is registered. */
export function coldVariants(ctx) {
  const list = [gatewayInvoke(ctx, 'docker'), dockerRun(ctx), apiLifecycle(ctx, 'plain'), apiLifecycle(ctx, 'platform')];
  if (ctx.gvisor) {
    list.push(
      { ...gatewayInvoke(ctx, 'gvisor'), every: ctx.gvisorEvery },
      { ...dockerRun(ctx, ctx.gvisorRuntime), every: ctx.gvisorEvery },
    );
  }
  list.push(dockerExec(ctx), apiExec(ctx));
  return list;
}

function post(agent, url, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
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
