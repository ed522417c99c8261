/**
 * The invocation path end to end over HTTP against the real Docker engine: the design document's
 * request and result, function failures as results, byte-exact stdin and stdout, env vars, and
 * the Python and Node images.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { binaryPayload } from '../contract/executor-contract.js';
import { BUSYBOX, NODE, PYTHON } from '../support/images.js';
import { usePlatform } from '../support/platform.js';

const p = usePlatform();

describe('invoke', { concurrency: 4 }, () => {
  it('runs the design document request and returns its InvocationResult', async () => {
    // Steps 1-13 of the design document's job execution flow, observed from the client.
    const body = {
      image: BUSYBOX,
      command: ['sh', '-c', 'cat; echo " $VAR1 $VAR2"; echo to-stderr >&2'],
      env_vars: ['VAR1=value1', 'VAR2=value2'],
      payload_base64: 'SGVsbG8gd29ybGQh',
    };
    const first = await p.client.run('hello-fn', body);
    assert.equal(first.request_id, 'hello-fn');
    assert.equal(first.stdout.toString(), 'Hello world! value1 value2\n');
    assert.equal(first.stderr.toString(), 'to-stderr\n');
    // Writes to two pipes at nearly the same moment may arrive in either order; each stream's own
    // bytes must all be there, in order.
    const logs = first.logs.toString();
    assert.equal(first.logs.length, first.stdout.length + first.stderr.length, 'logs must hold both streams');
    assert.equal(logs.replace('to-stderr\n', ''), 'Hello world! value1 value2\n', logs);
    assert.equal(first.error, null);
    assert.equal(first.exit_code, 0);
    assert.equal(first.signal, null);
    assert.equal(first.truncated, false);
    assert.equal(first.executor, 'docker');
    assert.ok(first.duration_ms >= 0);
    assert.ok(first.invocation_id.length > 0);
    assert.equal(first.invocation_id, first.header, 'invocation_id must equal the x-faas-invocation-id header');

    const second = await p.client.run('hello-fn', body);
    assert.equal(second.stdout.toString(), 'Hello world! value1 value2\n');
    assert.notEqual(second.invocation_id, first.invocation_id, 'each invocation gets its own id');
    assert.equal(second.invocation_id, second.header);
  });

  it('accepts the documented minimal request (no env_vars, no payload) and nulls for both', async () => {
    const minimal = await p.client.run('minimal', { image: BUSYBOX, command: ['echo', 'ok'] });
    assert.equal(minimal.stdout.toString(), 'ok\n');
    const nulls = await p.client.run('nulls', { image: BUSYBOX, command: ['cat'], env_vars: null, payload_base64: null });
    assert.equal(nulls.stdout.length, 0);
    assert.equal(nulls.exit_code, 0);
  });

  it('reports a non-zero exit as a 200 with error naming the status, keeping the output', async () => {
    const result = await p.client.run('fails', { image: BUSYBOX, command: ['sh', '-c', 'echo partial; echo oops >&2; exit 3'] });
    assert.equal(result.exit_code, 3);
    assert.ok(result.error, 'error must be set');
    assert.match(result.error, /status/i);
    assert.match(result.error, /\b3\b/);
    assert.equal(result.stdout.toString(), 'partial\n');
    assert.equal(result.stderr.toString(), 'oops\n');
  });

  it('reports a command that does not exist as a 200 with exit 127 and an error naming it', async () => {
    const result = await p.client.run('missing', { image: BUSYBOX, command: ['no-such-command-xyz', '--flag'] });
    assert.equal(result.exit_code, 127);
    assert.ok(result.error, 'error must be set');
    assert.match(result.error, /no-such-command-xyz/);
    assert.match(result.error, /not found/i);
  });

  it('pipes every byte value through stdin and back byte-exact', async () => {
    const payload = binaryPayload(300_000);
    const result = await p.client.run('binary-stdin', { image: BUSYBOX, command: ['cat'], payload_base64: payload.toString('base64') });
    assert.equal(result.exit_code, 0, result.error ?? '');
    assert.equal(result.stdout.length, payload.length);
    assert.ok(result.stdout.equals(payload), 'stdout differs from the payload');
  });

  it('returns binary stdout byte-exact (escapes and random bytes checked by sha256)', async () => {
    const escapes = await p.client.run('binary-printf', { image: BUSYBOX, command: ['printf', '\\000\\001\\177\\200\\377A\\n'] });
    assert.deepEqual([...escapes.stdout], [0, 1, 0x7f, 0x80, 0xff, 0x41, 0x0a]);

    const random = await p.client.run('binary-random', {
      image: BUSYBOX,
      command: ['sh', '-c', 'head -c 200000 /dev/urandom > /tmp/r && sha256sum /tmp/r >&2 && cat /tmp/r'],
    });
    assert.equal(random.exit_code, 0, random.stderr.toString());
    assert.equal(random.stdout.length, 200_000);
    const inside = random.stderr.toString().split(/\s+/)[0];
    assert.equal(createHash('sha256').update(random.stdout).digest('hex'), inside, 'the bytes differ from those the command wrote');
  });

  it('passes env vars exactly, including spaces, "=", unicode and empty values', async () => {
    const env_vars = ['PLAIN=1', 'SPACED=hello world', 'EQUALS=a=b', 'UNICODE=h\u00e9llo \u2603', 'EMPTY='];
    const result = await p.client.run('env', {
      image: BUSYBOX,
      // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion, not a template
      command: ['sh', '-c', 'printf "%s|%s|%s|%s|%s|%s" "$PLAIN" "$SPACED" "$EQUALS" "$UNICODE" "${EMPTY-unset}" "${ABSENT-unset}"'],
      env_vars,
    });
    assert.equal(result.stdout.toString('utf8'), '1|hello world|a=b|h\u00e9llo \u2603||unset');
  });

  it('runs Python from faas/python', async () => {
    const result = await p.client.run('python', {
      image: PYTHON,
      command: ['python3', '-c', 'import sys; data = sys.stdin.buffer.read(); print(len(data), data.decode()[::-1])'],
      payload_base64: Buffer.from('stressed').toString('base64'),
    });
    assert.equal(result.exit_code, 0, result.stderr.toString());
    assert.equal(result.stdout.toString(), '8 desserts\n');
  });

  it('runs Node from faas/node', async () => {
    const script =
      'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => console.log(JSON.stringify({ n: s.length, up: s.toUpperCase() })));';
    const result = await p.client.run('node', {
      image: NODE,
      command: ['node', '-e', script],
      payload_base64: Buffer.from('lambda').toString('base64'),
    });
    assert.equal(result.exit_code, 0, result.stderr.toString());
    assert.deepEqual(JSON.parse(result.stdout.toString()), { n: 6, up: 'LAMBDA' });
  });
});
