/**
 * The limits a container gets from `limits`: under runc the pids cgroup is the function's own
 * limit; under runsc the function is limited inside gVisor (RLIMIT_NPROC, set by the agent) and
 * the host cgroup only bounds the sandbox's host tasks, which gVisor's ptrace platform multiplies.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { agentContainerSpec } from './agent-container.js';
import { GVISOR_HOST_TASKS_MAX, GVISOR_HOST_TASKS_PER_PROCESS, GVISOR_PIDS_HEADROOM, hostPidsLimit, tmpInodes } from './container-spec.js';
import { gvisorMaxProcesses } from './executor.js';

const MIB = 1024 * 1024;
const limits = { memoryBytes: 256 * MIB, cpus: 1, pids: 32, tmpBytes: 8 * MIB, outputBytes: MIB };

function pidsLimit(runtime: string, transport: 'unix' | 'stdio'): number {
  const spec = agentContainerSpec({ image: 'x', limits, agentPath: '/a', hostRunDir: '/r', runtime, labels: {}, transport });
  return (spec.HostConfig as { PidsLimit: number }).PidsLimit;
}

describe('container limits', () => {
  it('runc: the pids cgroup counts the function exactly, init and agent threads on top', () => {
    assert.equal(hostPidsLimit('runc', 32), 32);
    assert.equal(pidsLimit('runc', 'unix'), 32 + 4);
    assert.equal(pidsLimit('runc', 'stdio'), 32 + 3);
  });

  it('runsc: the host cgroup leaves room for gVisor threads per process of the function', () => {
    assert.equal(hostPidsLimit('runsc', 32), GVISOR_PIDS_HEADROOM + 32 * GVISOR_HOST_TASKS_PER_PROCESS);
    assert.ok(hostPidsLimit('runsc', 32) > 2200, 'above what a fork bomb held at 32 processes was measured to take');
    assert.equal(pidsLimit('runsc', 'stdio'), hostPidsLimit('runsc', 32) + 3);
    // The host's pids come first: a large limits.pids does not open the host to the sandbox.
    assert.equal(hostPidsLimit('runsc', 128), GVISOR_HOST_TASKS_MAX);
    assert.equal(hostPidsLimit('runsc', 1024), GVISOR_HOST_TASKS_MAX);
  });

  it('runsc: RLIMIT_NPROC leaves out the first process, which gVisor counts against root', () => {
    assert.equal(gvisorMaxProcesses(32), 31);
    assert.equal(gvisorMaxProcesses(1), 0);
  });

  it('/tmp gets one inode per 4 KiB, at least 1024 (the rule the agent gives a VM)', () => {
    assert.equal(tmpInodes(8 * MIB), 2048);
    assert.equal(tmpInodes(MIB), 1024);
  });
});

describe('seccomp', () => {
  const securityOpt = (seccompProfile?: string) =>
    (
      agentContainerSpec({
        image: 'x',
        limits,
        agentPath: '/a',
        hostRunDir: '/r',
        runtime: 'runsc',
        labels: {},
        ...(seccompProfile ? { seccompProfile } : {}),
      }).HostConfig as { SecurityOpt: string[] }
    ).SecurityOpt;

  it("a profile given is the container's (the gVisor executor's containers-common profile); none keeps the engine's default", () => {
    assert.deepEqual(securityOpt(), ['no-new-privileges:true']);
    assert.deepEqual(securityOpt('{"syscalls":[]}'), ['no-new-privileges:true', 'seccomp={"syscalls":[]}']);
  });
});
