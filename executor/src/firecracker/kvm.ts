/**
 * Whether this host's /dev/kvm can run Firecracker guests, for the test suites and the KVM check.
 * Opening /dev/kvm is not enough: nested "kvm-pvm" devices (a PVM hypervisor inside a microVM)
 * create VMs and even run a tiny real-mode guest, but an ordinary Linux guest kernel dies there
 * early (xrstor) or crawls under its emulator. Firecracker's API accepts everything on them, so
 * the suites that need a booting guest skip there instead of failing on every boot deadline.
 */
import { constants, existsSync } from 'node:fs';
import { access } from 'node:fs/promises';

/** Why Firecracker guests cannot boot here, or undefined when /dev/kvm looks usable. */
export async function kvmUnusableReason(env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  try {
    await access('/dev/kvm', constants.R_OK | constants.W_OK);
  } catch {
    return 'no usable /dev/kvm (absent, or not readable and writable)';
  }
  if (existsSync('/sys/module/kvm_pvm') && env.FAAS_KVM_CHECK_FORCE !== '1') {
    return '/dev/kvm is kvm-pvm (nested PVM), which cannot boot an ordinary guest kernel (FAAS_KVM_CHECK_FORCE=1 tries anyway)';
  }
  return undefined;
}
