/**
 * The platform configurations the bench starts, each as its own `faas serve` (see run.mjs
 * startNamed). These settings override the same variables from the caller's environment; every
 * other FAAS_* variable passes through. The report lists them.
 *
 * - cold: no warm pool, every invocation is a fresh one-shot container.
 * - single-use: a pre-started agent sandbox runs one invocation and is destroyed. MIN_IDLE 3 keeps
 *   three spares per image and limits, so a paced invocation always finds one (the latency variant
 *   also waits for them and drops any call that did not; see variants.mjs).
 * - reuse: the function's sandboxes are reset and kept. MAX_CONCURRENCY and MAX_IDLE 48 let the
 *   pool hold the 32 sandboxes that 32 connections keep busy, plus the spares MIN_IDLE asks for.
 */
export const PLATFORMS = {
  cold: { FAAS_POOL_MODE: 'off' },
  'single-use': { FAAS_POOL_MODE: 'single-use', FAAS_POOL_MIN_IDLE: '3', FAAS_POOL_MAX_IDLE: '16' },
  reuse: { FAAS_POOL_MODE: 'reuse', FAAS_POOL_MIN_IDLE: '2', FAAS_POOL_MAX_IDLE: '48', FAAS_MAX_CONCURRENCY: '48' },
};

/** Settings the bench sets on every platform. */
export function baseEnv(gvisor) {
  return { FAAS_EXECUTOR_TYPE: 'docker', ...(gvisor ? { FAAS_ALLOWED_EXECUTORS: 'docker,gvisor' } : {}) };
}
