/**
 * The microVM rootfs cache (FAAS_ROOTFS_DIR, default .cache/rootfs) records no absolute path: a
 * sidecar names its image relative to its own folder, so a copied or moved cache (or checkout)
 * resolves to its own files, never to those of the folder that built it (issue 14).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DEFAULT_AGENT_PATH } from '@faas/common';
import { BUILDER_VERSION, ensureRootfs, readCachedRootfs } from '@faas/executor';
import { BUSYBOX } from '../support/images.js';
import { REPO_ROOT } from '../support/paths.js';

const KEY = 'ab'.repeat(32);
const AGENT_SHA = 'cd'.repeat(32);

function scratch(): string {
  return mkdtempSync(join(tmpdir(), 'faas-rootfs-cache-'));
}

/** A cache folder with one image of `bytes` bytes and its sidecar (`sidecar` overrides fields). */
function fakeCache(dir: string, sidecar: Record<string, unknown> = {}, bytes = 4096): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${KEY}.ext4`), Buffer.alloc(bytes, 1));
  const info = {
    file: `${KEY}.ext4`,
    imageId: `sha256:${KEY}`,
    env: ['PATH=/bin'],
    workingDir: undefined,
    agentSha256: AGENT_SHA,
    builderVersion: BUILDER_VERSION,
    bytes,
    ...sidecar,
  };
  writeFileSync(join(dir, `${KEY}.json`), `${JSON.stringify(info)}\n`);
}

describe('rootfs cache', () => {
  it('a copied cache folder resolves inside the new folder, even while the original still exists', async () => {
    const root = scratch();
    try {
      const original = join(root, 'checkout-a/.cache/rootfs');
      const copy = join(root, 'checkout-b/.cache/rootfs');
      fakeCache(original);
      cpSync(original, copy, { recursive: true });
      const info = await readCachedRootfs(copy, KEY, AGENT_SHA);
      assert.ok(info, 'the copy is a valid cache');
      assert.equal(info.path, join(copy, `${KEY}.ext4`));
      assert.ok(
        !JSON.stringify(JSON.parse(readFileSync(join(copy, `${KEY}.json`), 'utf8'))).includes(root),
        'the sidecar records no absolute path',
      );
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('a sidecar written by older code (absolute path) is not followed to the original checkout', async () => {
    const root = scratch();
    try {
      const original = join(root, 'a');
      const moved = join(root, 'b');
      fakeCache(original, { file: undefined, path: join(original, `${KEY}.ext4`) });
      cpSync(original, moved, { recursive: true });
      const info = await readCachedRootfs(moved, KEY, AGENT_SHA);
      assert.equal(info?.path, join(moved, `${KEY}.ext4`));
      // The image missing from the moved folder: a rebuild, never the original's file.
      rmSync(join(moved, `${KEY}.ext4`));
      assert.equal(await readCachedRootfs(moved, KEY, AGENT_SHA), undefined);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('verifies what it finds: size, image id, agent, builder version, and a file name that stays in the folder', async () => {
    const root = scratch();
    try {
      const dir = join(root, 'c');
      fakeCache(dir);
      assert.ok(await readCachedRootfs(dir, KEY, AGENT_SHA));
      assert.equal(await readCachedRootfs(dir, KEY, 'ef'.repeat(32)), undefined, 'another agent');
      fakeCache(dir, { bytes: 8192 });
      assert.equal(await readCachedRootfs(dir, KEY, AGENT_SHA), undefined, 'a truncated or replaced image');
      fakeCache(dir, { imageId: `sha256:${'12'.repeat(32)}` });
      assert.equal(await readCachedRootfs(dir, KEY, AGENT_SHA), undefined, 'a sidecar of another image');
      fakeCache(dir, { builderVersion: BUILDER_VERSION + 1 });
      assert.equal(await readCachedRootfs(dir, KEY, AGENT_SHA), undefined, 'another builder version');
      writeFileSync(join(root, 'outside.ext4'), Buffer.alloc(4096));
      fakeCache(dir, { file: '../outside.ext4' });
      assert.equal(await readCachedRootfs(dir, KEY, AGENT_SHA), undefined, 'a file name that leaves the folder');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('a real image built into one folder, then moved, is used from its new folder without a rebuild', async (t) => {
    const agentPath = join(REPO_ROOT, DEFAULT_AGENT_PATH);
    const missing = [
      existsSync(agentPath) ? undefined : 'the guest agent (bash guest-agent/build.sh)',
      spawnSync('mkfs.ext4', ['-V'], { stdio: 'ignore' }).status === 0 ? undefined : 'mkfs.ext4 (apt-get install e2fsprogs)',
      spawnSync('docker', ['image', 'inspect', BUSYBOX], { stdio: 'ignore' }).status === 0
        ? undefined
        : `${BUSYBOX} (tools/images/build-images.sh)`,
    ].filter(Boolean);
    if (missing.length > 0) {
      t.skip(`needs ${missing.join(', ')}`);
      return;
    }
    const root = scratch();
    try {
      const first = join(root, 'first');
      const built = await ensureRootfs({ image: BUSYBOX, rootfsDir: first, agentPath, force: true });
      assert.equal(built.path.startsWith(`${first}/`), true);
      const second = join(root, 'second');
      cpSync(first, second, { recursive: true });
      rmSync(first, { recursive: true, force: true });
      const progress: string[] = [];
      const found = await ensureRootfs({ image: BUSYBOX, rootfsDir: second, agentPath, onProgress: (m) => progress.push(m) });
      assert.equal(found.path, join(second, `${built.imageId.replace(/^sha256:/, '')}.ext4`));
      assert.deepEqual(progress, [], 'no rebuild');
      assert.ok(existsSync(found.path));
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
