/** Memory of the platform process, read from /proc/<pid>/status (Linux only). */
import { readFileSync } from 'node:fs';

/** VmRSS (resident now) and VmHWM (peak resident) in KiB, or undefined once the process is gone. */
export function readMemory(pid) {
  let text;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const field = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? Number.NaN);
  return { rssKb: field('VmRSS'), hwmKb: field('VmHWM') };
}

/** Samples VmRSS every intervalMs until stop(), which returns max/mean RSS and the final VmHWM. */
export function sampleMemory(pid, intervalMs = 100) {
  const samples = [];
  const take = () => {
    const m = readMemory(pid);
    if (m) samples.push(m.rssKb);
  };
  take();
  const timer = setInterval(take, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      take();
      const end = readMemory(pid);
      return {
        samples: samples.length,
        maxRssKb: Math.max(...samples),
        meanRssKb: samples.reduce((s, x) => s + x, 0) / Math.max(1, samples.length),
        hwmKb: end?.hwmKb ?? Number.NaN,
      };
    },
  };
}

/** Clock ticks per second of /proc times (USER_HZ); 100 on every mainstream Linux build. */
const TICK_MS = 10;

/** CPU time (user + system) a process has used so far, in ms, or NaN once it is gone. */
export function readCpuMs(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may contain spaces: fields are counted after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
  } catch {
    return Number.NaN;
  }
}

/** Busy and total CPU time of the whole machine so far, in ms (from /proc/stat). */
export function readMachineCpuMs() {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
    const xs = line.trim().split(/\s+/).slice(1).map(Number);
    const total = xs.reduce((s, x) => s + x, 0);
    const idle = xs[3] + (xs[4] ?? 0);
    return { busyMs: (total - idle) * TICK_MS, totalMs: total * TICK_MS };
  } catch {
    return { busyMs: Number.NaN, totalMs: Number.NaN };
  }
}
