import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from './config.js';
import { FaasError } from './errors.js';

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
  it('names the bad variable and the fix', () => {
    configError({ FAAS_GATEWAY_PORT: 'abc' }, /FAAS_GATEWAY_PORT="abc".*integer/);
    configError({ FAAS_GATEWAY_PORT: '70000' }, /FAAS_GATEWAY_PORT/);
    configError({ FAAS_EXECUTOR_TYPE: 'lambda' }, /FAAS_EXECUTOR_TYPE.*docker, gvisor, qemu, firecracker/);
    configError({ FAAS_ALLOWED_EXECUTORS: 'docker,xen' }, /FAAS_ALLOWED_EXECUTORS.*xen/);
    configError({ DOCKER_HOST: 'ssh://box' }, /DOCKER_HOST/);
    configError({ FAAS_SANDBOX_USER: '0:0' }, /root/);
    configError({ FAAS_DEFAULT_TIMEOUT_MS: '5000', FAAS_MAX_TIMEOUT_MS: '1000' }, /FAAS_DEFAULT_TIMEOUT_MS.*FAAS_MAX_TIMEOUT_MS/);
    configError({ FAAS_MAX_PAYLOAD_BYTES: '10000000', FAAS_MAX_BODY_BYTES: '1048576' }, /FAAS_MAX_BODY_BYTES/);
  });
  it('fails loudly on unknown and renamed FAAS_ variables', () => {
    configError({ FAAS_PORT: '1' }, /FAAS_PORT.*FAAS_GATEWAY_PORT/);
    configError({ FAAS_TYPO: '1' }, /unknown variable FAAS_TYPO/);
  });
  it('names the missing Firecracker file and how to build it', () => {
    configError({ FAAS_EXECUTOR_TYPE: 'firecracker' }, /FAAS_FC_BINARY_PATH/);
    configError(
      { FAAS_EXECUTOR_TYPE: 'firecracker', FAAS_FC_BINARY_PATH: '/bin/sh', FAAS_FC_KERNEL_PATH: '/nonexistent/vmlinux' },
      /FAAS_FC_KERNEL_PATH=\/nonexistent\/vmlinux: no such file.*rootfs/,
    );
  });
});

describe('docs/CONFIGURATION.md', () => {
  it('lists every variable loadConfig reads', async () => {
    const { readFileSync } = await import('node:fs');
    const { CONFIG_VARIABLES } = await import('./config.js');
    const doc = readFileSync(new URL('../../docs/CONFIGURATION.md', import.meta.url), 'utf8');
    for (const name of Object.keys(CONFIG_VARIABLES)) assert.ok(doc.includes(`\`${name}\``), `${name} is not documented`);
  });
});
