import assert from 'node:assert/strict';
import { test } from 'node:test';
import { missingGvisorFlags } from './executor.js';

test('a gVisor runtime of the engine must run with --oci-seccomp, in any spelling runsc accepts', () => {
  assert.deepEqual(missingGvisorFlags(['--platform=ptrace', '--network=none']), ['--oci-seccomp']);
  assert.deepEqual(missingGvisorFlags([]), ['--oci-seccomp']);
  assert.deepEqual(missingGvisorFlags(['--oci-seccomp=false']), ['--oci-seccomp']);
  for (const spelled of [
    '--oci-seccomp',
    '-oci-seccomp',
    '--oci-seccomp=true',
    '-oci-seccomp=true',
    '--oci-seccomp=1',
    '--oci-seccomp=T',
    '--oci-seccomp=TRUE',
  ]) {
    assert.deepEqual(missingGvisorFlags(['--network=none', spelled]), [], spelled);
  }
  // Go's flag package: the last of a repeated flag wins; a value it would refuse is no setting.
  assert.deepEqual(missingGvisorFlags(['--oci-seccomp', '--oci-seccomp=false']), ['--oci-seccomp']);
  assert.deepEqual(missingGvisorFlags(['--oci-seccomp=0', '--oci-seccomp']), []);
  assert.deepEqual(missingGvisorFlags(['--oci-seccomp=yes']), ['--oci-seccomp']);
  assert.deepEqual(missingGvisorFlags(['--oci-seccomp=tRuE']), ['--oci-seccomp'], 'ParseBool takes only 1, t, T, TRUE, true, True');
  // Flags end at "--" and at the first argument that is not a flag.
  assert.deepEqual(missingGvisorFlags(['--', '--oci-seccomp']), ['--oci-seccomp']);
  assert.deepEqual(missingGvisorFlags(['--network=none', 'run', '--oci-seccomp']), ['--oci-seccomp']);
  assert.deepEqual(missingGvisorFlags(['--oci-seccomp-foo', '---oci-seccomp']), ['--oci-seccomp']);
});
