/**
 * The seccomp filter of every OCI sandbox: a maintained default profile, never one written here.
 * Debian's containers-common package (golang-github-containers-common on bookworm) installs the
 * profile Podman and CRI-O use at /usr/share/containers/seccomp.json, in the same format as
 * Docker's default profile (moby/profiles/seccomp): rules that apply only with some capabilities
 * or on some architectures. The OCI runtime takes the resolved form (runtime-spec config-linux.md
 * "Seccomp"), so this file resolves it the way Docker does for a container: for the host's
 * architecture and the capabilities the container's process holds.
 */
import { readFileSync } from 'node:fs';
import { FaasError } from '@faas/common';

export const DEFAULT_SECCOMP_PROFILE = '/usr/share/containers/seccomp.json';

interface ProfileArg {
  index: number;
  value: number;
  valueTwo?: number;
  op: string;
}

interface ProfileFilter {
  caps?: string[];
  arches?: string[];
  minKernel?: string;
}

interface ProfileRule {
  name?: string;
  names?: string[];
  action: string;
  args?: ProfileArg[] | null;
  errnoRet?: number;
  includes?: ProfileFilter;
  excludes?: ProfileFilter;
}

export interface SeccompProfile {
  defaultAction: string;
  defaultErrnoRet?: number;
  archMap?: { architecture: string; subArchitectures?: string[] | null }[] | null;
  syscalls?: ProfileRule[] | null;
}

/** The `linux.seccomp` object of an OCI config.json. */
export interface OciSeccomp {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures: string[];
  syscalls: { names: string[]; action: string; errnoRet?: number; args?: ProfileArg[] }[];
}

/** Node's process.arch as libseccomp names it. */
export function seccompArch(arch: string = process.arch): string {
  const names: Record<string, string> = {
    x64: 'SCMP_ARCH_X86_64',
    arm64: 'SCMP_ARCH_AARCH64',
    ia32: 'SCMP_ARCH_X86',
    arm: 'SCMP_ARCH_ARM',
    ppc64: 'SCMP_ARCH_PPC64LE',
    s390x: 'SCMP_ARCH_S390X',
    riscv64: 'SCMP_ARCH_RISCV64',
  };
  return names[arch] ?? `SCMP_ARCH_${arch.toUpperCase()}`;
}

/** Node's process.arch as Go names it: the profile's `includes.arches` use Go's names (moby matches runtime.GOARCH). */
export function goArch(arch: string = process.arch): string {
  const names: Record<string, string> = { x64: 'amd64', ia32: '386', ppc64: 'ppc64le' };
  return names[arch] ?? arch;
}

/**
 * Resolves a Docker-format profile for one architecture and one capability set (names with the
 * CAP_ prefix; `go`: the architecture as Go names it), as moby's setupSeccomp does: a rule whose `includes` asks for a capability or
 * architecture the container lacks is left out, and so is one whose `excludes` names one it has.
 */
export function resolveSeccomp(profile: SeccompProfile, arch: string, caps: readonly string[], go: string = goArch()): OciSeccomp {
  const has = new Set(caps);
  const arches = [arch];
  for (const entry of profile.archMap ?? []) {
    if (entry.architecture === arch) arches.push(...(entry.subArchitectures ?? []));
  }
  const syscalls: OciSeccomp['syscalls'] = [];
  for (const rule of profile.syscalls ?? []) {
    const inc = rule.includes ?? {};
    const exc = rule.excludes ?? {};
    if (inc.arches?.length && !inc.arches.includes(go)) continue;
    if (exc.arches?.includes(go)) continue;
    if (inc.caps?.length && !inc.caps.every((cap) => has.has(cap))) continue;
    if (exc.caps?.some((cap) => has.has(cap))) continue;
    const names = rule.names ?? (rule.name ? [rule.name] : []);
    if (names.length === 0) continue;
    syscalls.push({
      names,
      action: rule.action,
      ...(rule.errnoRet !== undefined ? { errnoRet: rule.errnoRet } : {}),
      ...(rule.args?.length ? { args: rule.args } : {}),
    });
  }
  return {
    defaultAction: profile.defaultAction,
    ...(profile.defaultErrnoRet !== undefined ? { defaultErrnoRet: profile.defaultErrnoRet } : {}),
    architectures: arches,
    syscalls,
  };
}

/** Reads the profile; a host without it cannot run OCI sandboxes, and says how to get it. */
export function loadSeccompProfile(path: string = DEFAULT_SECCOMP_PROFILE): SeccompProfile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new FaasError(
      'FAAS_ERR_EXECUTOR_UNAVAILABLE',
      `the oci executor needs the default seccomp profile at ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): install Debian's containers-common (apt-get install golang-github-containers-common; scripts/setup-host.sh does it)`,
    );
  }
  try {
    const profile = JSON.parse(text) as SeccompProfile;
    if (typeof profile.defaultAction !== 'string') throw new Error('no defaultAction');
    return profile;
  } catch (err) {
    throw new FaasError('FAAS_ERR_EXECUTOR_UNAVAILABLE', `the seccomp profile at ${path} is not a profile: ${(err as Error).message}`);
  }
}
