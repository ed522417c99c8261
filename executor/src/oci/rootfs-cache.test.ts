import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { FaasError, silentLogger } from '@faas/common';
import * as tar from 'tar';
import type { DockerEngine } from '../docker/engine.js';
import type { LayoutLayer } from './image-layout.js';
import { CACHE_VERSION, cacheTempName, RootfsCache, readSource } from './rootfs-cache.js';

const noEngine = undefined as unknown as DockerEngine;

/** A layout folder with blobs/sha256, and a maker of layer blobs in it (files with optional modes). */
function layoutMaker(dir: string, name = 'layout') {
  const layoutDir = join(dir, name);
  mkdirSync(join(layoutDir, 'blobs', 'sha256'), { recursive: true });
  let n = 0;
  const put = (bytes: Buffer, mediaType: string): LayoutLayer => {
    const hex = createHash('sha256').update(bytes).digest('hex');
    writeFileSync(join(layoutDir, 'blobs', 'sha256', hex), bytes);
    return { path: join(layoutDir, 'blobs', 'sha256', hex), mediaType, digest: `sha256:${hex}`, size: bytes.length };
  };
  const layer = (gzip: boolean, files: Record<string, string | { content: string; mode: number }>): LayoutLayer => {
    const src = join(dir, `src-${name}-${n++}`);
    mkdirSync(src, { recursive: true });
    for (const [path, spec] of Object.entries(files)) {
      mkdirSync(join(src, path, '..'), { recursive: true });
      writeFileSync(join(src, path), typeof spec === 'string' ? spec : spec.content);
      if (typeof spec !== 'string') chmodSync(join(src, path), spec.mode);
    }
    const out = `${src}.tar`;
    tar.c({ gzip, file: out, cwd: src, sync: true }, Object.keys(files));
    return put(readFileSync(out), gzip ? 'application/vnd.oci.image.layer.v1.tar+gzip' : 'application/vnd.oci.image.layer.v1.tar');
  };
  return { layoutDir, layer, put };
}

function unprocessable(pattern: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof FaasError, String(err));
    assert.equal(err.code, 'FAAS_ERR_IMAGE_NOT_FOUND', err.message);
    assert.match(err.message, pattern);
    return true;
  };
}

test('removeStale and prune remove unfinished work of dead processes only, entries of the first cache format, and images no longer wanted', () => {
  const dir = mkdtempSync(join(tmpdir(), 'faas-rootfs-cache-'));
  try {
    const dead = spawnSync('true').pid;
    const v2 = join(dir, CACHE_VERSION);
    const names = {
      mine: cacheTempName('abc'),
      live: '.tmp-1-unpacking', // pid 1: another live process sharing the cache
      dead: `.tmp-${dead}-abandoned`,
      oldFormat: 'a'.repeat(64), // the first format, with set-uid files: wanted or not, never used again
      other: 'not-an-entry',
      v2mine: `${CACHE_VERSION}/${cacheTempName('def')}`,
      v2live: `${CACHE_VERSION}/.tmp-1-unpacking`,
      v2dead: `${CACHE_VERSION}/.tmp-${dead}-abandoned`,
      kept: `${CACHE_VERSION}/${'a'.repeat(64)}`,
      gone: `${CACHE_VERSION}/${'b'.repeat(64)}`,
    };
    for (const name of Object.values(names)) mkdirSync(join(dir, name), { recursive: true });
    writeFileSync(join(v2, `${'c'.repeat(64)}.source.json`), '{"from":"docker"}'); // its entry is gone
    const cache = new RootfsCache(noEngine, dir, silentLogger);
    assert.equal(cache.removeStale() + cache.prune({ docker: new Set([`sha256:${'a'.repeat(64)}`]) }), 4);
    assert.deepEqual(
      Object.entries(names)
        .filter(([, name]) => existsSync(join(dir, name)))
        .map(([key]) => key),
      ['mine', 'live', 'other', 'v2mine', 'v2live', 'kept'],
    );
    assert.equal(existsSync(join(v2, `${'c'.repeat(64)}.source.json`)), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('removeStale removes entries of the first cache format and dead unpacks without any list of images', () => {
  const dir = mkdtempSync(join(tmpdir(), 'faas-rootfs-stale-'));
  try {
    const dead = spawnSync('true').pid;
    for (const name of ['a'.repeat(64), `.tmp-${dead}-x`, '.tmp-1-live', 'keep-me', CACHE_VERSION]) mkdirSync(join(dir, name));
    mkdirSync(join(dir, CACHE_VERSION, 'b'.repeat(64)));
    const cache = new RootfsCache(noEngine, dir, silentLogger);
    assert.equal(cache.removeStale(), 2);
    assert.deepEqual(readdirSync(dir).sort(), ['.tmp-1-live', 'keep-me', CACHE_VERSION].sort());
    assert.deepEqual(readdirSync(join(dir, CACHE_VERSION)), ['b'.repeat(64)]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("prune keeps entries of another platform's existing layout, and removes its own layout's and a vanished layout's", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'faas-rootfs-prune-'));
  try {
    const mine = layoutMaker(dir, 'mine');
    const theirs = layoutMaker(dir, 'theirs');
    const vanished = layoutMaker(dir, 'vanished');
    const cache = new RootfsCache(noEngine, join(dir, 'cache'), silentLogger);
    const id = (c: string) => `sha256:${c.repeat(64)}`;
    const entries = {
      mineKept: await cache.rootfs(id('1'), { layoutDir: mine.layoutDir, layers: [mine.layer(true, { a: '1' })] }),
      mineGone: await cache.rootfs(id('2'), { layoutDir: mine.layoutDir, layers: [mine.layer(true, { a: '2' })] }),
      theirs: await cache.rootfs(id('3'), { layoutDir: theirs.layoutDir, layers: [theirs.layer(true, { a: '3' })] }),
      vanished: await cache.rootfs(id('4'), { layoutDir: vanished.layoutDir, layers: [vanished.layer(true, { a: '4' })] }),
    };
    assert.deepEqual(readSource(entries.theirs), { from: 'layout', layout: theirs.layoutDir });
    assert.deepEqual(JSON.parse(readFileSync(`${entries.mineKept}.source.json`, 'utf8')), { from: 'layout', layout: mine.layoutDir });
    // Entries without a source file are the Docker store's (the old behaviour).
    const v2 = join(dir, 'cache', CACHE_VERSION);
    mkdirSync(join(v2, '5'.repeat(64)));
    mkdirSync(join(v2, '6'.repeat(64)));
    rmSync(vanished.layoutDir, { recursive: true });
    const removed = cache.prune({ docker: new Set([id('5')]), layout: { dir: mine.layoutDir, ids: new Set([id('1')]) }, recentMs: 0 });
    assert.equal(removed, 3);
    assert.deepEqual(readdirSync(v2).sort(), [
      '1'.repeat(64),
      `${'1'.repeat(64)}.source.json`,
      '3'.repeat(64),
      `${'3'.repeat(64)}.source.json`,
      '5'.repeat(64),
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('prune while running keeps what a sandbox uses and what was just handed out, whatever the image store says', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'faas-rootfs-inuse-'));
  try {
    const layout = layoutMaker(dir);
    const cache = new RootfsCache(noEngine, join(dir, 'cache'), silentLogger);
    const id = (c: string) => `sha256:${c.repeat(64)}`;
    const used = await cache.rootfs(id('1'), { layoutDir: layout.layoutDir, layers: [layout.layer(true, { a: '1' })] });
    const fresh = await cache.rootfs(id('2'), { layoutDir: layout.layoutDir, layers: [layout.layer(true, { a: '2' })] });
    const idle = await cache.rootfs(id('3'), { layoutDir: layout.layoutDir, layers: [layout.layer(true, { a: '3' })] });
    // None is wanted any more (the layout holds none of them); the first is a live bundle's root.
    const nothingWanted = { docker: new Set<string>(), layout: { dir: layout.layoutDir, ids: new Set<string>() } };
    assert.equal(cache.prune(nothingWanted), 0, 'all three were handed out just now');
    assert.equal(cache.prune({ ...nothingWanted, inUse: new Set([used]), recentMs: 0 }), 2);
    assert.ok(existsSync(used));
    assert.ok(!existsSync(fresh) && !existsSync(idle));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('unpacks an image of an OCI layout from its layer blobs (gzip and plain tar, whiteouts), checking each digest first', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'faas-rootfs-layout-'));
  try {
    const { layoutDir, layer } = layoutMaker(dir);
    const base = layer(true, { 'etc/os-release': 'NAME=test\n', 'etc/gone': 'x', 'bin/tool': 'v1' });
    const top = layer(false, { 'etc/.wh.gone': '', 'bin/tool': 'v2' });
    const cache = new RootfsCache(noEngine, join(dir, 'cache'), silentLogger);
    const id = `sha256:${'c'.repeat(64)}`;
    const rootfs = await cache.rootfs(id, { layoutDir, layers: [base, top] });
    assert.equal(rootfs, join(dir, 'cache', CACHE_VERSION, 'c'.repeat(64)));
    assert.equal(readFileSync(join(rootfs, 'etc/os-release'), 'utf8'), 'NAME=test\n');
    assert.equal(readFileSync(join(rootfs, 'bin/tool'), 'utf8'), 'v2');
    assert.equal(existsSync(join(rootfs, 'etc/gone')), false);
    assert.equal(existsSync(join(rootfs, 'etc/.wh.gone')), false);
    assert.equal(statSync(join(rootfs, 'tmp')).mode & 0o7777, 0o1777);
    // The userns design: the entries folder is searchable by others, each entry readable.
    assert.equal(statSync(join(dir, 'cache', CACHE_VERSION)).mode & 0o7777, 0o711);
    assert.equal(statSync(rootfs).mode & 0o7777, 0o755);
    // Nothing of the work (the private layer copies) is left behind.
    assert.deepEqual(readdirSync(join(dir, 'cache', CACHE_VERSION)).sort(), ['c'.repeat(64), `${'c'.repeat(64)}.source.json`]);

    // A layer that does not match its digest is never applied, and nothing is left in the cache.
    const bad = layer(true, { 'etc/x': 'x' });
    writeFileSync(bad.path, Buffer.concat([readFileSync(bad.path), Buffer.from('!')]));
    await assert.rejects(
      cache.rootfs(`sha256:${'d'.repeat(64)}`, { layoutDir, layers: [base, bad] }),
      /FAAS_OCI_IMAGE_LAYOUT\) has a blob sha256:[a-f0-9]{64} of \d+ bytes where its descriptor says \d+: refused/,
    );
    assert.equal(existsSync(join(dir, 'cache', CACHE_VERSION, 'd'.repeat(64))), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('clears set-uid and set-gid bits: a 4755 root-owned file and a 2755 file unpack as 0755', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'faas-rootfs-setid-'));
  try {
    const { layoutDir, layer } = layoutMaker(dir);
    const setid = layer(true, {
      'bin/su': { content: '#!/bin/sh\n', mode: 0o4755 },
      'bin/wall': { content: '#!/bin/sh\n', mode: 0o2755 },
      'bin/both': { content: '#!/bin/sh\n', mode: 0o6755 },
      'bin/plain': { content: 'x', mode: 0o644 },
    });
    const rootfs = await new RootfsCache(noEngine, join(dir, 'cache'), silentLogger).rootfs(`sha256:${'e'.repeat(64)}`, {
      layoutDir,
      layers: [setid],
    });
    for (const file of ['bin/su', 'bin/wall', 'bin/both']) {
      const stat = statSync(join(rootfs, file));
      assert.equal((stat.mode & 0o7777).toString(8), '755', file);
    }
    assert.equal(statSync(join(rootfs, 'bin/plain')).mode & 0o7777, 0o644);
    if (process.getuid?.() === 0) assert.equal(statSync(join(rootfs, 'bin/su')).uid, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("keeps the image's modes whatever the umask: a 1777 folder, a 0555 folder, a 0666 file (set-id bits still cleared)", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'faas-rootfs-modes-'));
  try {
    const { layoutDir, put } = layoutMaker(dir);
    const src = join(dir, 'src-modes');
    mkdirSync(join(src, 'var', 'tmp'), { recursive: true });
    mkdirSync(join(src, 'opt', 'ro'), { recursive: true });
    writeFileSync(join(src, 'var', 'tmp', '.keep'), '');
    writeFileSync(join(src, 'opt', 'ro', 'shared'), 'x');
    chmodSync(join(src, 'opt', 'ro', 'shared'), 0o666);
    chmodSync(join(src, 'opt', 'ro'), 0o555);
    chmodSync(join(src, 'var', 'tmp'), 0o3777);
    tar.c({ file: `${src}.tar`, cwd: src, sync: true }, ['var', 'opt']);
    chmodSync(join(src, 'opt', 'ro'), 0o755);
    const layer = put(readFileSync(`${src}.tar`), 'application/vnd.oci.image.layer.v1.tar');
    const rootfs = await new RootfsCache(noEngine, join(dir, 'cache'), silentLogger).rootfs(`sha256:${'f'.repeat(64)}`, {
      layoutDir,
      layers: [layer],
    });
    const mode = (path: string) => (statSync(join(rootfs, path)).mode & 0o7777).toString(8);
    assert.equal(mode('var/tmp'), '1777');
    assert.equal(mode('opt/ro'), '555');
    assert.equal(mode('opt/ro/shared'), '666');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('refuses whiteouts naming their own folder or one above (.wh., .wh.., .wh...), leaving the tree untouched', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'faas-rootfs-whiteout-'));
  try {
    const { layoutDir, layer } = layoutMaker(dir);
    const base = layer(true, { 'etc/keep': 'x', 'usr/lib/x': 'y' });
    const cache = new RootfsCache(noEngine, join(dir, 'cache'), silentLogger);
    let n = 0;
    for (const name of ['usr/lib/.wh..', 'usr/.wh...', '.wh.', '.wh..', 'usr/lib/.wh.']) {
      const bad = layer(false, { [name]: '' });
      await assert.rejects(
        cache.rootfs(`sha256:${String(n++).repeat(64)}`, { layoutDir, layers: [base, bad] }),
        unprocessable(
          new RegExp(`has a layer ${bad.digest} that cannot be unpacked: it has a whiteout ".*" that names no file of its folder`),
        ),
        name,
      );
    }
    assert.deepEqual(readdirSync(join(dir, 'cache', CACHE_VERSION)), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a layout layer that is not a tar, or expands more than 1000x, is a 422 naming the layer', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'faas-rootfs-badtar-'));
  try {
    const { layoutDir, put } = layoutMaker(dir);
    const cache = new RootfsCache(noEngine, join(dir, 'cache'), silentLogger);
    const junk = put(Buffer.alloc(4096, 'not a tar at all. '), 'application/vnd.oci.image.layer.v1.tar');
    await assert.rejects(
      cache.rootfs(`sha256:${'7'.repeat(64)}`, { layoutDir, layers: [junk] }),
      unprocessable(new RegExp(`has a layer ${junk.digest} that is not a tar archive`)),
    );
    // A tar of 32 MiB of zeros gzips more than 1000 to 1.
    const src = join(dir, 'bomb');
    mkdirSync(src);
    writeFileSync(join(src, 'zeros'), Buffer.alloc(32 << 20));
    tar.c({ file: `${src}.tar`, cwd: src, sync: true }, ['zeros']);
    const bomb = put(gzipSync(readFileSync(`${src}.tar`), { level: 9 }), 'application/vnd.oci.image.layer.v1.tar+gzip');
    await assert.rejects(
      cache.rootfs(`sha256:${'8'.repeat(64)}`, { layoutDir, layers: [bomb] }),
      unprocessable(new RegExp(`has a layer ${bomb.digest} that expands more than 1000x`)),
    );
    assert.deepEqual(readdirSync(join(dir, 'cache', CACHE_VERSION)), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
