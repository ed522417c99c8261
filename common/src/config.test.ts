import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  AGENT_MAX_OUTPUT_BYTES,
  CONFIG_VARIABLES,
  defaultMaxBodyBytes,
  editDistance,
  isUsableAdminKey,
  loadConfig,
  nearest,
  redactConfig,
} from './config.js';
import { FaasError } from './errors.js';
import { LOG_COMPONENTS } from './log.js';

const MIB = 1024 * 1024;

function configError(env: Record<string, string>, mentions: RegExp) {
  assert.throws(
    () => loadConfig(env, 2),
    (e: unknown) => e instanceof FaasError && e.code === 'FAAS_ERR_CONFIG' && mentions.test(e.message),
  );
}

describe('loadConfig', () => {
  it('has safe defaults and is frozen', () => {
    const config = loadConfig({}, 2);
    assert.equal(config.executorType, 'docker');
    assert.equal(config.gateway.port, 8080);
    assert.equal(config.gateway.host, '127.0.0.1');
    assert.equal(config.sandboxUser, '65534:65534');
    assert.ok(Object.isFrozen(config) && Object.isFrozen(config.gateway) && Object.isFrozen(config.defaultLimits));
    assert.throws(() => {
      (config as { executorType: string }).executorType = 'qemu';
    });
  });
  it('reads the design document variables', () => {
    const config = loadConfig(
      { FAAS_EXECUTOR_TYPE: 'gvisor', FAAS_GATEWAY_PORT: '9000', RUST_LOG: 'debug', DOCKER_HOST: 'tcp://127.0.0.1:2375' },
      2,
    );
    assert.equal(config.executorType, 'gvisor');
    assert.equal(config.gateway.port, 9000);
    assert.equal(config.logFilter, 'debug');
    assert.equal(config.dockerHost, 'tcp://127.0.0.1:2375');
  });
  it('FAAS_ADMIN_KEY: 32-1024 printable characters without spaces, never shown', () => {
    const key = 'k'.repeat(32);
    assert.equal(loadConfig({ FAAS_ADMIN_KEY: key }, 2).auth.adminKey, key);
    assert.equal(loadConfig({ FAAS_ADMIN_KEY: 'k'.repeat(1024) }, 2).auth.adminKey?.length, 1024);
    // Over 1024 characters the gateway refuses the bearer token: such a key would lock the operator out.
    for (const bad of ['k'.repeat(31), 'k'.repeat(1025), `${'k'.repeat(32)} x`, `${'k'.repeat(32)}é`]) {
      assert.throws(
        () => loadConfig({ FAAS_ADMIN_KEY: bad }, 2),
        (e: unknown) =>
          e instanceof FaasError &&
          e.code === 'FAAS_ERR_CONFIG' &&
          /FAAS_ADMIN_KEY .* 32-1024 printable characters without spaces/.test(e.message) &&
          !e.message.includes(bad),
        `${bad.length} characters`,
      );
    }
    assert.equal(isUsableAdminKey(key), true);
    assert.equal(isUsableAdminKey('abc'), false);
  });
  it('FAAS_KEY_MAX_CONCURRENCY: half of FAAS_MAX_CONCURRENCY by default (at least 1), an integer, or off', () => {
    assert.equal(loadConfig({}, 2).auth.keyMaxConcurrency, 8);
    assert.equal(loadConfig({ FAAS_MAX_CONCURRENCY: '1' }, 2).auth.keyMaxConcurrency, 1);
    assert.equal(loadConfig({ FAAS_MAX_CONCURRENCY: '7' }, 2).auth.keyMaxConcurrency, 3);
    assert.equal(loadConfig({ FAAS_KEY_MAX_CONCURRENCY: '40' }, 2).auth.keyMaxConcurrency, 40);
    assert.equal(loadConfig({ FAAS_KEY_MAX_CONCURRENCY: 'Off' }, 2).auth.keyMaxConcurrency, null);
    for (const bad of ['0', '-1', '1.5', 'none', '10001']) {
      configError({ FAAS_KEY_MAX_CONCURRENCY: bad }, /FAAS_KEY_MAX_CONCURRENCY=.*integer from 1 to 10000, or off for no cap/);
    }
  });
  it('names the bad variable and the fix', () => {
    configError({ FAAS_GATEWAY_PORT: 'abc' }, /FAAS_GATEWAY_PORT="abc".*integer/);
    configError({ FAAS_GATEWAY_PORT: '70000' }, /FAAS_GATEWAY_PORT/);
    configError({ FAAS_EXECUTOR_TYPE: 'lambda' }, /FAAS_EXECUTOR_TYPE.*docker, gvisor, qemu, firecracker or oci/);
    configError({ FAAS_ALLOWED_EXECUTORS: 'docker,xen' }, /FAAS_ALLOWED_EXECUTORS.*xen/);
    configError({ DOCKER_HOST: 'ssh://box' }, /DOCKER_HOST/);
    configError({ FAAS_SANDBOX_USER: '0:0' }, /root/);
    configError({ FAAS_DEFAULT_TIMEOUT_MS: '5000', FAAS_MAX_TIMEOUT_MS: '1000' }, /FAAS_DEFAULT_TIMEOUT_MS.*FAAS_MAX_TIMEOUT_MS/);
    configError({ FAAS_MAX_PAYLOAD_BYTES: '10000000', FAAS_MAX_BODY_BYTES: '1048576' }, /FAAS_MAX_BODY_BYTES/);
  });
  it('reads the oci runtime flags as a list and refuses what is not a flag or belongs to the executor', () => {
    assert.deepEqual(loadConfig({}, 2).oci.runtimeArgs, []);
    assert.deepEqual(loadConfig({ FAAS_OCI_RUNTIME: 'runsc', FAAS_OCI_RUNTIME_ARGS: ' --platform=ptrace  --debug ' }, 2).oci.runtimeArgs, [
      '--platform=ptrace',
      '--debug',
    ]);
    configError({ FAAS_OCI_RUNTIME_ARGS: '--debug run' }, /FAAS_OCI_RUNTIME_ARGS.*"run" is not a flag/);
    configError({ FAAS_OCI_RUNTIME_ARGS: '--root=/tmp/x' }, /FAAS_OCI_RUNTIME_ARGS.*sets --root itself/);
    configError({ FAAS_OCI_RUNTIME_ARGS: '--root' }, /FAAS_OCI_RUNTIME_ARGS.*--root/);
    configError({ FAAS_OCI_RUNTIME: 'runsc', FAAS_OCI_RUNTIME_ARGS: '--network=host' }, /FAAS_OCI_RUNTIME_ARGS.*--network=host would undo/);
    configError({ FAAS_OCI_RUNTIME_ARGS: '--oci-seccomp=false' }, /FAAS_OCI_RUNTIME_ARGS.*would undo/);
    configError({ FAAS_OCI_RUNTIME_ARGS: '--cgroup-manager=disabled' }, /FAAS_OCI_RUNTIME_ARGS.*would undo/);
    configError({ FAAS_OCI_RUNTIME_ARGS: '-ignore-cgroups' }, /FAAS_OCI_RUNTIME_ARGS.*would undo/);
    assert.equal(
      loadConfig({ FAAS_EXECUTOR_TYPE: 'oci', FAAS_OCI_RUNTIME: '/usr/bin/runsc', FAAS_SANDBOX_USER: '70000:70000' }, 2).sandboxUser,
      '70000:70000',
    );
    configError({ FAAS_ALLOWED_EXECUTORS: 'docker,oci', FAAS_SANDBOX_USER: '70000:70000' }, /FAAS_SANDBOX_USER.*below 65536/);
    assert.equal(
      loadConfig({ FAAS_ALLOWED_EXECUTORS: 'docker,oci', FAAS_SANDBOX_USER: '70000:70000', FAAS_OCI_USERNS: 'off' }, 2).sandboxUser,
      '70000:70000',
    );
    assert.equal(loadConfig({ FAAS_SANDBOX_USER: '70000:70000' }, 2).sandboxUser, '70000:70000');
  });
  it('reads FAAS_OCI_USERNS as auto, on or off (default auto) and names the accepted values', () => {
    assert.equal(loadConfig({}, 2).oci.userns, 'auto');
    assert.equal(loadConfig({ FAAS_OCI_USERNS: 'on' }, 2).oci.userns, 'on');
    assert.equal(loadConfig({ FAAS_OCI_USERNS: ' off ' }, 2).oci.userns, 'off');
    configError({ FAAS_OCI_USERNS: 'yes' }, /FAAS_OCI_USERNS.*auto.*on.*off/);
  });
  it('reads FAAS_CONSOLE_DIR as a folder holding the console build (index.html); the default one is not checked', async () => {
    const { mkdtempSync, mkdirSync, rmSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { DEFAULT_CONSOLE_DIR, REPO_ROOT } = await import('./config.js');
    const dir = mkdtempSync(join(tmpdir(), 'faas-config-console-'));
    try {
      assert.equal(loadConfig({}, 2).gateway.consoleDir, join(REPO_ROOT, DEFAULT_CONSOLE_DIR));
      const site = join(dir, 'site');
      configError(
        { FAAS_CONSOLE_DIR: site },
        /FAAS_CONSOLE_DIR=".*site" \(from the environment\) is invalid: no such folder; .*npm run build -w console/,
      );
      writeFileSync(site, '');
      configError({ FAAS_CONSOLE_DIR: site }, /FAAS_CONSOLE_DIR=".*site" \(from the environment\) is invalid: not a folder; /);
      rmSync(site);
      mkdirSync(site);
      configError({ FAAS_CONSOLE_DIR: site }, /FAAS_CONSOLE_DIR=".*site" \(from the environment\) is invalid: it has no index\.html; /);
      writeFileSync(join(site, 'index.html'), '<!doctype html>');
      const config = loadConfig({ FAAS_CONSOLE_DIR: `${site}/` }, 2);
      assert.equal(config.gateway.consoleDir, site);
      assert.ok(Object.isFrozen(config.gateway));
      // Named in a .env file too: it is a platform variable, not an unknown one.
      assert.equal(loadConfig({ FAAS_CONSOLE_DIR: site }, 2, { sources: { FAAS_CONSOLE_DIR: '.env:3' } }).gateway.consoleDir, site);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('reads FAAS_OCI_IMAGE_LAYOUT as an OCI image layout folder, checked for oci-layout and index.json', async () => {
    const { mkdtempSync, mkdirSync, rmSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'faas-config-layout-'));
    try {
      assert.equal(loadConfig({}, 2).oci.imageLayout, undefined);
      const layout = join(dir, 'layout');
      configError(
        { FAAS_OCI_IMAGE_LAYOUT: layout },
        /FAAS_OCI_IMAGE_LAYOUT=".*layout" \(from the environment\) is invalid: no such folder; .*skopeo copy/,
      );
      writeFileSync(layout, '');
      configError(
        { FAAS_OCI_IMAGE_LAYOUT: layout },
        /FAAS_OCI_IMAGE_LAYOUT=".*layout" \(from the environment\) is invalid: not a folder; /,
      );
      rmSync(layout);
      mkdirSync(layout);
      configError({ FAAS_OCI_IMAGE_LAYOUT: layout }, /FAAS_OCI_IMAGE_LAYOUT.*oci-layout file is missing or not JSON/);
      writeFileSync(join(layout, 'oci-layout'), '{}');
      configError({ FAAS_OCI_IMAGE_LAYOUT: layout }, /FAAS_OCI_IMAGE_LAYOUT.*names no imageLayoutVersion/);
      writeFileSync(join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
      configError({ FAAS_OCI_IMAGE_LAYOUT: layout }, /FAAS_OCI_IMAGE_LAYOUT.*has no index\.json/);
      writeFileSync(join(layout, 'index.json'), '{"schemaVersion":2,"manifests":[]}');
      const config = loadConfig({ FAAS_EXECUTOR_TYPE: 'oci', FAAS_OCI_IMAGE_LAYOUT: `${layout}/` }, 2);
      assert.equal(config.oci.imageLayout, layout);
      assert.ok(Object.isFrozen(config.oci));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('refuses folders on /proc, /sys and /dev but /dev/shm (a recursive mkdir there never returns)', () => {
    for (const name of ['FAAS_DATA_DIR', 'FAAS_OCI_ROOTFS_CACHE', 'FAAS_ROOTFS_DIR']) {
      for (const path of ['/proc/faas', '/sys/faas/data', '/dev/shm/../faas', '/proc']) {
        configError({ [name]: path }, new RegExp(`${name}=.*pseudo-filesystem.*choose a folder on a disk`));
      }
    }
    assert.equal(loadConfig({ FAAS_DATA_DIR: '/var/lib/faas' }, 2).dataDir, '/var/lib/faas');
    assert.equal(loadConfig({ FAAS_DATA_DIR: '/procfaas' }, 2).dataDir, '/procfaas');
    assert.equal(loadConfig({ FAAS_DATA_DIR: '/dev/shm/faas' }, 2).dataDir, '/dev/shm/faas');
  });
  it('refuses a folder variable naming a file, or a path under one (ENOTDIR later), naming the variable', () => {
    const dir = mkdtempSync(join(tmpdir(), 'faas-config-'));
    try {
      const file = join(dir, 'file');
      writeFileSync(file, 'x');
      for (const name of ['FAAS_DATA_DIR', 'FAAS_OCI_ROOTFS_CACHE', 'FAAS_ROOTFS_DIR']) {
        configError({ [name]: file }, new RegExp(`${name}=.* must be a folder, but it is a file`));
        configError({ [name]: join(file, 'sub', 'dir') }, new RegExp(`${name}=.* must be a folder, but ${file} is a file`));
      }
      assert.equal(
        loadConfig({ FAAS_DATA_DIR: join(dir, 'new', 'data') }, 2).dataDir,
        join(dir, 'new', 'data'),
        'a missing folder is made later',
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('refuses a folder variable that is, or is under, a symbolic link leading nowhere (ENOENT later), naming the variable', () => {
    const dir = mkdtempSync(join(tmpdir(), 'faas-config-'));
    try {
      const dangling = join(dir, 'dangling');
      symlinkSync(join(dir, 'gone'), dangling);
      const loop = join(dir, 'loop');
      symlinkSync(loop, loop);
      for (const name of ['FAAS_DATA_DIR', 'FAAS_OCI_ROOTFS_CACHE', 'FAAS_ROOTFS_DIR']) {
        configError({ [name]: dangling }, new RegExp(`^${name}=.* is a symbolic link to ${join(dir, 'gone')}, which does not exist`));
        configError(
          { [name]: join(dangling, 'sub') },
          new RegExp(`^${name}=.* is under ${dangling}, which is a symbolic link to .*, which does not exist`),
        );
        configError(
          { [name]: loop },
          new RegExp(`^${name}=.* is a symbolic link to ${loop}, which does not exist \\(or is a loop of links\\)`),
        );
      }
      // One line, as `faas config` and `faas serve` print it.
      assert.throws(
        () => loadConfig({ FAAS_DATA_DIR: dangling }, 2),
        (e: unknown) => e instanceof FaasError && !e.message.includes('\n'),
      );
      // A link to a folder that exists is a folder; a missing folder under a real one is made later.
      const real = join(dir, 'real');
      mkdirSync(real);
      const good = join(dir, 'good');
      symlinkSync(real, good);
      assert.equal(loadConfig({ FAAS_DATA_DIR: good }, 2).dataDir, good);
      assert.equal(loadConfig({ FAAS_DATA_DIR: join(good, 'new') }, 2).dataDir, join(good, 'new'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('refuses FAAS_AGENT_PATH naming a folder or a file that is not executable', () => {
    const dir = mkdtempSync(join(tmpdir(), 'faas-agent-'));
    try {
      configError({ FAAS_AGENT_PATH: dir }, /FAAS_AGENT_PATH=.*not a file \(the agent binary itself/);
      const plain = join(dir, 'agent');
      writeFileSync(plain, 'x', { mode: 0o644 });
      configError({ FAAS_AGENT_PATH: plain }, /FAAS_AGENT_PATH=.*not executable/);
      configError({ FAAS_AGENT_PATH: join(dir, 'missing') }, /FAAS_AGENT_PATH=.*no such file/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('fails loudly on unknown and renamed FAAS_ variables', () => {
    configError({ FAAS_PORT: '1' }, /FAAS_PORT.*FAAS_GATEWAY_PORT/);
    configError({ FAAS_TYPO: '1' }, /unknown variable FAAS_TYPO/);
  });
  it('names the missing Firecracker file and how to build it', () => {
    configError({ FAAS_EXECUTOR_TYPE: 'firecracker' }, /FAAS_FC_BINARY_PATH/);
    configError(
      { FAAS_EXECUTOR_TYPE: 'firecracker', FAAS_FC_BINARY_PATH: '/bin/sh', FAAS_FC_KERNEL_PATH: '/nonexistent/vmlinux' },
      /FAAS_FC_KERNEL_PATH="\/nonexistent\/vmlinux" \(from the environment\): no such file.*npm run kernel/,
    );
  });
});

describe('configuration messages', () => {
  it('name the source, the variable, the bad value and the accepted values', () => {
    configError(
      { FAAS_GATEWAY_PORT: 'abc' },
      /^FAAS_GATEWAY_PORT="abc" \(from the environment\) is invalid: use an integer from 0 to 65535$/,
    );
    assert.throws(
      () => loadConfig({ FAAS_POOL_MODE: 'reus' }, 2, { sources: { FAAS_POOL_MODE: '/srv/faas/.env:4' } }),
      (e: unknown) =>
        e instanceof FaasError &&
        e.message === 'FAAS_POOL_MODE="reus" (from /srv/faas/.env:4) is invalid: use single-use, reuse or off (did you mean "reuse"?)',
    );
  });
  it('suggest the nearest known name for a typo', () => {
    configError({ FAAS_POOL_MOD: 'reuse' }, /unknown variable FAAS_POOL_MOD \(from the environment\): did you mean FAAS_POOL_MODE\?/);
    configError({ FAAS_GATEWAY_PROT: '1' }, /did you mean FAAS_GATEWAY_PORT\?/);
    configError({ FAAS_LOGLEVEL: 'info' }, /did you mean FAAS_LOG_LEVEL\?/);
    configError({ faas_pool_mode: 'reuse' }, /faas_pool_mode.*upper case.*FAAS_POOL_MODE/);
    configError({ FAAS_EXECUTOR_TYPE: 'dokcer' }, /did you mean "docker"\?/);
    configError({ FAAS_ALLOWED_EXECUTORS: 'docker,gviser' }, /"gviser".*did you mean "gvisor"\?/);
    // Far from every known name: no suggestion, but the list of variables.
    configError({ FAAS_ZZZZZZZZZZZZ: '1' }, /unknown variable FAAS_ZZZZZZZZZZZZ \(from the environment\): every supported/);
  });
  it('accept the FAAS_* variables of the repository scripts in the environment, not in .env', () => {
    assert.doesNotThrow(() => loadConfig({ FAAS_SETUP_VM: '1', FAAS_REBUILD_IMAGES: '1', FAAS_BENCH_GVISOR: '0' }, 2));
    // The client commands' variables: a shell that sets them for `faas invoke` can still run `faas serve`.
    assert.doesNotThrow(() => loadConfig({ FAAS_URL: 'http://127.0.0.1:8080', FAAS_API_KEY: 'faas_x' }, 2));
    assert.throws(
      () => loadConfig({ FAAS_SETUP_VM: '1' }, 2, { sources: { FAAS_SETUP_VM: '.env:2' } }),
      /FAAS_SETUP_VM \(from .env:2\) is read by scripts\/setup-host\.sh, not by faas/,
    );
  });
  it('only flag unknown non-FAAS names that come from a .env file', () => {
    assert.doesNotThrow(() => loadConfig({ GATEWAY_PORT: '1', HOME: '/root' }, 2));
    assert.throws(
      () => loadConfig({ GATEWAY_PORT: '1' }, 2, { sources: { GATEWAY_PORT: '.env:1' } }),
      /unknown variable GATEWAY_PORT \(from .env:1\): did you mean FAAS_GATEWAY_PORT\?/,
    );
    assert.doesNotThrow(() => loadConfig({ TMPDIR: '/var/tmp' }, 2, { sources: { TMPDIR: '.env:1' } }));
  });
  it('reject a bad log filter as a configuration error (FAAS_LOG_LEVEL=verbose, any bad RUST_LOG)', () => {
    configError(
      { FAAS_LOG_LEVEL: 'verbose' },
      /FAAS_LOG_LEVEL="verbose" \(from the environment\) is invalid: unknown level "verbose".*did you mean "debug"/,
    );
    configError({ RUST_LOG: 'info,gateway=loud' }, /RUST_LOG="info,gateway=loud".*unknown level "loud".*FAAS_LOG_LEVEL/);
    configError({ RUST_LOG: '=debug' }, /RUST_LOG.*names no component/);
    assert.equal(loadConfig({ RUST_LOG: 'warn,gateway=debug' }, 2).logFilter, 'warn,gateway=debug');
    assert.equal(loadConfig({ FAAS_LOG_LEVEL: 'debug', RUST_LOG: 'nonsense' }, 2).logFilter, 'debug');
  });
  it('refuse a component FAAS_LOG_LEVEL names that no logger has, with the nearest one (RUST_LOG may name other programs)', () => {
    configError(
      { FAAS_LOG_LEVEL: 'trace,nonexist=debug' },
      /^FAAS_LOG_LEVEL="trace,nonexist=debug" \(from the environment\) is invalid: unknown component "nonexist": the components are bin, gateway, orchestrator, store, worker, callbacks, tangle, docker, gvisor, qemu, firecracker, oci$/,
    );
    configError({ FAAS_LOG_LEVEL: 'warn,gatway=debug' }, /unknown component "gatway".*\(did you mean "gateway"\?\)/);
    configError(
      { FAAS_LOG_LEVEL: 'warn,faas_orchestrater=debug' },
      /unknown component "faas_orchestrater".*\(did you mean "orchestrator"\?\)/,
    );
    configError({ FAAS_LOG_LEVEL: 'warn,Gateway=debug' }, /unknown component "Gateway".*\(did you mean "gateway"\?\)/);
    for (const filter of [
      'warn,gateway=debug,orchestrator=trace',
      'warn,faas_gateway=debug',
      'info,faas-worker=debug',
      'warn,oci=debug,bin=info',
    ]) {
      assert.equal(loadConfig({ FAAS_LOG_LEVEL: filter }, 2).logFilter, filter);
    }
    // RUST_LOG is shared: a target of another program is left to it.
    assert.equal(loadConfig({ RUST_LOG: 'info,hyper::proto=warn,gateway=debug' }, 2).logFilter, 'info,hyper::proto=warn,gateway=debug');
    // The description (and so docs/CONFIGURATION.md) names every component.
    for (const component of LOG_COMPONENTS)
      assert.match(CONFIG_VARIABLES.FAAS_LOG_LEVEL ?? '', new RegExp(`\\b${component}\\b`), component);
  });
  it('treat an empty value as unset', () => {
    assert.equal(loadConfig({ FAAS_POOL_MODE: '', FAAS_GATEWAY_PORT: ' ' }, 2).pool.mode, 'single-use');
  });
});

describe('body and payload limits', () => {
  it('derive the body limit from the payload limit, so an oversized payload is reported as one', () => {
    const config = loadConfig({}, 2);
    assert.equal(config.maxPayloadBytes, 6 * MIB);
    // 6 MiB in base64 is exactly 8 MiB; env_vars 256 KiB + command 128 KiB + 64 KiB for the rest.
    assert.equal(config.gateway.maxBodyBytes, 8 * MIB + 448 * 1024);
    assert.equal(defaultMaxBodyBytes(6 * MIB), 8 * MIB + 448 * 1024);
    const overBody = JSON.stringify({
      image: 'faas/busybox:latest',
      command: ['cat'],
      payload_base64: Buffer.alloc(6 * MIB + 1).toString('base64'),
    });
    assert.ok(Buffer.byteLength(overBody) < config.gateway.maxBodyBytes, 'a payload one byte over the limit reaches validation');
    assert.equal(loadConfig({ FAAS_MAX_PAYLOAD_BYTES: '3' }, 2).gateway.maxBodyBytes, 4 + 448 * 1024);
  });
  it('keep FAAS_MAX_BODY_BYTES as an explicit override, refused when an oversized payload could not reach validation', () => {
    assert.equal(loadConfig({ FAAS_MAX_BODY_BYTES: String(16 * MIB) }, 2).gateway.maxBodyBytes, 16 * MIB);
    assert.equal(loadConfig({ FAAS_MAX_BODY_BYTES: '4096', FAAS_MAX_PAYLOAD_BYTES: '1024' }, 2).gateway.maxBodyBytes, 4096);
    configError(
      { FAAS_MAX_BODY_BYTES: String(8 * MIB) },
      /FAAS_MAX_BODY_BYTES="8388608" \(from the environment\) is too small.*Unset FAAS_MAX_BODY_BYTES/,
    );
  });
  it('bound FAAS_MAX_OUTPUT_BYTES by what the guest agent protocol carries (8 MiB per stream)', () => {
    assert.equal(AGENT_MAX_OUTPUT_BYTES, 8 * MIB);
    assert.equal(loadConfig({ FAAS_MAX_OUTPUT_BYTES: String(8 * MIB) }, 2).defaultLimits.outputBytes, 8 * MIB);
    configError(
      { FAAS_MAX_OUTPUT_BYTES: String(16 * MIB) },
      /FAAS_MAX_OUTPUT_BYTES="16777216".*from 1024 to 8388608.*guest agent protocol/,
    );
  });
});

describe('redactConfig', () => {
  it('masks credentials in URLs and fields named like secrets', () => {
    const config = loadConfig({ DOCKER_HOST: 'tcp://admin:hunter2@10.0.0.5:2376' }, 2);
    const printed = JSON.stringify(redactConfig(config));
    assert.ok(!printed.includes('hunter2'), printed);
    assert.match(printed, /tcp:\/\/\[redacted\]@10\.0\.0\.5:2376/);
    assert.deepEqual(redactConfig({ operator: { privateKey: '0xabc', rpcUrl: 'http://x' } } as never), {
      operator: { privateKey: '[redacted]', rpcUrl: 'http://x' },
    });
  });
});

describe('editDistance and nearest', () => {
  it('count swaps of neighbours as one edit and ignore case', () => {
    assert.equal(editDistance('dokcer', 'docker'), 1);
    assert.equal(editDistance('REUSE', 'reuse'), 0);
    assert.equal(nearest('FAAS_POOL_MOD', ['FAAS_POOL_MODE', 'FAAS_POOL_MIN_IDLE']), 'FAAS_POOL_MODE');
    assert.equal(nearest('xyz', ['docker', 'qemu']), undefined);
  });
});

describe('docs/CONFIGURATION.md', () => {
  it('lists every variable loadConfig reads', async () => {
    const { readFileSync } = await import('node:fs');
    const { CONFIG_VARIABLES } = await import('./config.js');
    const doc = readFileSync(new URL('../../docs/CONFIGURATION.md', import.meta.url), 'utf8');
    for (const name of Object.keys(CONFIG_VARIABLES)) assert.ok(doc.includes(`\`${name}\``), `${name} is not documented`);
  });
  it('says of each variable what config.ts says (CONFIG_VARIABLES), links and notes after it aside', async () => {
    const { readFileSync } = await import('node:fs');
    const { CONFIG_VARIABLES } = await import('./config.js');
    const doc = readFileSync(new URL('../../docs/CONFIGURATION.md', import.meta.url), 'utf8');
    const rows = new Map<string, string>();
    for (const line of doc.split('\n')) {
      const row = /^\| `([A-Z][A-Z0-9_]*)` \| (.*) \|$/.exec(line);
      if (row) rows.set(row[1] as string, row[2] as string);
    }
    // Markdown only: code spans, and links in parentheses, which the plain text has not.
    const plain = (text: string) =>
      text
        .replace(/ \(\[[^\]]*\]\([^)]*\)\)/g, '')
        .replace(/`/g, '')
        .trim();
    for (const [name, meaning] of Object.entries(CONFIG_VARIABLES)) {
      const row = rows.get(name);
      assert.ok(row !== undefined, `${name} has no row in the table`);
      assert.ok(plain(row).startsWith(plain(meaning)), `${name}:\n  config.ts: ${meaning}\n  the doc:   ${row}`);
    }
  });
});
