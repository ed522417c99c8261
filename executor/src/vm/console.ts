/**
 * Small helpers of the microVM lifecycle: reading the guest console (the kernel's OOM reports and
 * the tail that goes to the log when a VM fails) and bounding a promise in time.
 */
import { statSync } from 'node:fs';
import { open, stat } from 'node:fs/promises';

/** The guest kernel reports OOM kills on the console (there is no cgroup to ask); only new lines count. */
export async function consoleMentionsOom(path: string, from: number): Promise<boolean> {
  return /Out of memory: Killed process|oom-kill:/.test(await readConsole(path, from));
}

export async function fileSize(path: string): Promise<number> {
  return stat(path).then(
    (s) => s.size,
    () => 0,
  );
}

/** Synchronous, for the invocation's hot path: a stat must not wait for a libuv pool thread. */
export function fileSizeSync(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** Up to 64 KiB of the console log from `from`; empty when there is none. */
export async function readConsole(path: string, from: number): Promise<string> {
  try {
    const file = await open(path, 'r');
    try {
      const buffer = Buffer.alloc(64 * 1024);
      const { bytesRead } = await file.read(buffer, 0, buffer.length, from);
      return buffer.subarray(0, bytesRead).toString('utf8');
    } finally {
      await file.close();
    }
  } catch {
    return '';
  }
}

export function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}
