#!/usr/bin/env node
// Runs the compiled test files with Node's built-in runner.
//   unit: fast tests with no external dependency (common, store, gateway internals, codecs)
//   e2e:  tests against real engines (Docker, the guest agent, QEMU VMs) and the end-to-end suite
//   all:  both
// Files named *.e2e.test.js, and every test under tester/ and executor/, count as e2e.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const mode = process.argv[2] ?? 'all';
// Every npm workspace's build output: a new workspace's tests run without being listed here.
const workspaces = JSON.parse(readFileSync('package.json', 'utf8')).workspaces;
const roots = workspaces.map((p) => join(p, 'dist'));

function walk(dir, out) {
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of entries) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path, out);
    else if (name.endsWith('.test.js')) out.push(path);
  }
  return out;
}

const files = roots.flatMap((root) => walk(root, []));
const isE2e = (f) => f.endsWith('.e2e.test.js') || f.startsWith('tester') || f.startsWith('executor');
const selected = files.filter((f) => (mode === 'all' ? true : mode === 'e2e' ? isE2e(f) : !isE2e(f))).sort();
if (selected.length === 0) {
  console.error(`no compiled test files for "${mode}": run \`npx tsc -b\` first`);
  process.exit(1);
}
const extra = process.argv.slice(3);
const result = spawnSync(process.execPath, ['--test', '--test-concurrency=2', '--test-timeout=600000', ...extra, ...selected], {
  stdio: 'inherit',
});
process.exit(result.status ?? 1);
