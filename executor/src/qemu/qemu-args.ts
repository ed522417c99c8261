/**
 * The qemu-system-x86_64 command line of one VM, as a pure function so that its shape can be
 * tested without booting anything. The machine is `microvm`: no PCI, no firmware, no legacy
 * devices beyond one 16550 UART for the console, virtio over MMIO for everything else. That is
 * the same device model Firecracker offers, so one guest kernel serves both.
 */

/** Name of the agent's virtio-serial port; the agent finds its device through sysfs by this name. */
export const AGENT_PORT_NAME = 'faas.agent';

export interface QemuVmConfig {
  kernelPath: string;
  /** The per-VM qcow2 overlay whose backing file is the shared, read-only root filesystem. */
  rootDisk: string;
  consoleLog: string;
  agentSocket: string;
  memoryMib: number;
  cpus: number;
  accel: 'kvm' | 'tcg';
  /** Size of the guest's /tmp tmpfs. */
  tmpMib: number;
  /**
   * Under TCG: the host's TSC frequency in kHz. The guest kernel otherwise calibrates its TSC
   * against a tick counter that loses ticks under emulation, declares the TSC unstable and falls
   * back to that counter as its clock, which then runs 10 % or more slow: a 30 s timeout fires
   * seconds late. Given the frequency (`tsc_early_khz`) and told to trust it (`tsc=reliable`,
   * kernel Documentation/admin-guide/kernel-parameters.txt), the guest keeps time.
   */
  tscKhz?: number;
  /** Run QEMU under its seccomp sandbox (default true). */
  seccomp?: boolean;
}

/** The kernel command line: console on the UART, read-only root, the agent as init. */
export function kernelCmdline(config: Pick<QemuVmConfig, 'tmpMib' | 'tscKhz'>, agentInit: string): string {
  const clock = config.tscKhz ? ['tsc=reliable', `tsc_early_khz=${config.tscKhz}`] : [];
  return [
    'console=ttyS0',
    'loglevel=4',
    // Any panic (including the agent, PID 1, exiting) restarts, which -no-reboot turns into an exit.
    'panic=-1',
    'reboot=t',
    'root=/dev/vda',
    'rootfstype=ext4',
    'ro',
    `init=${agentInit}`,
    'random.trust_cpu=on',
    // Like a container's memory cgroup: an allocation succeeds and the OOM killer ends the command
    // when its pages are touched past the limit, rather than the guest refusing large allocations.
    'sysctl.vm.overcommit_memory=1',
    `faas.transport=serial:${AGENT_PORT_NAME}`,
    `faas.tmp_mb=${config.tmpMib}`,
    ...clock,
  ].join(' ');
}

/** The host's TSC frequency in kHz from /proc/cpuinfo's first `cpu MHz` line; undefined if absent. */
export function hostTscKhz(cpuinfo: string): number | undefined {
  const match = /^cpu MHz\s*:\s*([0-9.]+)$/m.exec(cpuinfo);
  const mhz = match ? Number(match[1]) : Number.NaN;
  return Number.isFinite(mhz) && mhz > 0 ? Math.round(mhz * 1000) : undefined;
}

export function qemuArgs(config: QemuVmConfig, agentInit: string): string[] {
  // The CMOS RTC stays on: under TCG it is the guest's only source of wall-clock time.
  const machine = ['microvm', 'x-option-roms=off', 'acpi=off'];
  const args = [
    '-M',
    machine.join(','),
    '-accel',
    config.accel === 'kvm' ? 'kvm' : `tcg,thread=${config.cpus > 1 ? 'multi' : 'single'}`,
    '-cpu',
    config.accel === 'kvm' ? 'host' : 'max',
    '-m',
    `${config.memoryMib}M`,
    '-smp',
    String(config.cpus),
    '-nodefaults',
    '-no-user-config',
    '-nographic',
    '-no-reboot',
    '-kernel',
    config.kernelPath,
    '-append',
    kernelCmdline(config, agentInit),
    // Console: the UART, appended to a file for diagnostics; nothing reads the terminal.
    '-chardev',
    `file,id=console,path=${escapeOption(config.consoleLog)}`,
    '-serial',
    'chardev:console',
    // Root disk: a private qcow2 layer over the shared image, so VMs never share a writable disk.
    '-drive',
    `id=root,file=${escapeOption(config.rootDisk)},format=qcow2,if=none,cache=unsafe`,
    '-device',
    'virtio-blk-device,drive=root',
    // Agent transport: a virtio-serial port whose host end is a Unix socket QEMU listens on.
    '-chardev',
    `socket,id=agent,path=${escapeOption(config.agentSocket)},server=on,wait=off`,
    '-device',
    'virtio-serial-device,max_ports=2',
    '-device',
    `virtserialport,chardev=agent,name=${AGENT_PORT_NAME},nr=1`,
    '-device',
    'virtio-rng-device',
  ];
  if (config.seccomp !== false) {
    // QEMU's own seccomp filter: no spawning, no privilege changes, should the guest escape into it.
    args.push('-sandbox', 'on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny');
  }
  return args;
}

/** QEMU option values separate key=value pairs with commas; a literal comma is written twice. */
export function escapeOption(value: string): string {
  return value.replaceAll(',', ',,');
}
