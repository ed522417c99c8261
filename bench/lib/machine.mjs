/** What the figures were measured on: they mean little without it. */
import { execFileSync } from 'node:child_process';
import os from 'node:os';

function quiet(cmd, args) {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}

export function describeMachine(root) {
  const cpus = os.cpus();
  return {
    date: new Date().toISOString(),
    cores: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    kernel: `${os.type()} ${os.release()}`,
    docker: quiet('docker', ['version', '--format', '{{.Server.Version}} (API {{.Server.APIVersion}})']),
    node: process.version,
    // Read-only: which code the figures belong to.
    commit: quiet('git', ['-C', root, 'rev-parse', '--short', 'HEAD']),
    dirty: quiet('git', ['-C', root, 'status', '--porcelain']) !== '',
  };
}

export function machineLine(m) {
  return `${m.cores} cores (${m.cpuModel}), ${m.memoryGiB} GiB RAM, ${m.kernel}, Docker ${m.docker}, Node ${m.node}, commit ${m.commit}${m.dirty ? ' + local changes' : ''}`;
}
