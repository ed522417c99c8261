import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { FaasError, type Logger, silentLogger } from '@faas/common';
import * as tar from 'tar';
import type { DockerEngine } from '../docker/engine.js';
import { ImageResolver } from '../docker/images.js';
import { layoutImage, MAX_INDEX_BYTES, MAX_JSON_BYTES, OciImageLayout, refuseLayoutImage, verifyBlob } from './image-layout.js';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
const GZIP_LAYER = 'application/vnd.oci.image.layer.v1.tar+gzip';

const temp = mkdtempSync(join(tmpdir(), 'faas-oci-layout-'));
after(() => rmSync(temp, { recursive: true, force: true }));

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: { os: string; architecture: string; variant?: string };
}

/** A fresh layout folder: oci-layout, an empty blobs/sha256 and (written by `index`) index.json. */
function newLayout(): string {
  const dir = mkdtempSync(join(temp, 'layout-'));
  writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true });
  return dir;
}

function blob(dir: string, mediaType: string, data: Buffer | string | object): Descriptor {
  const bytes = Buffer.isBuffer(data) ? data : Buffer.from(typeof data === 'string' ? data : JSON.stringify(data));
  const hex = createHash('sha256').update(bytes).digest('hex');
  writeFileSync(join(dir, 'blobs', 'sha256', hex), bytes);
  return { mediaType, digest: `sha256:${hex}`, size: bytes.length };
}

function index(dir: string, manifests: Descriptor[]): void {
  writeFileSync(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests }));
}

/** A gzip layer tar holding these files, and its diff id (the sha256 of the uncompressed tar). */
function gzipLayer(files: Record<string, string>): { gz: Buffer; diffId: string } {
  const src = mkdtempSync(join(temp, 'layer-'));
  for (const [name, content] of Object.entries(files)) writeFileSync(join(src, name), content);
  const out = join(src, '..', `${src.split('/').pop()}.tar`);
  tar.c({ file: out, cwd: src, sync: true, portable: true }, Object.keys(files));
  const plain = readFileSync(out);
  return { gz: gzipSync(plain), diffId: `sha256:${createHash('sha256').update(plain).digest('hex')}` };
}

/** An image manifest with one gzip layer and a config naming `env` and `workingDir`; returns its descriptor. */
function image(
  dir: string,
  opts: { env?: unknown[]; workingDir?: string; layerType?: string; files?: Record<string, string>; diffIds?: string[] } = {},
): { manifest: Descriptor; config: Descriptor; layer: Descriptor } {
  const { gz, diffId } = gzipLayer(opts.files ?? { hello: 'hi\n' });
  const config = blob(dir, OCI_CONFIG, {
    architecture: 'amd64',
    os: 'linux',
    config: { Env: opts.env ?? ['PATH=/bin'], ...(opts.workingDir !== undefined ? { WorkingDir: opts.workingDir } : {}) },
    rootfs: { type: 'layers', diff_ids: opts.diffIds ?? [diffId] },
  });
  const layer = blob(dir, opts.layerType ?? GZIP_LAYER, gz);
  const manifest = blob(dir, OCI_MANIFEST, { schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers: [layer] });
  return { manifest, config, layer };
}

const named = (d: Descriptor, ref: string, more: Record<string, string> = {}): Descriptor => ({
  ...d,
  annotations: { 'org.opencontainers.image.ref.name': ref, ...more },
});

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function refused(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof FaasError, String(err));
    assert.equal(err.code, 'FAAS_ERR_IMAGE_NOT_FOUND');
    assert.match(err.message, pattern);
    return true;
  });
}

describe('OCI image layout', () => {
  it('finds an image by its ref name or containerd name: id is the config digest, env, working dir and layers', async () => {
    const dir = newLayout();
    const { manifest, config, layer } = image(dir, { env: ['PATH=/usr/bin', 'A=1'], workingDir: '/app' });
    index(dir, [named(manifest, 'busybox', { 'io.containerd.image.name': 'docker.io/library/busybox:latest' })]);
    const layout = new OciImageLayout(dir);
    assert.deepEqual(layout.refs(), ['busybox', 'docker.io/library/busybox:latest']);
    const found = layout.resolve('busybox');
    assert.equal(found.id, config.digest);
    assert.deepEqual(found.env, ['PATH=/usr/bin', 'A=1']);
    assert.equal(found.workingDir, '/app');
    assert.deepEqual(found.layers, [
      {
        path: join(dir, 'blobs', 'sha256', layer.digest.slice(7)),
        mediaType: GZIP_LAYER,
        digest: layer.digest,
        size: layer.size,
        diffId: found.layers[0]?.diffId,
      },
    ]);
    assert.match(found.layers[0]?.diffId ?? '', /^sha256:[a-f0-9]{64}$/);
    assert.equal(layout.resolve('docker.io/library/busybox:latest').id, config.digest);
    assert.deepEqual(await layoutImage(layout, 'oci:busybox'), found);
    assert.deepEqual(layout.ids(), new Set([config.digest]));
    await verifyBlob(dir, found.layers[0] as (typeof found.layers)[0]);
  });

  it('names the layout and the refs it holds when a ref is missing, and says how to configure one when none is', async () => {
    const dir = newLayout();
    index(dir, [named(image(dir).manifest, 'one'), named(image(dir, { env: ['B=2'] }).manifest, 'two')]);
    refused(
      () => new OciImageLayout(dir).resolve('three'),
      /"oci:three" is not in the OCI image layout \(FAAS_OCI_IMAGE_LAYOUT\), which holds oci:one, oci:two: .*oci:\$FAAS_OCI_IMAGE_LAYOUT:three/,
    );
    await assert.rejects(layoutImage(undefined, 'oci:one'), /no layout is configured: set FAAS_OCI_IMAGE_LAYOUT/);
  });

  it('picks the manifest for the host platform from a nested image index, skipping attestations', () => {
    const dir = newLayout();
    const amd = image(dir, { env: ['ARCH=amd64'] });
    const arm = image(dir, { env: ['ARCH=arm64'] });
    const attestation = image(dir, { env: ['ATTESTATION=1'] });
    const nested = blob(dir, OCI_INDEX, {
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [
        { ...attestation.manifest, platform: { os: 'unknown', architecture: 'unknown' } },
        { ...arm.manifest, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
        { ...amd.manifest, platform: { os: 'linux', architecture: 'amd64' } },
      ],
    });
    index(dir, [named(nested, 'multi')]);
    assert.deepEqual(new OciImageLayout(dir, 'amd64').resolve('multi').env, ['ARCH=amd64']);
    assert.deepEqual(new OciImageLayout(dir, 'arm64').resolve('multi').env, ['ARCH=arm64']);
    refused(
      () => new OciImageLayout(dir, 's390x').resolve('multi'),
      /no manifest for this host's platform linux\/s390x \(it has linux\/arm64\/v8, linux\/amd64\)/,
    );
    // The host's own architecture is the default.
    const host = process.arch === 'x64' ? 'amd64' : process.arch;
    if (host === 'amd64' || host === 'arm64') assert.deepEqual(new OciImageLayout(dir).resolve('multi').env, [`ARCH=${host}`]);
  });

  it('refuses a manifest or config whose content or size does not match its digest, and a layer the same way', async () => {
    const dir = newLayout();
    const { manifest, config, layer } = image(dir);
    index(dir, [named(manifest, 'img')]);
    const layers = new OciImageLayout(dir).resolve('img').layers;
    // Same size, other content.
    const configPath = join(dir, 'blobs', 'sha256', config.digest.slice(7));
    const original = readFileSync(configPath);
    writeFileSync(configPath, Buffer.from(original.toString('utf8').replace('amd64', 'AMD64')));
    refused(
      () => new OciImageLayout(dir).resolve('img'),
      new RegExp(`blob ${config.digest} whose content has sha256 [a-f0-9]{64}: refused`),
    );
    writeFileSync(configPath, Buffer.concat([original, Buffer.from(' ')]));
    refused(
      () => new OciImageLayout(dir).resolve('img'),
      new RegExp(`blob ${config.digest} of ${config.size + 1} bytes where its descriptor says ${config.size}`),
    );
    const layerPath = join(dir, 'blobs', 'sha256', layer.digest.slice(7));
    const bytes = readFileSync(layerPath);
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 1) ^ 0xff, bytes.length - 1);
    writeFileSync(layerPath, bytes);
    await assert.rejects(verifyBlob(dir, layers[0] as (typeof layers)[0]), new RegExp(`blob ${layer.digest} whose content has sha256`));
  });

  it("refuses layers that are not the config's: a diff id count that differs, or content that does not match its diff id", async () => {
    const dir = newLayout();
    const wrong = `sha256:${'e'.repeat(64)}`;
    index(dir, [named(image(dir, { diffIds: [] }).manifest, 'none'), named(image(dir, { diffIds: [wrong] }).manifest, 'other')]);
    const layout = new OciImageLayout(dir);
    refused(() => layout.resolve('none'), /does not name one sha256 diff id per layer of its manifest \(1\): refused/);
    const [layer] = layout.resolve('other').layers;
    await assert.rejects(
      verifyBlob(dir, layer as NonNullable<typeof layer>),
      new RegExp(`uncompressed content has sha256 [a-f0-9]{64}, where the image config names ${wrong}: refused`),
    );
  });

  it('refuses zstd layers and other layer types, naming the type', () => {
    const dir = newLayout();
    index(dir, [
      named(image(dir, { layerType: 'application/vnd.oci.image.layer.v1.tar+zstd' }).manifest, 'zstd'),
      named(image(dir, { layerType: 'application/vnd.example.layer' }).manifest, 'odd'),
      named(image(dir, { layerType: 'application/vnd.docker.image.rootfs.diff.tar.gzip' }).manifest, 'docker'),
    ]);
    const layout = new OciImageLayout(dir);
    refused(
      () => layout.resolve('zstd'),
      /media type "application\/vnd\.oci\.image\.layer\.v1\.tar\+zstd".*zstd: Node 20's zlib has no zstd/,
    );
    refused(() => layout.resolve('odd'), /media type "application\/vnd\.example\.layer", which the oci executor cannot unpack/);
    assert.equal(layout.resolve('docker').layers[0]?.mediaType, 'application/vnd.docker.image.rootfs.diff.tar.gzip');
  });

  it('never reads a path out of the layout folder: digests are sha256 hex only, and blob symlinks leading out are refused', () => {
    const dir = newLayout();
    const { manifest, config } = image(dir);
    const escaping = blob(dir, OCI_MANIFEST, {
      schemaVersion: 2,
      config: { ...config, digest: 'sha256:../../../../etc/passwd' },
      layers: [],
    });
    const outside = join(temp, 'outside.json');
    writeFileSync(outside, '{}');
    const hex = createHash('sha256').update('{}').digest('hex');
    symlinkSync(outside, join(dir, 'blobs', 'sha256', hex));
    index(dir, [
      named(escaping, 'escape'),
      named({ mediaType: OCI_MANIFEST, digest: `sha256:${hex}`, size: 2 }, 'link'),
      named(manifest, 'ok'),
    ]);
    const layout = new OciImageLayout(dir);
    refused(() => layout.resolve('escape'), /digest is not sha256:<64 hex digits>: refused/);
    refused(() => layout.resolve('link'), new RegExp(`has the blob sha256:${hex} leading out of the layout folder: refused`));
    for (const ref of ['escape', 'link']) {
      assert.throws(
        () => layout.resolve(ref),
        (err: unknown) => !(err as Error).message.includes(temp),
      );
    }
    assert.equal(layout.resolve('ok').id, config.digest);
  });

  it('reads index.json again when it changes, so a re-copied image is picked up', () => {
    const dir = newLayout();
    const first = image(dir, { env: ['V=1'] });
    index(dir, [named(first.manifest, 'app')]);
    const layout = new OciImageLayout(dir);
    assert.deepEqual(layout.resolve('app').env, ['V=1']);
    const second = image(dir, { env: ['V=2'] });
    index(dir, [named(second.manifest, 'app')]);
    const later = new Date(Date.now() + 5000);
    utimesSync(join(dir, 'index.json'), later, later);
    assert.deepEqual(layout.resolve('app').env, ['V=2']);
    assert.equal(layout.resolve('app').id, second.config.digest);
  });

  it('other executors refuse oci:<ref> images with a 4xx that names the oci executor, before asking the engine', async () => {
    refused(() => refuseLayoutImage('oci:busybox'), /images from an OCI layout run on the oci executor only/);
    refuseLayoutImage('faas/busybox:latest');
    const engine = {
      request: () => {
        throw new Error('the engine was asked');
      },
    } as unknown as DockerEngine;
    const images = new ImageResolver(engine, 'never', silentLogger);
    for (const call of [() => images.config('oci:busybox'), () => images.ensure('oci:busybox')]) {
      await assert.rejects(call(), (err: unknown) => {
        assert.ok(err instanceof FaasError && err.code === 'FAAS_ERR_IMAGE_NOT_FOUND', String(err));
        assert.match(err.message, /oci executor only/);
        return true;
      });
    }
  });
  it('works out ids() once per version of index.json (the executor asks every minute), and again after a change', () => {
    const dir = newLayout();
    const first = image(dir);
    // Refs that cannot resolve here (another platform) are the costly ones: nothing caches them.
    const elsewhere = { ...first.manifest, platform: { os: 'linux', architecture: 'riscv64' } };
    index(dir, [named(first.manifest, 'app'), ...Array.from({ length: 50 }, (_, i) => named(elsewhere, `other-${i}`))]);
    const layout = new OciImageLayout(dir);
    let resolves = 0;
    const resolve = layout.resolve.bind(layout);
    layout.resolve = (ref: string) => {
      resolves++;
      return resolve(ref);
    };
    assert.deepEqual([...layout.ids()], [first.config.digest]);
    assert.equal(resolves, 51);
    assert.deepEqual([...layout.ids()], [first.config.digest]);
    assert.equal(resolves, 51, 'the second call resolved nothing');
    const second = image(dir, { env: ['V=2'] });
    index(dir, [named(second.manifest, 'app')]);
    const later = new Date(Date.now() + 5000);
    utimesSync(join(dir, 'index.json'), later, later);
    assert.deepEqual([...layout.ids()], [second.config.digest]);
    assert.equal(resolves, 52);
  });

  it('lists at most 20 refs of a layout that lacks the ref, and never its host path', () => {
    const dir = newLayout();
    const { manifest } = image(dir);
    index(
      dir,
      Array.from({ length: 25 }, (_, i) => named(manifest, `ref-${String(i).padStart(2, '0')}`)),
    );
    assert.throws(
      () => new OciImageLayout(dir).resolve('absent'),
      (err: unknown) => {
        assert.ok(err instanceof FaasError && err.code === 'FAAS_ERR_IMAGE_NOT_FOUND');
        assert.match(err.message, /which holds oci:ref-00, oci:ref-01, .*oci:ref-19, and 5 more: /);
        assert.doesNotMatch(err.message, /ref-20/);
        assert.ok(!err.message.includes(dir), err.message);
        return true;
      },
    );
  });

  it('refuses a FIFO or a folder as a blob or as index.json at once, without reading it', () => {
    const dir = newLayout();
    const { manifest } = image(dir);
    const fifo = createHash('sha256').update('fifo').digest('hex');
    assert.equal(spawnSync('mkfifo', [join(dir, 'blobs', 'sha256', fifo)]).status, 0);
    const folder = createHash('sha256').update('folder').digest('hex');
    mkdirSync(join(dir, 'blobs', 'sha256', folder));
    index(dir, [
      named({ mediaType: OCI_MANIFEST, digest: `sha256:${fifo}`, size: 100 }, 'fifo'),
      named({ mediaType: OCI_MANIFEST, digest: `sha256:${folder}`, size: 100 }, 'folder'),
      named(manifest, 'ok'),
    ]);
    const layout = new OciImageLayout(dir);
    refused(() => layout.resolve('fifo'), new RegExp(`has the blob sha256:${fifo} that is not a regular file \\(a FIFO\\): refused`));
    refused(() => layout.resolve('folder'), new RegExp(`has the blob sha256:${folder} that is not a regular file \\(a folder\\): refused`));
    const fifoLayer = {
      path: join(dir, 'blobs', 'sha256', fifo),
      mediaType: GZIP_LAYER,
      digest: `sha256:${fifo}`,
      size: 100,
    };
    return assert.rejects(verifyBlob(dir, fifoLayer), /that is not a regular file \(a FIFO\): refused/).then(() => {
      rmSync(join(dir, 'index.json'));
      assert.equal(spawnSync('mkfifo', [join(dir, 'index.json')]).status, 0);
      refused(() => new OciImageLayout(dir).resolve('ok'), /has index\.json that is not a regular file \(a FIFO\): refused/);
    });
  });

  it('compares a blob size with its descriptor before reading it, and caps index.json and JSON blobs', () => {
    const dir = newLayout();
    const { manifest } = image(dir);
    // A 3 GiB sparse file declared as 100 bytes: refused by its size, never read.
    const big = createHash('sha256').update('big').digest('hex');
    writeFileSync(join(dir, 'blobs', 'sha256', big), '');
    truncateSync(join(dir, 'blobs', 'sha256', big), 3 * 2 ** 30);
    const huge = `sha256:${'f'.repeat(64)}`;
    index(dir, [
      named({ mediaType: OCI_MANIFEST, digest: `sha256:${big}`, size: 100 }, 'big'),
      named({ mediaType: OCI_MANIFEST, digest: huge, size: MAX_JSON_BYTES + 1 }, 'huge'),
      named(manifest, 'ok'),
    ]);
    const layout = new OciImageLayout(dir);
    refused(() => layout.resolve('big'), new RegExp(`blob sha256:${big} of ${3 * 2 ** 30} bytes where its descriptor says 100: refused`));
    refused(
      () => layout.resolve('huge'),
      new RegExp(`names a ${MAX_JSON_BYTES + 1}-byte JSON blob ${huge}: at most ${MAX_JSON_BYTES} are read`),
    );
    assert.equal(MAX_JSON_BYTES, 4 << 20);
    truncateSync(join(dir, 'index.json'), MAX_INDEX_BYTES + 1);
    refused(
      () => new OciImageLayout(dir).resolve('ok'),
      new RegExp(`index\\.json of ${MAX_INDEX_BYTES + 1} bytes: at most ${MAX_INDEX_BYTES} are read`),
    );
    assert.equal(statSync(join(dir, 'index.json')).size, 8 * 1024 * 1024 + 1);
  });

  it('refuses every image of an index.json that is not JSON, null, an array or a number, or has no manifests list', () => {
    const dir = newLayout();
    for (const doc of ['{', 'null', '[]', '42', '"x"', '{}', '{"manifests":{}}']) {
      writeFileSync(join(dir, 'index.json'), doc);
      refused(
        () => new OciImageLayout(dir).resolve('any'),
        /unreadable index\.json|index\.json that is not a JSON object|no descriptor list in index\.json/,
      );
    }
  });

  it('skips a malformed entry of index.json: the other refs stay usable, and its own ref is refused naming the entry', () => {
    const dir = newLayout();
    const { manifest, config } = image(dir);
    const bad = (ref: string, change: Record<string, unknown>) => ({ ...named(manifest, ref), ...change });
    const entries: unknown[] = [
      named(manifest, 'good'),
      bad('bad-digest', { digest: 'sha256:../../../../etc/passwd' }),
      bad('bad-size', { size: -1 }),
      bad('fraction', { size: 1.5 }),
      bad('bad-platform', { platform: 'linux/amd64' }),
      bad('bad-type', { mediaType: 7 }),
      { ...manifest, annotations: ['not', 'an', 'object'] },
      'not an object',
      null,
      { ...manifest, annotations: { 'org.opencontainers.image.ref.name': 7, 'io.containerd.image.name': 'seven' } },
      // Well formed itself; the image index it leads to is not: that refuses this image only.
      named(blob(dir, OCI_INDEX, { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [null] }), 'nested'),
    ];
    writeFileSync(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: entries }));
    const warnings: { fields: Record<string, unknown>; message: string }[] = [];
    const log = {
      warn: (fields: Record<string, unknown>, message: string) => warnings.push({ fields, message }),
    } as unknown as Logger;
    const layout = new OciImageLayout(dir, undefined, log);
    assert.deepEqual(layout.refs(), ['good', 'nested']);
    assert.equal(layout.resolve('good').id, config.digest);
    refused(() => layout.resolve('nested'), /has a descriptor in sha256:[a-f0-9]{64} that is not an object: refused/);
    assert.deepEqual(layout.ids(), new Set([config.digest]));
    const faults: [string, string][] = [
      ['bad-digest', 'manifests[1], whose digest is not sha256:<64 hex digits>'],
      ['bad-size', 'manifests[2], whose size is not a non-negative integer'],
      ['fraction', 'manifests[3], whose size is not a non-negative integer'],
      ['bad-platform', 'manifests[4], whose platform is not an object with string os and architecture'],
      ['bad-type', 'manifests[5], whose mediaType is not a string'],
      ['seven', 'manifests[9], whose annotation org.opencontainers.image.ref.name is not a string'],
    ];
    for (const [ref, fault] of faults) {
      refused(
        () => layout.resolve(ref),
        new RegExp(
          `^image "oci:${ref}" of the OCI image layout \\(FAAS_OCI_IMAGE_LAYOUT\\) has only a malformed entry in index\\.json \\(${escapeRegExp(fault)}\\): refused; fix that entry, or copy the image again`,
        ),
      );
    }
    // Entries that name no ref are told of when a ref is not found.
    refused(
      () => layout.resolve('absent'),
      /"oci:absent" is not in the OCI image layout \(FAAS_OCI_IMAGE_LAYOUT\), which holds oci:good, oci:nested \(index\.json also has 3 malformed entries naming no ref, skipped: manifests\[6\], whose annotations are not an object; manifests\[7\], that is not an object; manifests\[8\], that is not an object\): copy it there/,
    );
    for (const ref of ['bad-digest', 'absent']) {
      assert.throws(
        () => layout.resolve(ref),
        (err: unknown) => !(err as Error).message.includes(temp) && !(err as Error).message.includes('/etc/passwd'),
      );
    }
    // Logged once for this version of index.json, however often it is read.
    assert.equal(warnings.length, 1);
    const [warning] = warnings;
    assert.ok(warning);
    assert.equal(warning.fields.skipped, 9);
    assert.deepEqual((warning.fields.entries as string[]).slice(0, 2), [
      'manifests[1], whose digest is not sha256:<64 hex digits> ("bad-digest")',
      'manifests[2], whose size is not a non-negative integer ("bad-size")',
    ]);
    // Fixed: usable at once, and nothing more is logged.
    entries[2] = named(manifest, 'bad-size');
    writeFileSync(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: entries }));
    const later = new Date(Date.now() + 5000);
    utimesSync(join(dir, 'index.json'), later, later);
    assert.equal(layout.resolve('bad-size').id, config.digest);
    assert.equal(warnings.length, 2);
    assert.equal(warnings[1]?.fields.skipped, 8);
  });

  it('a ref named by several entries picks among its well-formed ones as before (the host platform, else the first without one)', () => {
    const dir = newLayout();
    const amd = image(dir, { env: ['ARCH=amd64'] });
    const arm = image(dir, { env: ['ARCH=arm64'] });
    const first = image(dir, { env: ['P=1'] });
    const second = image(dir, { env: ['P=2'] });
    const on = (d: Descriptor, architecture: string): Descriptor => ({ ...d, platform: { os: 'linux', architecture } });
    writeFileSync(
      join(dir, 'index.json'),
      JSON.stringify({
        schemaVersion: 2,
        manifests: [
          named(on(amd.manifest, 'amd64'), 'dup'),
          { ...named(on(arm.manifest, 'arm64'), 'dup'), size: 'large' },
          named(on(arm.manifest, 'arm64'), 'dup'),
          named(first.manifest, 'plain'),
          named(second.manifest, 'plain'),
          { ...named(second.manifest, 'plain'), digest: 'sha256:nope' },
        ],
      }),
    );
    assert.deepEqual(new OciImageLayout(dir, 'amd64').refs(), ['dup', 'plain']);
    assert.deepEqual(new OciImageLayout(dir, 'amd64').resolve('dup').env, ['ARCH=amd64']);
    assert.deepEqual(new OciImageLayout(dir, 'arm64').resolve('dup').env, ['ARCH=arm64']);
    refused(
      () => new OciImageLayout(dir, 's390x').resolve('dup'),
      /no manifest for this host's platform linux\/s390x \(it has linux\/amd64, linux\/arm64\); index\.json also has a malformed entry for it, skipped \(manifests\[1\], whose size is not a non-negative integer\)$/,
    );
    assert.deepEqual(new OciImageLayout(dir, 'amd64').resolve('plain').env, ['P=1']);
  });

  it('refuses an image whose config has a relative WorkingDir or a non-string Env entry', () => {
    const dir = newLayout();
    index(dir, [
      named(image(dir, { workingDir: 'app' }).manifest, 'relative'),
      named(image(dir, { env: ['A=1', 7] }).manifest, 'env'),
      named(image(dir, { workingDir: '' }).manifest, 'empty'),
    ]);
    const layout = new OciImageLayout(dir);
    refused(() => layout.resolve('relative'), /has a WorkingDir that is not an absolute path \("app"\): refused/);
    refused(() => layout.resolve('env'), /has an Env that is not a list of strings: refused/);
    assert.equal(layout.resolve('empty').workingDir, undefined);
  });

  it('copies a layer into a private file while hashing it, and refuses a plain-tar type whose bytes are gzip', async () => {
    const dir = newLayout();
    const { manifest, layer } = image(dir);
    const plain = image(dir, { layerType: 'application/vnd.oci.image.layer.v1.tar', files: { other: 'x' } });
    index(dir, [named(manifest, 'img'), named(plain.manifest, 'plain')]);
    const layout = new OciImageLayout(dir);
    const [found] = layout.resolve('img').layers;
    const copy = join(mkdtempSync(join(temp, 'work-')), 'layer');
    await verifyBlob(dir, found as NonNullable<typeof found>, copy);
    assert.deepEqual(readFileSync(copy), readFileSync(join(dir, 'blobs', 'sha256', layer.digest.slice(7))));
    assert.equal(statSync(copy).mode & 0o777, 0o600);
    const [gzipBytes] = layout.resolve('plain').layers;
    await assert.rejects(
      verifyBlob(dir, gzipBytes as NonNullable<typeof gzipBytes>),
      /of media type application\/vnd\.oci\.image\.layer\.v1\.tar whose bytes are gzip-compressed: the media type must match the content; refused/,
    );
  });
});
