/**
 * Measures Firecracker VMs through the executor on a host with working KVM (run by
 * scripts/kvm-check.sh; `node executor/dist/firecracker/kvm-timings.js --runs 20`):
 *
 * - boot: `acquire` with snapshots off, from the call to the agent's HELLO (Firecracker start,
 *   configuration, kernel boot, agent ready);
 * - restore: with snapshots on, from `acquire` to the result of a first `invoke` (`echo ok`):
 *   Firecracker start, snapshot load, vsock connect, HELLO, identity refresh, EXEC.
 *
 * The first snapshot acquire (which boots a builder VM and writes the snapshot) is reported on its
 * own. Inputs: FAAS_FC_BINARY_PATH, FAAS_FC_KERNEL_PATH, FAAS_FC_ROOTFS_PATH, optional
 * FAAS_FC_JAILER_PATH. Prints one JSON object on stdout; progress goes to stderr.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execRequest } from '../exec-request.js';
import type { Sandbox } from '../executor.js';
import type { VmSandbox } from '../vm/vm-executor.js';
import { FirecrackerExecutor, type FirecrackerExecutorOptions } from './firecracker-executor.js';

const MIB = 1024 * 1024;
const LIMITS = { memoryBytes: 128 * MIB, cpus: 1, pids: 64, tmpBytes: 16 * MIB, outputBytes: MIB };

export interface Stats {
  runs: number;
  p50Ms: number;
  p99Ms: number;
  minMs: number;
  maxMs: number;
}

/** Nearest-rank percentiles of a sample. */
export function stats(samples: number[]): Stats | undefined {
  if (samples.length === 0) return undefined;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
  const round = (n: number) => Math.round(n * 10) / 10;
  return {
    runs: sorted.length,
    p50Ms: round(rank(50)),
    p99Ms: round(rank(99)),
    minMs: round(sorted[0] as number),
    maxMs: round(sorted[sorted.length - 1] as number),
  };
}

function options(runtimeDir: string, extra: Partial<FirecrackerExecutorOptions>): FirecrackerExecutorOptions {
  const need = (name: string) => {
    const value = process.env[name];
    if (!value) throw new Error(`${name} is not set`);
    return value;
  };
  return {
    binaryPath: need('FAAS_FC_BINARY_PATH'),
    kernelPath: need('FAAS_FC_KERNEL_PATH'),
    rootfsPath: need('FAAS_FC_ROOTFS_PATH'),
    ...(process.env.FAAS_FC_JAILER_PATH ? { jailer: { path: process.env.FAAS_FC_JAILER_PATH } } : {}),
    runtimeDir,
    bootTimeoutMs: 15_000,
    ...extra,
  };
}

async function echo(executor: FirecrackerExecutor, box: Sandbox): Promise<void> {
  const result = await executor.invoke(box, execRequest(['sh', '-c', 'echo ok'], { invocationId: 'timing', timeoutMs: 5000 }));
  if (result.stdout.toString() !== 'ok\n' || result.exitCode !== 0)
    throw new Error(`unexpected result ${JSON.stringify(result.stdout.toString())}`);
}

export async function measure(runs: number): Promise<Record<string, unknown>> {
  const runtimeDir = await mkdtemp(join(tmpdir(), 'fct-'));
  const snapshotDir = await mkdtemp(join(tmpdir(), 'fct-snap-'));
  const errors: string[] = [];
  const boot: number[] = [];
  const restore: number[] = [];
  let snapshotBuildMs: number | undefined;
  let fellBack = 0;
  try {
    const cold = new FirecrackerExecutor(options(runtimeDir, { snapshots: false }));
    await cold.init();
    try {
      for (let i = 0; i < runs; i++) {
        const start = performance.now();
        try {
          const box = await cold.acquire({ functionId: `boot-${i}`, image: 'faas/busybox:latest', limits: LIMITS });
          boot.push(performance.now() - start);
          if (i === 0) await echo(cold, box);
          await cold.destroy(box);
        } catch (err) {
          errors.push(`boot ${i}: ${(err as Error).message}`);
          if (errors.length >= 3) break;
        }
        process.stderr.write(`kvm-timings: boot ${i + 1}/${runs}\n`);
      }
    } finally {
      await cold.close();
    }

    const warm = new FirecrackerExecutor(options(runtimeDir, { snapshots: true, snapshotDir }));
    await warm.init();
    try {
      const first = performance.now();
      try {
        const box = await warm.acquire({ functionId: 'snapshot-build', image: 'faas/busybox:latest', limits: LIMITS });
        await echo(warm, box);
        snapshotBuildMs = Math.round(performance.now() - first);
        await warm.destroy(box);
      } catch (err) {
        errors.push(`snapshot build: ${(err as Error).message}`);
      }
      for (let i = 0; i < runs && snapshotBuildMs !== undefined; i++) {
        const start = performance.now();
        try {
          const box = await warm.acquire({ functionId: `restore-${i}`, image: 'faas/busybox:latest', limits: LIMITS });
          await echo(warm, box);
          const elapsed = performance.now() - start;
          if ((box as VmSandbox).restoredFrom) restore.push(elapsed);
          else fellBack++;
          await warm.destroy(box);
        } catch (err) {
          errors.push(`restore ${i}: ${(err as Error).message}`);
          if (errors.length >= 3) break;
        }
        process.stderr.write(`kvm-timings: restore ${i + 1}/${runs}\n`);
      }
    } finally {
      await warm.close();
    }
  } finally {
    await rm(runtimeDir, { recursive: true, force: true });
    await rm(snapshotDir, { recursive: true, force: true });
  }
  return {
    boot: stats(boot) ?? null,
    restore: stats(restore) ?? null,
    snapshotBuildMs: snapshotBuildMs ?? null,
    restoreFellBackToBoot: fellBack,
    errors,
  };
}

if (process.argv[1] && import.meta.filename === process.argv[1]) {
  const at = process.argv.indexOf('--runs');
  const runs = at > 0 ? Number(process.argv[at + 1]) : 20;
  if (!Number.isInteger(runs) || runs < 1 || runs > 1000) {
    console.error('usage: kvm-timings.js [--runs N] (1 to 1000)');
    process.exit(2);
  }
  const result = await measure(runs);
  console.log(JSON.stringify(result));
  process.exit((result.errors as string[]).length > 0 ? 1 : 0);
}
