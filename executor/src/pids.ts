import { readFileSync } from 'node:fs';

/** True if a process with this pid exists (EPERM: it exists but is not ours). */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** PF_EXITING in /proc/<pid>/stat's flags: the process has begun to exit. */
const PF_EXITING = 0x4;
/** SIGKILL's bit in /proc/<pid>/status's pending-signal masks. */
const SIGKILL_BIT = 1 << 8;

/**
 * True when the process is gone, a zombie, exiting, or has a kill pending that it has not acted on
 * yet: a process killed a moment ago, before its exit can be seen any other way (its sockets
 * still open). Two synchronous reads of /proc, microseconds.
 */
export function processEnding(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z' || fields[0] === 'X' || (Number(fields[6]) & PF_EXITING) !== 0) return true;
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    for (const match of status.matchAll(/^(?:SigPnd|ShdPnd):\s*([0-9a-fA-F]+)$/gm)) {
      if ((Number.parseInt((match[1] as string).slice(-3), 16) & SIGKILL_BIT) !== 0) return true;
    }
    return false;
  } catch {
    return true;
  }
}
