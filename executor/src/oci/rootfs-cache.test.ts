import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { silentLogger } from '@faas/common';
import * as tar from 'tar';
import type { DockerEngine } from '../docker/engine.js';
import type { LayoutLayer } from './image-layout.js';
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

test('unpacks an image of an OCI layout from its layer blobs (gzip and plain tar, whiteouts), checking each digest first', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'faas-rootfs-layout-'));
  try {
    const layoutDir = join(dir, 'layout');
    mkdirSync(join(layoutDir, 'blobs', 'sha256'), { recursive: true });
    const layer = (name: string, gzip: boolean, files: Record<string, string>): LayoutLayer => {
      const src = join(dir, name);
      mkdirSync(src, { recursive: true });
      for (const [path, content] of Object.entries(files)) {
        mkdirSync(join(src, path, '..'), { recursive: true });
        writeFileSync(join(src, path), content);
      }
      const out = join(dir, `${name}.tar`);
      tar.c({ gzip, file: out, cwd: src, sync: true }, Object.keys(files));
      const bytes = readFileSync(out);
      const hex = createHash('sha256').update(bytes).digest('hex');
      writeFileSync(join(layoutDir, 'blobs', 'sha256', hex), bytes);
      return {
        path: join(layoutDir, 'blobs', 'sha256', hex),
        mediaType: gzip ? 'application/vnd.oci.image.layer.v1.tar+gzip' : 'application/vnd.oci.image.layer.v1.tar',
        digest: `sha256:${hex}`,
        size: bytes.length,
      };
    };
    const base = layer('base', true, { 'etc/os-release': 'NAME=test\n', 'etc/gone': 'x', 'bin/tool': 'v1' });
    const top = layer('top', false, { 'etc/.wh.gone': '', 'bin/tool': 'v2' });
    const cache = new RootfsCache(undefined as unknown as DockerEngine, join(dir, 'cache'), silentLogger);
    const id = `sha256:${'c'.repeat(64)}`;
    const rootfs = await cache.rootfs(id, { layoutDir, layers: [base, top] });
    assert.equal(rootfs, join(dir, 'cache', 'c'.repeat(64)));
    assert.equal(readFileSync(join(rootfs, 'etc/os-release'), 'utf8'), 'NAME=test\n');
    assert.equal(readFileSync(join(rootfs, 'bin/tool'), 'utf8'), 'v2');
    assert.equal(existsSync(join(rootfs, 'etc/gone')), false);
    assert.equal(existsSync(join(rootfs, 'etc/.wh.gone')), false);
    assert.equal(statSync(join(rootfs, 'tmp')).mode & 0o7777, 0o1777);

    // A layer that does not match its digest is never applied, and nothing is left in the cache.
    const bad = layer('bad', true, { 'etc/x': 'x' });
    writeFileSync(bad.path, Buffer.concat([readFileSync(bad.path), Buffer.from('!')]));
    await assert.rejects(
      cache.rootfs(`sha256:${'d'.repeat(64)}`, { layoutDir, layers: [base, bad] }),
      /FAAS_OCI_IMAGE_LAYOUT\) has a blob sha256:[a-f0-9]{64} of \d+ bytes where its descriptor says \d+: refused/,
    );
    assert.equal(existsSync(join(dir, 'cache', 'd'.repeat(64))), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
