import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { silentLogger } from '@faas/common';
import { pidAlive } from '../pids.js';
import { createStateDir, recordVmmPid, sweepRuntimeDir } from './state-dir.js';

/** A pid that certainly belongs to no running process: one of a child that has exited. */
function deadPid(): number {
  const child = spawnSync('true');
  return child.pid as number;
}

test('the sweep kills the VMM of a dead owner and removes its dir, but spares live owners', async () => {
  const runtimeDir = await mkdtemp(join(tmpdir(), 'vm-sweep-'));
  try {
    // A leftover: its owner is gone and its "VMM" (a shell naming the dir) still runs.
    const stale = join(runtimeDir, 'stale');
    await mkdir(stale);
    const vmm = spawn('sh', ['-c', 'sleep 60', stale], { stdio: 'ignore' });
    vmm.on('error', () => {});
    await writeFile(join(stale, 'owner.json'), JSON.stringify({ hostPid: deadPid(), vmmPid: vmm.pid, createdAt: '' }));
    // A dir without an owner record (crash before it was written) is removed too.
    await mkdir(join(runtimeDir, 'empty'));
    // A VM of this very process is alive and must survive.
    const mine = await createStateDir(runtimeDir, 'mine');
    await recordVmmPid(mine, process.pid);

    const exited = new Promise((resolve) => vmm.once('exit', resolve));
    assert.equal(await sweepRuntimeDir(runtimeDir, silentLogger), 2);
    await exited;
    assert.equal(pidAlive(vmm.pid as number), false);
    assert.deepEqual(await readdir(runtimeDir), ['mine']);
  } finally {
    await rm(runtimeDir, { recursive: true, force: true });
  }
});

test('the sweep never kills a process whose command line does not name the dir (pid reuse)', async () => {
  const runtimeDir = await mkdtemp(join(tmpdir(), 'vm-sweep-'));
  const bystander = spawn('sleep', ['60'], { stdio: 'ignore' });
  bystander.on('error', () => {});
  try {
    const stale = join(runtimeDir, 'stale');
    await mkdir(stale);
    await writeFile(join(stale, 'owner.json'), JSON.stringify({ hostPid: deadPid(), vmmPid: bystander.pid, createdAt: '' }));
    await sweepRuntimeDir(runtimeDir, silentLogger);
    assert.equal(pidAlive(bystander.pid as number), true);
    assert.equal(existsSync(stale), false);
  } finally {
    bystander.kill('SIGKILL');
    await rm(runtimeDir, { recursive: true, force: true });
  }
});

test('a missing runtime dir sweeps nothing', async () => {
  assert.equal(await sweepRuntimeDir(join(tmpdir(), 'does-not-exist-vm-sweep'), silentLogger), 0);
});
