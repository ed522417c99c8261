import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { silentLogger } from '@faas/common';
import type { DockerEngine } from '../docker/engine.js';
import { cacheTempName, RootfsCache } from './rootfs-cache.js';

test('prune removes unfinished work of dead processes only, and images no longer wanted', () => {
  const dir = mkdtempSync(join(tmpdir(), 'faas-rootfs-cache-'));
  try {
    const dead = spawnSync('true').pid;
    const names = {
      mine: cacheTempName('abc'),
      live: '.tmp-1-unpacking', // pid 1: another live process sharing the cache
      dead: `.tmp-${dead}-abandoned`,
      kept: 'a'.repeat(64),
      gone: 'b'.repeat(64),
    };
    for (const name of Object.values(names)) mkdirSync(join(dir, name));
    const cache = new RootfsCache(undefined as unknown as DockerEngine, dir, silentLogger);
    assert.equal(cache.prune(new Set([`sha256:${'a'.repeat(64)}`])), 2);
    assert.deepEqual(
      Object.entries(names)
        .filter(([, name]) => existsSync(join(dir, name)))
        .map(([key]) => key),
      ['mine', 'live', 'kept'],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
