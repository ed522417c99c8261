/**
 * How a sandbox's resource limits become a VM's size. A VM has no cgroup around the function:
 * its RAM is the bound, so the guest gets the memory limit plus room for its own kernel, page
 * cache and agent. The /tmp tmpfs lives in that RAM too, as it is charged to the memory cgroup of
 * a container.
 */
import type { ResourceLimits } from '@faas/common';

/** Guest RAM on top of the function's memory limit, for the guest kernel, page cache and agent. */
export const VM_MEMORY_OVERHEAD_MIB = 48;
/** Smallest VM that boots the guest kernel and a shell comfortably. */
export const VM_MIN_MEMORY_MIB = 64;

export interface VmSize {
  memoryMib: number;
  /** Whole vCPUs: a fractional CPU limit rounds up (a VM cannot have half a vCPU). */
  cpus: number;
  tmpMib: number;
}

export function vmSize(limits: ResourceLimits): VmSize {
  const mib = 1024 * 1024;
  return {
    memoryMib: Math.max(VM_MIN_MEMORY_MIB, Math.ceil(limits.memoryBytes / mib) + VM_MEMORY_OVERHEAD_MIB),
    cpus: Math.max(1, Math.ceil(limits.cpus)),
    tmpMib: Math.max(1, Math.ceil(limits.tmpBytes / mib)),
  };
}
