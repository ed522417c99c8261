/** What the two Docker-backed executors (runc and gVisor) share in their contract runs. */
import type { Executor, Sandbox } from '@faas/executor';
import { killContainers, managedContainers } from '../support/docker.js';

/**
 * The executor as the platform uses it with isolation `off` and on single-use pool misses: every
 * sandbox is acquired for one invocation (`oneShot`), which the Docker executor serves over the
 * container's attached stdio instead of a socket.
 */
export function oneShotView(executor: Executor): Executor {
  return {
    kind: executor.kind,
    capabilities: executor.capabilities,
    init: () => executor.init(),
    ping: () => executor.ping(),
    acquire: (spec, signal) => executor.acquire({ ...spec, oneShot: true }, signal),
    invoke: (sandbox, request) => executor.invoke(sandbox, request),
    release: (sandbox) => executor.release(sandbox),
    destroy: (sandbox) => executor.destroy(sandbox),
    alive: (sandbox) => executor.alive(sandbox),
    watch: (listener) => executor.watch(listener),
    close: () => executor.close(),
  };
}

/** "Left behind" for Docker: containers this test process labelled for the executor kind. */
export function dockerLeftovers(kind: string): () => Promise<string[]> {
  return async () =>
    (await managedContainers({ 'dev.faas.pid': String(process.pid), 'dev.faas.executor': kind })).map(
      (c) => `container ${c.id} (${c.state})`,
    );
}

/** Kills a sandbox's container from outside the platform (`docker kill`). */
export async function killContainerOf(sandbox: Sandbox): Promise<void> {
  const killed = await killContainers({ 'dev.faas.sandbox': sandbox.id });
  if (killed.length === 0) throw new Error(`no running container carries dev.faas.sandbox=${sandbox.id}`);
}
