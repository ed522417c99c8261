import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { flavourArgs, ownerPid, runtimeFlavour } from './runtime.js';

describe('OCI runtime flavours', () => {
  it('tells runc, crun and runsc from the first line of --version', () => {
    assert.equal(runtimeFlavour('runc version 1.1.5+ds1'), 'runc');
    assert.equal(runtimeFlavour('crun version 1.8.1'), 'crun');
    assert.equal(runtimeFlavour('runsc version 0.0~20221219.0'), 'runsc');
    assert.equal(runtimeFlavour('youki version 0.3.0'), 'other');
    assert.equal(runtimeFlavour(''), 'other');
  });
  it('gives runsc --network=none and --oci-seccomp, and the others nothing of their own', () => {
    assert.deepEqual(flavourArgs('runsc'), ['--network=none', '--oci-seccomp']);
    assert.deepEqual(flavourArgs('runc'), []);
    assert.deepEqual(flavourArgs('crun'), []);
  });
  it('reads the owning platform pid from a container name', () => {
    assert.equal(ownerPid('faas-1234-5f0c'), 1234);
    assert.equal(ownerPid('other-1234'), undefined);
  });
});
