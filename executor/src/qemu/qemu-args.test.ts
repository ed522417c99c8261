import assert from 'node:assert/strict';
import { test } from 'node:test';
import { vmSize } from '../vm/size.js';
import { AGENT_PORT_NAME, escapeOption, hostTscKhz, kernelCmdline, qemuArgs } from './qemu-args.js';

const MIB = 1024 * 1024;
const base = {
  kernelPath: '/k/vmlinux',
  rootDisk: '/run/vm/root.qcow2',
  consoleLog: '/run/vm/console.log',
  agentSocket: '/run/vm/agent.sock',
  memoryMib: 304,
  cpus: 1,
  accel: 'tcg' as const,
  tmpMib: 64,
};

function option(args: string[], flag: string): string[] {
  return args.flatMap((value, i) => (args[i - 1] === flag ? [value] : []));
}

test('a VM is a microvm without defaults, firmware or reboot', () => {
  const args = qemuArgs(base, '/faas/agent');
  assert.match(option(args, '-M')[0] ?? '', /^microvm,.*x-option-roms=off/);
  for (const flag of ['-nodefaults', '-no-user-config', '-nographic', '-no-reboot']) assert.ok(args.includes(flag), flag);
  assert.deepEqual(option(args, '-m'), ['304M']);
  assert.deepEqual(option(args, '-kernel'), ['/k/vmlinux']);
  assert.deepEqual(option(args, '-accel'), ['tcg,thread=single']);
});

test('KVM hosts get the host CPU model', () => {
  const args = qemuArgs({ ...base, accel: 'kvm', cpus: 2 }, '/faas/agent');
  assert.deepEqual(option(args, '-accel'), ['kvm']);
  assert.deepEqual(option(args, '-cpu'), ['host']);
  assert.deepEqual(option(args, '-smp'), ['2']);
});

test('the root disk is the per-VM overlay and the agent port is a listening socket', () => {
  const args = qemuArgs(base, '/faas/agent');
  assert.ok(option(args, '-drive').some((d) => d.includes('file=/run/vm/root.qcow2') && d.includes('format=qcow2')));
  const chardevs = option(args, '-chardev');
  assert.ok(chardevs.includes('socket,id=agent,path=/run/vm/agent.sock,server=on,wait=off'));
  assert.ok(option(args, '-device').includes(`virtserialport,chardev=agent,name=${AGENT_PORT_NAME},nr=1`));
});

test('the kernel command line boots the agent read-only over the named serial port', () => {
  const cmdline = kernelCmdline({ tmpMib: 32 }, '/faas/agent').split(' ');
  for (const word of ['ro', 'init=/faas/agent', `faas.transport=serial:${AGENT_PORT_NAME}`, 'faas.tmp_mb=32', 'panic=-1']) {
    assert.ok(cmdline.includes(word), word);
  }
});

test('commas in paths are escaped for QEMU option syntax', () => {
  assert.equal(escapeOption('/a,b/c'), '/a,,b/c');
  const args = qemuArgs({ ...base, consoleLog: '/x,y/console.log' }, '/faas/agent');
  assert.ok(option(args, '-chardev').includes('file,id=console,path=/x,,y/console.log'));
});

test('VM size adds the kernel overhead to the memory limit and rounds vCPUs up', () => {
  const size = vmSize({ memoryBytes: 256 * MIB, cpus: 0.5, pids: 10, tmpBytes: 64 * MIB, outputBytes: MIB });
  assert.deepEqual(size, { memoryMib: 304, cpus: 1, tmpMib: 64 });
  assert.equal(vmSize({ memoryBytes: 1 * MIB, cpus: 2.5, pids: 10, tmpBytes: 1, outputBytes: MIB }).memoryMib, 64);
  assert.equal(vmSize({ memoryBytes: 1 * MIB, cpus: 2.5, pids: 10, tmpBytes: 1, outputBytes: MIB }).cpus, 3);
});

test('under TCG the guest is given the host TSC frequency and told to trust it', () => {
  const cmdline = kernelCmdline({ tmpMib: 32, tscKhz: 2596122 }, '/faas/agent').split(' ');
  assert.ok(cmdline.includes('tsc=reliable'));
  assert.ok(cmdline.includes('tsc_early_khz=2596122'));
  assert.ok(!kernelCmdline({ tmpMib: 32 }, '/faas/agent').includes('tsc='));
  assert.equal(hostTscKhz('processor\t: 0\ncpu MHz\t\t: 2596.122\n'), 2596122);
  assert.equal(hostTscKhz('processor\t: 0\n'), undefined);
});
