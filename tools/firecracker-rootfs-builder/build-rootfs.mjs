#!/usr/bin/env node
// Builds microVM assets from the command line. The work itself lives in the executor
// (executor/src/vm/rootfs.ts), which calls the same code on a VM's first start, so the CLI and
// the platform can never disagree on the image layout. Run `npx tsc -b executor` first.
//
//   node tools/firecracker-rootfs-builder/build-rootfs.mjs --image faas/python:latest [--image ...]
//   node tools/firecracker-rootfs-builder/build-rootfs.mjs --kernel
//   options: --out DIR (default $FAAS_ROOTFS_DIR or .cache/rootfs), --agent PATH, --force,
//            --output FILE (also place the single built image at FILE, e.g. for FAAS_FC_ROOTFS_PATH)
// The cache records no absolute path (each sidecar names its image relative to its own folder), so
// a copied or moved cache folder or checkout keeps working with its own files.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, linkSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../..');
const defaultAgent = join(repo, 'guest-agent/target/x86_64-unknown-linux-gnu/release/faas-guest-agent');

function usage(message) {
  if (message) console.error(`build-rootfs: ${message}`);
  console.error('usage: build-rootfs.mjs [--kernel] [--image IMAGE ...] [--out DIR] [--agent PATH] [--force] [--output FILE]');
  process.exit(message ? 2 : 0);
}

const args = {
  images: [],
  kernel: false,
  force: false,
  out: process.env.FAAS_ROOTFS_DIR || join(repo, '.cache/rootfs'),
  agent: defaultAgent,
  output: undefined,
};
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const arg = argv[i];
  const value = () => argv[++i] ?? usage(`${arg} needs a value`);
  if (arg === '--image') args.images.push(value());
  else if (arg === '--kernel') args.kernel = true;
  else if (arg === '--force') args.force = true;
  else if (arg === '--out') args.out = value();
  else if (arg === '--agent') args.agent = value();
  else if (arg === '--output') args.output = value();
  else if (arg === '-h' || arg === '--help') usage();
  else usage(`unknown argument ${arg}`);
}
if (!args.kernel && args.images.length === 0) usage('give --kernel and/or --image IMAGE');
// Relative paths are taken from the current folder, as faas serve takes FAAS_ROOTFS_DIR.
args.out = resolve(args.out);
if (args.output && args.images.length !== 1) usage('--output needs exactly one --image');

if (args.kernel) {
  const result = spawnSync(join(here, 'build-kernel.sh'), args.force ? ['--force'] : [], { stdio: 'inherit' });
  if (result.error || result.status !== 0) process.exit(result.status ?? 1);
}

if (args.images.length > 0) {
  if (!existsSync(args.agent)) {
    const buildScript = join(repo, 'guest-agent/build.sh');
    if (args.agent !== defaultAgent || !existsSync(buildScript)) {
      console.error(`build-rootfs: guest agent ${args.agent} is missing: build it with guest-agent/build.sh`);
      process.exit(1);
    }
    console.error('build-rootfs: building the guest agent (guest-agent/build.sh)');
    const result = spawnSync(buildScript, [], { stdio: 'inherit' });
    if (result.error || result.status !== 0) process.exit(result.status ?? 1);
  }
  const modulePath = join(repo, 'executor/dist/vm/rootfs.js');
  if (!existsSync(modulePath)) {
    console.error('build-rootfs: executor/dist is missing: run `npx tsc -b executor` first');
    process.exit(1);
  }
  const { ensureRootfs } = await import(pathToFileURL(modulePath).href);
  for (const image of args.images) {
    try {
      const info = await ensureRootfs({
        image,
        rootfsDir: args.out,
        agentPath: args.agent,
        dockerHost: process.env.DOCKER_HOST,
        force: args.force,
        onProgress: (message) => console.error(`build-rootfs: ${message}`),
      });
      if (args.output) {
        rmSync(args.output, { force: true });
        try {
          linkSync(info.path, args.output);
        } catch {
          copyFileSync(info.path, args.output);
        }
      }
      console.log(args.output ?? info.path);
    } catch (err) {
      console.error(`build-rootfs: ${image}: ${err.message}`);
      process.exit(1);
    }
  }
}
