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
