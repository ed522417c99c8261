import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { isFaasError } from '@faas/common';
import { AGENT_CAPS } from './bundle-spec.js';
import { DEFAULT_SECCOMP_PROFILE, goArch, loadSeccompProfile, resolveSeccomp, type SeccompProfile, seccompArch } from './seccomp.js';

const PROFILE: SeccompProfile = {
  defaultAction: 'SCMP_ACT_ERRNO',
  defaultErrnoRet: 38,
  archMap: [{ architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32'] }],
  syscalls: [
    { names: ['read', 'write'], action: 'SCMP_ACT_ALLOW', args: [], includes: {}, excludes: {} },
    { names: ['arch_prctl'], action: 'SCMP_ACT_ALLOW', includes: { arches: ['amd64', 'x32'] } },
    { names: ['breakpoint'], action: 'SCMP_ACT_ALLOW', includes: { arches: ['arm', 'arm64'] } },
    { names: ['mount'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_SYS_ADMIN'] } },
    { names: ['setuid'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_SETUID'] } },
    { names: ['unshare'], action: 'SCMP_ACT_ALLOW', excludes: { caps: ['CAP_SYS_ADMIN'] } },
    { names: ['kexec_load'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 },
  ],
};

describe('seccomp profile resolution (Docker format to OCI)', () => {
  const resolved = resolveSeccomp(PROFILE, 'SCMP_ARCH_X86_64', AGENT_CAPS, 'amd64');
  const names = resolved.syscalls.flatMap((rule) => rule.names);

  it('keeps the default action and errno, and the architecture with its sub-architectures', () => {
    assert.equal(resolved.defaultAction, 'SCMP_ACT_ERRNO');
    assert.equal(resolved.defaultErrnoRet, 38);
    assert.deepEqual(resolved.architectures, ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
  });

  it('filters rules by architecture with Go names, as moby does', () => {
    assert.ok(names.includes('arch_prctl'));
    assert.ok(!names.includes('breakpoint'));
  });

  it('filters rules by the capabilities the container holds', () => {
    assert.ok(!names.includes('mount'), 'a CAP_SYS_ADMIN rule is left out');
    assert.ok(names.includes('setuid'), 'a CAP_SETUID rule applies to the agent');
    assert.ok(names.includes('unshare'), 'an exclusion for a capability not held keeps the rule');
  });

  it('keeps errnoRet and drops empty args', () => {
    assert.deepEqual(
      resolved.syscalls.find((rule) => rule.names.includes('kexec_load')),
      { names: ['kexec_load'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 },
    );
    assert.equal(resolved.syscalls[0]?.args, undefined);
  });

  it('names the host architecture as libseccomp and Go do', () => {
    assert.equal(seccompArch('x64'), 'SCMP_ARCH_X86_64');
    assert.equal(seccompArch('arm64'), 'SCMP_ARCH_AARCH64');
    assert.equal(goArch('x64'), 'amd64');
    assert.equal(goArch('arm64'), 'arm64');
  });

  it('refuses to go on without the profile, naming the package to install', () => {
    assert.throws(
      () => loadSeccompProfile('/nonexistent/seccomp.json'),
      (err: unknown) => isFaasError(err) && err.code === 'FAAS_ERR_EXECUTOR_UNAVAILABLE' && /containers-common/.test(err.message),
    );
  });

  it('loads the installed default profile where the host has it', {
    skip: !existsSync(DEFAULT_SECCOMP_PROFILE) && 'no containers-common profile',
  }, () => {
    const oci = resolveSeccomp(loadSeccompProfile(), seccompArch(), AGENT_CAPS);
    assert.ok(oci.syscalls.length > 10);
  });
});
