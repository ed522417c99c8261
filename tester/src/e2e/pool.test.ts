/**
 * Reuse mode (FAAS_POOL_MODE=reuse) keeps a function's sandbox between its invocations; what
 * docs/isolation.md promises cannot leak from one invocation to the next is checked here.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BUSYBOX } from '../support/images.js';
import { usePlatform } from '../support/platform.js';

describe('reuse mode', () => {
  const p = usePlatform({ FAAS_POOL_MODE: 'reuse', FAAS_POOL_MIN_IDLE: '0' });

  it('a later invocation of the same function sees no file and no process of an earlier one', async () => {
    const first = await p.client.run('reused', {
      image: BUSYBOX,
      command: [
        'sh',
        '-c',
        'echo secret > /tmp/.secret; mkdir -p /tmp/dir/sub; (setsid sleep 3134 &); echo planted; cut -d" " -f22 /proc/1/stat',
      ],
      env_vars: ['TOKEN=first-only'],
    });
    const [planted, sandboxStart] = first.stdout.toString().trim().split('\n');
    assert.equal(planted, 'planted', first.stderr.toString());
    let reused = 0;
    for (let i = 0; i < 3; i++) {
      const later = await p.client.run('reused', {
        image: BUSYBOX,
        // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion, not a template
        command: ['sh', '-c', 'ls -A /tmp; ps -o args | grep "^sleep 3134"; echo "token=${TOKEN-unset}"; cut -d" " -f22 /proc/1/stat'],
      });
      const [seen, start] = later.stdout.toString().trim().split('\n');
      assert.equal(seen, 'token=unset', `invocation ${i + 2} saw leftovers: ${later.stdout.toString()}`);
      // The sandbox's init started at the same instant: the same sandbox served this invocation.
      if (start === sandboxStart) reused++;
    }
    assert.ok(reused > 0, 'no invocation reused the sandbox, so nothing was checked');
  });
});
