#!/usr/bin/env node
/**
 * Makes the Docker daemon's configuration (argv[2], /etc/docker/daemon.json) register gVisor's
 * runsc (path argv[3]) with --oci-seccomp, which the gvisor executor requires: without it runsc
 * ignores the container's seccomp profile. A runsc entry already there keeps its path and flags
 * and only gains --oci-seccomp; other settings are kept. Prints what it did: ok (nothing to do),
 * shim (a runtimeType entry, left alone), merged, added or written; exits 3 with one line for a
 * file it cannot use. Called by scripts/setup-host.sh.
 *
 * runsc reads its flags with Go's flag package: the last of a repeated flag wins, and a boolean
 * takes what strconv.ParseBool reads (1, t, T, TRUE, true, True and their false counterparts);
 * flags end at "--" and at the first argument that is not a flag.
 */
const fs = require('node:fs');
const [file, runscPath] = process.argv.slice(2);
const fail = (why) => {
  console.error(`setup-host: ${file} ${why}: fix or move it away, then run the set-up again`);
  process.exit(3);
};
let text = '';
try {
  text = fs.readFileSync(file, 'utf8');
} catch (err) {
  if (err.code !== 'ENOENT') fail(`cannot be read (${err.code})`);
}
let cfg = {};
if (text.trim() !== '') {
  try {
    cfg = JSON.parse(text);
  } catch (err) {
    fail(`is not valid JSON (${err.message})`);
  }
  if (cfg === null || typeof cfg !== 'object' || Array.isArray(cfg)) fail('must hold a JSON object');
}
// strconv.ParseBool's spellings of true.
const GO_TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const ociSeccomp = (args) => {
  let on = false;
  for (const a of args) {
    const text = String(a);
    // Go's flag package stops at "--" and at the first argument that is not a flag.
    if (text === '--' || !text.startsWith('-') || text === '-') break;
    const m = /^--?oci-seccomp(?:=(.*))?$/.exec(text);
    if (m) on = m[1] === undefined || GO_TRUE.has(m[1]);
  }
  return on;
};
if (cfg.runtimes !== undefined && (cfg.runtimes === null || typeof cfg.runtimes !== 'object' || Array.isArray(cfg.runtimes))) {
  if (cfg.runtimes !== null) fail('has a "runtimes" that is not an object');
}
cfg.runtimes = cfg.runtimes || {};
const own = cfg.runtimes.runsc;
if (own && typeof own === 'object' && own.runtimeType) {
  console.log('shim');
  process.exit(0);
}
if (own && typeof own === 'object' && Array.isArray(own.runtimeArgs ?? []) && ociSeccomp(own.runtimeArgs ?? [])) {
  console.log('ok');
  process.exit(0);
}
if (own && typeof own === 'object') {
  own.runtimeArgs = [
    ...(Array.isArray(own.runtimeArgs) ? own.runtimeArgs : []).filter((a) => !/^--?oci-seccomp(=|$)/.test(String(a))),
    '--oci-seccomp',
  ];
} else {
  cfg.runtimes.runsc = { path: runscPath, runtimeArgs: ['--platform=ptrace', '--network=none', '--oci-seccomp'] };
}
fs.writeFileSync(file, JSON.stringify(cfg, null, 2) + '\n');
console.log(own ? 'merged' : text.trim() === '' ? 'written' : 'added');
