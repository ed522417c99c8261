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
 * - qemu-cold, qemu-restore, qemu-reuse (the `vm` section only): the qemu executor (a microVM per
 *   sandbox), pool off (a VM booted, or restored from a snapshot, per invocation: the bench adds
 *   FAAS_VM_SNAPSHOTS=off / on where the build accepts it) and reuse (the function's VM kept and
 *   reset). MIN_IDLE 0: no
 *   spare VM boots in the background while another is measured (under TCG a boot takes a core for
 *   seconds), so a reuse call hits the function's own VM. The bench gives them a TMPDIR of its own,
 *   so their VM state dirs are found and checked at the end.
 * - oci-<runtime>-cold, oci-<runtime>-single-use (the `oci` section only, lib/oci.mjs): the oci
 *   executor (an OCI runtime driven directly, no Docker engine in the path) with runc, crun or
 *   runsc (FAAS_OCI_RUNTIME), pool off and single-use with the `single-use` platform's pool sizes.
 */
export const PLATFORMS = {
  cold: { FAAS_POOL_MODE: 'off' },
  'single-use': { FAAS_POOL_MODE: 'single-use', FAAS_POOL_MIN_IDLE: '3', FAAS_POOL_MAX_IDLE: '16' },
  reuse: { FAAS_POOL_MODE: 'reuse', FAAS_POOL_MIN_IDLE: '2', FAAS_POOL_MAX_IDLE: '48', FAAS_MAX_CONCURRENCY: '48' },
  'qemu-cold': { FAAS_EXECUTOR_TYPE: 'qemu', FAAS_ALLOWED_EXECUTORS: 'qemu', FAAS_POOL_MODE: 'off' },
  'qemu-restore': { FAAS_EXECUTOR_TYPE: 'qemu', FAAS_ALLOWED_EXECUTORS: 'qemu', FAAS_POOL_MODE: 'off' },
  'qemu-reuse': {
    FAAS_EXECUTOR_TYPE: 'qemu',
    FAAS_ALLOWED_EXECUTORS: 'qemu',
    FAAS_POOL_MODE: 'reuse',
    FAAS_POOL_MIN_IDLE: '0',
    FAAS_POOL_MAX_IDLE: '2',
  },
  ...Object.fromEntries(
    ['runc', 'crun', 'runsc'].flatMap((runtime) => {
      const oci = { FAAS_EXECUTOR_TYPE: 'oci', FAAS_ALLOWED_EXECUTORS: 'oci', FAAS_OCI_RUNTIME: runtime };
      return [
        [`oci-${runtime}-cold`, { ...oci, FAAS_POOL_MODE: 'off' }],
        // One spare per connection of the section's load (8).
        [`oci-${runtime}-single-use`, { ...oci, FAAS_POOL_MODE: 'single-use', FAAS_POOL_MIN_IDLE: '8', FAAS_POOL_MAX_IDLE: '16' }],
      ];
    }),
  ),
};

/** Settings the bench sets on every platform. */
export function baseEnv(gvisor) {
  return { FAAS_EXECUTOR_TYPE: 'docker', ...(gvisor ? { FAAS_ALLOWED_EXECUTORS: 'docker,gvisor' } : {}) };
}
