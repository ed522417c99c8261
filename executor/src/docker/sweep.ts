/**
 * What the platform's labelled containers on this engine say, sorted into what to do about them.
 * One listing serves the start-up cleanup, the periodic sweep and the check after the engine came
 * back: containers of a platform process that is gone, or of this executor but held by none of its
 * sandboxes, are leftovers; a container whose sandbox is live but that no longer runs means the
 * sandbox is dead, whether or not its event reached us.
 */
import { pidAlive } from '../pids.js';
import { LABEL_HOST, LABEL_INSTANCE, LABEL_MANAGED, LABEL_PID, LABEL_SANDBOX } from './container-spec.js';
import type { DockerEngine } from './engine.js';

export interface ListedContainer {
  Id: string;
  State?: string;
  Labels?: Record<string, string>;
}

export interface SweepPlan {
  /** Containers nobody holds: a dead platform process's, or this executor's without a sandbox. */
  leftovers: string[];
  /** Sandbox id -> the state of its container, for live sandboxes whose container is not running. */
  dead: Map<string, string>;
  /** Sandbox ids of this executor whose container exists (to find those whose container is gone). */
  present: Set<string>;
}

/** Every container the platform labelled on this host, whatever its state. */
export async function listManaged(engine: DockerEngine, host: string): Promise<ListedContainer[]> {
  const filters = encodeURIComponent(JSON.stringify({ label: [`${LABEL_MANAGED}=true`, `${LABEL_HOST}=${host}`] }));
  return engine.request<ListedContainer[]>('GET', `/containers/json?all=1&filters=${filters}`, undefined, { timeoutMs: 10_000 });
}

/**
 * Sorts a listing for the executor `instance`. `live(sandboxId)` says whether the executor holds
 * the sandbox; a container just created ("created") belongs to a sandbox being started.
 */
export function planSweep(list: ListedContainer[], instance: string, live: (sandboxId: string) => boolean): SweepPlan {
  const plan: SweepPlan = { leftovers: [], dead: new Map(), present: new Set() };
  for (const container of list) {
    const labels = container.Labels ?? {};
    if (labels[LABEL_INSTANCE] !== instance) {
      // Another executor's: only a dead platform process's containers are anyone's to remove.
      if (!pidAlive(Number(labels[LABEL_PID]))) plan.leftovers.push(container.Id);
      continue;
    }
    const sandbox = labels[LABEL_SANDBOX];
    if (!sandbox || !live(sandbox)) {
      plan.leftovers.push(container.Id);
      continue;
    }
    plan.present.add(sandbox);
    const state = container.State ?? 'unknown';
    if (state !== 'running' && state !== 'created') plan.dead.set(sandbox, state);
  }
  return plan;
}
