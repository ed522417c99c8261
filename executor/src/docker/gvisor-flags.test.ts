import assert from 'node:assert/strict';
import { test } from 'node:test';
import { missingGvisorFlags } from './executor.js';

test('a gVisor runtime of the engine must run with --oci-seccomp, in any spelling runsc accepts', () => {
  assert.deepEqual(missingGvisorFlags(['--platform=ptrace', '--network=none']), ['--oci-seccomp']);
  assert.deepEqual(missingGvisorFlags([]), ['--oci-seccomp']);
  assert.deepEqual(missingGvisorFlags(['--oci-seccomp=false']), ['--oci-seccomp']);
  for (const spelled of ['--oci-seccomp', '-oci-seccomp', '--oci-seccomp=true', '-oci-seccomp=true']) {
    assert.deepEqual(missingGvisorFlags(['--network=none', spelled]), [], spelled);
  }
});
