/**
 * What a function cannot do, checked from inside the sandbox over HTTP: exceed its memory, pids,
 * /tmp or output limits, reach a network, be root, hold capabilities, or write outside /tmp.
 * Run against both container mechanisms: warm agent-backed sandboxes (the default pool mode) and
 * one-shot containers (FAAS_POOL_MODE=off).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BUSYBOX, PYTHON } from '../support/images.js';
import { usePlatform } from '../support/platform.js';

const OUTPUT_CAP = 8192;
const TMP_MB = 1;

const MODES: Array<[string, Record<string, string>]> = [
  ['warm pool (default)', {}],
  ['one-shot containers', { FAAS_POOL_MODE: 'off' }],
];

for (const [mode, env] of MODES) {
  describe(`isolation: ${mode}`, () => {
    const p = usePlatform({ ...env, FAAS_TMP_SIZE_MB: String(TMP_MB), FAAS_MAX_OUTPUT_BYTES: String(OUTPUT_CAP) });

    describe('cases', { concurrency: 4 }, () => {
      it('a function over limits.memory_mb is killed and the error says memory', async () => {
        const result = await p.client.run('hog', {
          image: PYTHON,
          command: ['python3', '-c', "s = 'a' * (200 * 1024 * 1024); print(len(s))"],
          limits: { memory_mb: 32 },
        });
        assert.equal(result.exit_code, null, `exit ${result.exit_code}: ${result.stderr.toString()}`);
        assert.equal(result.signal, 'SIGKILL');
        assert.ok(result.error, 'error must be set');
        assert.match(result.error, /memory/i);
      });

      it('a function cannot start more processes than limits.pids, and the server keeps serving', async () => {
        const script = [
          'import os, time',
          'n = 0',
          'for _ in range(64):',
          '    try:',
          '        pid = os.fork()',
          '    except OSError:',
          '        break',
          '    if pid == 0:',
          '        time.sleep(5)',
          '        os._exit(0)',
          '    n += 1',
          'print(n)',
        ].join('\n');
        const result = await p.client.run('forker', { image: PYTHON, command: ['python3', '-c', script], limits: { pids: 16 } });
        const forked = Number(result.stdout.toString().trim());
        assert.ok(Number.isInteger(forked) && forked >= 1 && forked < 16, `forked ${result.stdout.toString()} ${result.stderr.toString()}`);
        const after = await p.client.run('after-forker', { image: BUSYBOX, command: ['echo', 'alive'] });
        assert.equal(after.stdout.toString(), 'alive\n');
      });

      it('has no network: only the loopback interface, and connecting out fails', async () => {
        const links = await p.client.run('net', { image: BUSYBOX, command: ['ls', '/sys/class/net'] });
        assert.equal(links.stdout.toString(), 'lo\n');
        const script = [
          'import socket',
          's = socket.socket()',
          's.settimeout(5)',
          'try:',
          '    s.connect(("1.1.1.1", 80))',
          '    print("connected")',
          'except OSError as e:',
          '    print("failed", e.errno)',
        ].join('\n');
        const connect = await p.client.run('net-connect', { image: PYTHON, command: ['python3', '-c', script] });
        assert.match(connect.stdout.toString(), /^failed /, connect.stdout.toString());
      });

      it('runs as uid and gid 65534, not root', async () => {
        const result = await p.client.run('whoami', { image: BUSYBOX, command: ['sh', '-c', 'id -u; id -g'] });
        assert.equal(result.stdout.toString(), '65534\n65534\n');
      });

      it('holds no capabilities and cannot gain privileges', async () => {
        const result = await p.client.run('caps', { image: BUSYBOX, command: ['cat', '/proc/self/status'] });
        const status = Object.fromEntries(
          result.stdout
            .toString()
            .split('\n')
            .map((line) => line.split(/:\s*/) as [string, string]),
        );
        for (const set of ['CapInh', 'CapPrm', 'CapEff', 'CapAmb']) {
          assert.equal(status[set], '0000000000000000', `${set} is ${status[set]}`);
        }
        assert.equal(status.NoNewPrivs, '1');
      });

      it('has a read-only root filesystem', async () => {
        const result = await p.client.run('ro', {
          image: BUSYBOX,
          command: ['sh', '-c', 'grep " / " /proc/mounts; touch /etc/probe 2>&1; echo "rc=$?"'],
        });
        const [mount, ...rest] = result.stdout.toString().trim().split('\n');
        assert.match(mount ?? '', / ro[, ]/, `root mount: ${mount}`);
        assert.notEqual(rest.at(-1), 'rc=0', 'writing under /etc succeeded');
      });

      it('has a writable /tmp capped at FAAS_TMP_SIZE_MB', async () => {
        const result = await p.client.run('tmpfill', {
          image: BUSYBOX,
          command: ['sh', '-c', `head -c ${2 * TMP_MB * 1048576} /dev/zero > /tmp/big; echo "rc=$?"; wc -c < /tmp/big`],
        });
        const [rc, size] = result.stdout.toString().trim().split('\n');
        assert.notEqual(rc, 'rc=0', 'writing past the /tmp cap succeeded');
        assert.ok(Number(size) > 0 && Number(size) <= TMP_MB * 1048576, `wrote ${size} bytes`);
        assert.ok(result.stderr.length > 0, 'the failed write said nothing');
      });

      it('caps output at FAAS_MAX_OUTPUT_BYTES and says truncated', async () => {
        const result = await p.client.run('chatty', { image: BUSYBOX, command: ['head', '-c', '100000', '/dev/zero'] });
        assert.equal(result.truncated, true);
        assert.equal(result.stdout.length, OUTPUT_CAP);
        assert.equal(result.exit_code, 0);
        assert.equal(result.error, null);
      });
    });
  });
}
