/**
 * The jail layout and its population, without KVM or a jailer: symlinked binaries, kernels and
 * root filesystems resolve to the files the jailer and the chroot will actually see.
 */
import assert from 'node:assert/strict';
import { chmod, lstat, mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { isFaasError } from '@faas/common';
import { snapshotPathsFor } from './fc-snapshot.js';
import { elfInterpreter, jailLayout, populateJail, resolveJailLayout } from './jailer.js';

let dir: string;
const uid = process.getuid?.() ?? 0;
const gid = process.getgid?.() ?? 0;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fc-jail-'));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('the jail keeps sockets, log, kernel and rootfs inside the state dir', () => {
  const layout = jailLayout(
    { jailerPath: '/usr/bin/jailer', firecrackerPath: '/opt/firecracker', uid: 123, gid: 100 },
    'abc123',
    '/run/vm/abc123',
  );
  assert.equal(layout.root, '/run/vm/abc123/jail/firecracker/abc123/root');
  assert.equal(layout.vsockSocket.host, '/run/vm/abc123/jail/firecracker/abc123/root/v.sock');
  assert.equal(layout.log.host, '/run/vm/abc123/jail/firecracker/abc123/root/firecracker.log');
  assert.equal(layout.kernel.inJail, '/vmlinux');
  const firecrackerArgs = layout.args.slice(layout.args.indexOf('--'));
  assert.deepEqual(firecrackerArgs.slice(0, 3), ['--', '--api-sock', '/api.sock']);
  assert.equal(firecrackerArgs[firecrackerArgs.indexOf('--log-path') + 1], '/firecracker.log');
  assert.deepEqual(layout.args.slice(0, 8), ['--id', 'abc123', '--exec-file', '/opt/firecracker', '--uid', '123', '--gid', '100']);
  assert.throws(() => jailLayout({ jailerPath: '/j', firecrackerPath: '/opt/firecracker' }, '../x', '/run'), /jailer id/);
});

test('the jail folder is named after the resolved firecracker binary, which is what the jailer is given', async () => {
  const bin = join(dir, 'bin');
  await mkdir(join(bin, 'releases'), { recursive: true });
  const real = join(bin, 'releases', 'firecracker-v1.12.1-x86_64');
  await writeFile(real, '#!/bin/sh\n');
  await chmod(real, 0o755);
  // /usr/local/bin/firecracker -> releases/firecracker-v1.12.1-x86_64, as release tarballs are installed.
  await symlink('releases/firecracker-v1.12.1-x86_64', join(bin, 'firecracker'));
  // A second hop, and a name without "firecracker" in it.
  await symlink(join(bin, 'firecracker'), join(bin, 'vmm'));

  for (const given of [join(bin, 'firecracker'), join(bin, 'vmm'), join(bin, 'releases', '..', 'firecracker')]) {
    const layout = await resolveJailLayout({ jailerPath: '/usr/bin/jailer', firecrackerPath: given }, 'vm1', '/run/vm/vm1');
    assert.equal(layout.root, '/run/vm/vm1/jail/firecracker-v1.12.1-x86_64/vm1/root', given);
    assert.equal(layout.execFile, real);
    assert.equal(layout.args[layout.args.indexOf('--exec-file') + 1], real);
  }
  await assert.rejects(
    resolveJailLayout({ jailerPath: '/usr/bin/jailer', firecrackerPath: join(bin, 'missing') }, 'vm1', '/run/vm/vm1'),
    (err: unknown) => isFaasError(err, 'FAAS_ERR_EXECUTOR_UNAVAILABLE') && /missing/.test(err.message),
  );
});

test('a symlinked kernel and rootfs are linked into the jail as their real files, not as dangling symlinks', async () => {
  const cache = join(dir, 'cache', 'd8e294c512111bea');
  await mkdir(cache, { recursive: true });
  await writeFile(join(cache, 'vmlinux'), 'kernel bytes');
  await writeFile(join(dir, 'image.ext4'), 'rootfs bytes');
  const repoKernel = join(dir, 'repo', '.cache', 'kernel');
  await mkdir(repoKernel, { recursive: true });
  // Both kinds build-kernel.sh has made: absolute (into the cache) and relative.
  await symlink(join(cache, 'vmlinux'), join(repoKernel, 'vmlinux'));
  await symlink('../image.ext4', join(dir, 'repo', 'rootfs.ext4'));

  const stateDir = join(dir, 'state');
  await mkdir(stateDir);
  const layout = jailLayout({ jailerPath: '/j', firecrackerPath: '/opt/firecracker', uid, gid }, 'vm2', stateDir);
  await populateJail(layout, join(repoKernel, 'vmlinux'), join(dir, 'repo', 'rootfs.ext4'), uid, gid);

  for (const [path, content, source] of [
    [layout.kernel.host, 'kernel bytes', join(cache, 'vmlinux')],
    [layout.rootfs.host, 'rootfs bytes', join(dir, 'image.ext4')],
  ] as const) {
    const info = await lstat(path);
    assert.ok(info.isFile() && !info.isSymbolicLink(), `${path} is a regular file`);
    assert.equal(await readFile(path, 'utf8'), content);
    // A hard link to the real file: same inode, no copy.
    assert.equal(info.ino, (await stat(source)).ino);
  }
  const log = await lstat(layout.log.host);
  assert.ok(log.isFile());
  assert.equal(log.size, 0);
  assert.equal(log.mode & 0o777, 0o600);
});

test('snapshot files linked into a jail are resolved too', async () => {
  const stateDir = join(dir, 'state-snap');
  await mkdir(stateDir);
  const layout = jailLayout({ jailerPath: '/j', firecrackerPath: '/opt/firecracker', uid, gid }, 'vm3', stateDir);
  await mkdir(layout.root, { recursive: true });
  await writeFile(join(dir, 'snap.state'), 'state');
  await writeFile(join(dir, 'snap.memory'), 'memory');
  await symlink(join(dir, 'snap.state'), join(dir, 'state-link'));
  const inJail = await snapshotPathsFor(layout, { state: join(dir, 'state-link'), memory: join(dir, 'snap.memory') });
  assert.deepEqual(inJail, { state: '/snapshot.state', memory: '/snapshot.mem' });
  const linked = await lstat(join(layout.root, 'snapshot.state'));
  assert.ok(linked.isFile() && !linked.isSymbolicLink());
  assert.equal(await readFile(join(layout.root, 'snapshot.state'), 'utf8'), 'state');
});

/** A minimal ELF64 little-endian file with the given program headers (type, and for PT_INTERP a path). */
function elf(headers: Array<{ type: number; interp?: string }>): Buffer {
  const phoff = 64;
  const phentsize = 56;
  const data = phoff + phentsize * headers.length;
  const strings: Buffer[] = [];
  const table = Buffer.alloc(phentsize * headers.length);
  let at = data;
  headers.forEach((h, i) => {
    table.writeUInt32LE(h.type, i * phentsize);
    if (h.interp !== undefined) {
      const bytes = Buffer.from(`${h.interp}\0`, 'latin1');
      table.writeBigUInt64LE(BigInt(at), i * phentsize + 0x08);
      table.writeBigUInt64LE(BigInt(bytes.length), i * phentsize + 0x20);
      strings.push(bytes);
      at += bytes.length;
    }
  });
  const header = Buffer.alloc(64);
  header.writeUInt32BE(0x7f454c46, 0);
  header[4] = 2;
  header[5] = 1;
  header.writeBigUInt64LE(BigInt(phoff), 0x20);
  header.writeUInt16LE(phentsize, 0x36);
  header.writeUInt16LE(headers.length, 0x38);
  return Buffer.concat([header, table, ...strings]);
}

test('a dynamically linked firecracker is recognised (the jailer cannot exec it in its empty chroot)', async () => {
  await writeFile(join(dir, 'dynamic'), elf([{ type: 6 }, { type: 3, interp: '/lib64/ld-linux-x86-64.so.2' }, { type: 1 }]));
  await writeFile(join(dir, 'static'), elf([{ type: 1 }, { type: 1 }]));
  await writeFile(join(dir, 'script'), '#!/bin/sh\n');
  assert.equal(await elfInterpreter(join(dir, 'dynamic')), '/lib64/ld-linux-x86-64.so.2');
  assert.equal(await elfInterpreter(join(dir, 'static')), undefined);
  assert.equal(await elfInterpreter(join(dir, 'script')), undefined);
  // The test runner itself is a real dynamically linked ELF on glibc hosts.
  const node = await elfInterpreter(process.execPath);
  if (node !== undefined) assert.match(node, /ld-/);
});
