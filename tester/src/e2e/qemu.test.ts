/**
 * `faas serve` with FAAS_EXECUTOR_TYPE=qemu answers the design document's invoke request from
 * inside a booted microVM (software emulation on machines without KVM), for the busybox and Python
 * images, and leaves no VM process behind once stopped.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { vmUnavailableReason } from '../contract/vm-support.js';
import { assertError, type ErrorBody } from '../support/http.js';
import { BUSYBOX, PYTHON } from '../support/images.js';
import { usePlatform } from '../support/platform.js';

const unavailable = vmUnavailableReason('qemu-system-x86_64');

/** VMM processes this test process started (the platform runs in-process). */
function ownVmms(): string[] {
  const mine: string[] = [];
  for (const pid of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const [comm, rest] = [stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), stat.slice(stat.lastIndexOf(')') + 2)];
      if (comm.startsWith('qemu-system') && Number(rest.split(' ')[1]) === process.pid) mine.push(pid);
    } catch {
      // Exited while we looked.
    }
  }
  return mine;
}

describe('qemu executor over HTTP', { skip: unavailable }, () => {
  const p = usePlatform({ FAAS_EXECUTOR_TYPE: 'qemu', FAAS_POOL_MIN_IDLE: '1' });
  after(() => {
    assert.deepEqual(ownVmms(), [], 'VM processes left running after the platform stopped');
  });

  it('runs the design document request inside a VM (busybox)', async () => {
    const result = await p.client.run('vm-hello', {
      image: BUSYBOX,
      // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion
      command: ['sh', '-c', 'cat; echo; echo "${GREETING}"; uname -r; id -u; cat /proc/1/comm'],
      env_vars: ['GREETING=hello from a microVM'],
      payload_base64: 'SGVsbG8gd29ybGQh',
    });
    assert.equal(result.error, null, result.stderr.toString());
    assert.equal(result.executor, 'qemu');
    const [stdin, greeting, kernel, uid, init] = result.stdout.toString().trim().split('\n');
    assert.equal(stdin, 'Hello world!');
    assert.equal(greeting, 'hello from a microVM');
    // The guest's own kernel, not the host's: the VM really booted.
    assert.notEqual(kernel, readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim());
    assert.equal(uid, '65534');
    // PID 1 is the guest agent (installed as the rootfs's /faas/agent): no container runtime in between.
    assert.equal(init, 'agent');
  });

  it('runs Python inside a VM, and reports a non-zero exit as the function’s failure', async () => {
    const result = await p.client.run('vm-python', {
      image: PYTHON,
      command: ['python3', '-c', 'import sys; data = sys.stdin.buffer.read(); print(len(data)); sys.exit(3)'],
      payload_base64: Buffer.from('abc\0def').toString('base64'),
    });
    assert.equal(result.stdout.toString(), '7\n');
    assert.equal(result.exit_code, 3);
    assert.match(result.error ?? '', /non-zero status: 3/);
  });

  // Under emulation the guest clock used to fall behind the host's: a long timeout fired late in
  // the guest, after the host had given up, and the answer was a 502 instead of the timeout.
  it('a CPU spin that ignores TERM, with the default 30 s timeout, is the timeout answer (504), not a fault', async () => {
    const answer = await p.client.invoke('vm-spin', { image: BUSYBOX, command: ['sh', '-c', 'trap "" TERM INT; while :; do :; done'] });
    assertError(answer, 504, 'FAAS_ERR_TIMEOUT');
  });

  it('an endless stderr flood with the default 30 s timeout is the timeout answer with its output capped', async () => {
    const answer = await p.client.invoke('vm-flood', { image: BUSYBOX, command: ['sh', '-c', 'yes BBBBBBBBBBBBBBBBBBBBBBBB >&2'] });
    const body = assertError(answer, 504, 'FAAS_ERR_TIMEOUT') as ErrorBody & { truncated?: boolean };
    assert.equal(body.truncated, true, 'the output kept is capped');
    assert.match(Buffer.from(body.logs_base64 ?? '', 'base64').toString(), /^B{24}\n/);
  });
});
