/**
 * The oci executor runs an image of an OCI image layout (FAAS_OCI_IMAGE_LAYOUT), named `oci:<ref>`:
 * a layout is made from the local image faas/busybox:latest with skopeo, and a sandbox of
 * `oci:busybox` runs a command. Copied in the Docker format (`--format v2s2`), the image keeps its
 * config, so its id is the Docker image id and it shares the Docker image's unpacked root
 * filesystem. Skips with one line where skopeo, runc, the default seccomp
 * profile, the guest agent or the Docker image store is missing.
 */

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { DEFAULT_AGENT_PATH, FaasError, REPO_ROOT } from '@faas/common';
import { execRequest, OciExecutor } from '@faas/executor';
import { DOCKER_HOST } from '../support/docker.js';
import { ociUnavailableReason } from '../support/oci.js';

const run = promisify(execFile);
const RUNTIME = process.env.FAAS_OCI_RUNTIME ?? 'runc';
const IMAGE = 'faas/busybox:latest';
const agentPath = resolve(REPO_ROOT, DEFAULT_AGENT_PATH);
const cacheDir = resolve(REPO_ROOT, '.cache/oci-rootfs');
const temp = mkdtempSync(join(tmpdir(), 'faas-oci-layout-contract-'));
process.on('exit', () => rmSync(temp, { recursive: true, force: true }));

async function unavailableReason(): Promise<string | undefined> {
  try {
    await run('skopeo', ['--version']);
  } catch {
    return 'no skopeo, which makes the OCI image layout: install it with `apt-get install -y skopeo` (scripts/setup-host.sh does)';
  }
  return ociUnavailableReason(RUNTIME, agentPath);
}

const unavailable = await unavailableReason();
const limits = { memoryBytes: 128 << 20, cpus: 1, pids: 64, tmpBytes: 16 << 20, outputBytes: 4096 };

describe('oci executor: images of an OCI image layout', () => {
  it(`${RUNTIME}: runs oci:busybox copied from ${IMAGE} with skopeo, unpacked by config digest; a Docker-format copy shares the Docker image's entry`, async (t) => {
    if (unavailable) {
      t.skip(unavailable);
      return;
    }
    const layout = join(temp, 'layout');
    try {
      await run('skopeo', ['copy', `docker-daemon:${IMAGE}`, `oci:${layout}:busybox`]);
      await run('skopeo', ['copy', '--format', 'v2s2', `docker-daemon:${IMAGE}`, `oci:${layout}:busybox-docker`]);
    } catch (err) {
      t.skip(`skopeo could not copy ${IMAGE} (build the runtime images: scripts/setup-host.sh): ${(err as Error).message.split('\n')[0]}`);
      return;
    }
    type Index = { manifests: { digest: string; annotations?: Record<string, string> }[] };
    const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as Index;
    const configOf = (ref: string) => {
      const digest = index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === ref)?.digest ?? '';
      const manifest = JSON.parse(readFileSync(join(layout, 'blobs', 'sha256', digest.slice('sha256:'.length)), 'utf8'));
      return (manifest as { config: { digest: string } }).config.digest;
    };
    const configDigest = configOf('busybox');
    const dockerId = (await run('docker', ['image', 'inspect', IMAGE, '--format', '{{.Id}}'])).stdout.trim();
    assert.equal(configOf('busybox-docker'), dockerId, 'skopeo --format v2s2 keeps the Docker config');

    // The OCI-format copy's entry is this test's own: removed at the end unless it was there before.
    const ownEntry = join(cacheDir, 'v2', configDigest.slice('sha256:'.length));
    const hadEntry = existsSync(ownEntry);
    const executor = new OciExecutor({
      runtimePath: RUNTIME,
      dockerHost: DOCKER_HOST,
      imagePull: 'never',
      agentPath,
      cacheDir,
      runRoot: join(temp, 'run'),
      imageLayout: layout,
    });
    await executor.init();
    const echo = async (image: string): Promise<void> => {
      const sandbox = await executor.acquire({ image, functionId: 'oci-layout', limits, oneShot: true });
      try {
        const facts = await executor.invoke(
          sandbox,
          execRequest(['busybox', 'echo', 'hi'], { invocationId: 'oci-layout', timeoutMs: 10_000, outputBytes: 4096 }),
        );
        assert.equal(facts.exitCode, 0, facts.stderr.toString());
        assert.equal(facts.stdout.toString(), 'hi\n', image);
      } finally {
        await executor.destroy(sandbox);
      }
    };
    try {
      await echo('oci:busybox');
      // The image id is the config digest: its root filesystem is that cache entry. skopeo's
      // default copy writes the Docker config as an OCI config, another digest than Docker's id.
      assert.ok(existsSync(ownEntry), `cache entry of ${configDigest}`);

      // The Docker-format copy is the Docker image's id: the entry the Docker image made is used as it is.
      await echo(IMAGE);
      const shared = join(cacheDir, 'v2', dockerId.slice('sha256:'.length));
      const before = statSync(shared);
      await echo('oci:busybox-docker');
      const afterwards = statSync(shared);
      assert.equal(afterwards.ino, before.ino, 'the layout image used the cache entry of the Docker image');
      assert.equal(afterwards.mtimeMs, before.mtimeMs);

      await assert.rejects(
        executor.acquire({ image: 'oci:absent', functionId: 'oci-layout', limits, oneShot: true }),
        (err: unknown) =>
          err instanceof FaasError &&
          err.code === 'FAAS_ERR_IMAGE_NOT_FOUND' &&
          err.message.includes('the OCI image layout (FAAS_OCI_IMAGE_LAYOUT)') &&
          !err.message.includes(layout) &&
          err.message.includes('oci:busybox'),
      );
    } finally {
      await executor.close();
      if (!hadEntry) rmSync(ownEntry, { recursive: true, force: true });
    }
  });
});
