/**
 * AttachDuplex over an in-memory stand-in for Docker's hijacked attach connection: multiplexed
 * frames split at every byte boundary, stderr frames kept out of the stream and bounded, raw
 * writes, and the end of the stream in both directions.
 */
import assert from 'node:assert/strict';
import { Duplex, PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { AgentClient } from '../agent/client.js';
import { encodeFrame, FrameDecoder } from '../agent/protocol.js';
import { AttachDuplex } from './attach-duplex.js';

/** One Docker multiplexed frame: [stream, 0, 0, 0, size u32 BE] + data. */
function muxFrame(stream: 0 | 1 | 2, data: Buffer | string): Buffer {
  const body = Buffer.from(data);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(body.length, 4);
  return Buffer.concat([header, body]);
}

/** The engine's side (`engine`: what the container writes, what reaches its stdin) and ours (`raw`). */
function fakeAttach(): { raw: Duplex; toHost: PassThrough; stdin: Buffer[]; stdinEnded: Promise<void> } {
  const toHost = new PassThrough();
  const stdin: Buffer[] = [];
  let ended: () => void = () => undefined;
  const stdinEnded = new Promise<void>((resolve) => {
    ended = resolve;
  });
  const raw = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, cb) {
      stdin.push(chunk);
      cb();
    },
    final(cb) {
      ended();
      cb();
    },
  });
  toHost.on('data', (c: Buffer) => raw.push(c));
  toHost.on('end', () => raw.push(null));
  return { raw, toHost, stdin, stdinEnded };
}

function collect(stream: Duplex): Promise<Buffer> {
  const chunks: Buffer[] = [];
  return new Promise((resolve, reject) => {
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });
}

describe('AttachDuplex', () => {
  it('passes stdout frames split at every byte boundary, drops stdin echo, keeps stderr apart', async () => {
    const { raw, toHost } = fakeAttach();
    const logs: string[] = [];
    const duplex = new AttachDuplex(raw, { onStderr: (d) => logs.push(d.toString()) });
    const out = collect(duplex);
    const wire = Buffer.concat([
      muxFrame(1, 'hello '),
      muxFrame(2, 'agent log line\n'),
      muxFrame(0, 'echo'),
      muxFrame(1, ''),
      muxFrame(1, 'world'),
    ]);
    for (let i = 0; i < wire.length; i++) toHost.write(wire.subarray(i, i + 1));
    toHost.end();
    assert.equal((await out).toString(), 'hello world');
    assert.equal(logs.join(''), 'agent log line\n');
  });

  it('bounds the stderr it passes on and counts what it dropped', async () => {
    const { raw, toHost } = fakeAttach();
    const logs: Buffer[] = [];
    const duplex = new AttachDuplex(raw, { onStderr: (d) => logs.push(d), maxStderrBytes: 10 });
    const out = collect(duplex);
    toHost.write(muxFrame(2, 'x'.repeat(8)));
    toHost.write(muxFrame(2, 'y'.repeat(8)));
    toHost.write(muxFrame(1, 'ok'));
    toHost.end();
    assert.equal((await out).toString(), 'ok');
    assert.equal(Buffer.concat(logs).toString(), `${'x'.repeat(8)}yy`);
    assert.equal(duplex.stderrDropped, 6);
  });

  it('writes raw bytes to stdin and ends it on end()', async () => {
    const { raw, toHost, stdin, stdinEnded } = fakeAttach();
    const duplex = new AttachDuplex(raw);
    duplex.write(Buffer.from([0, 0, 0, 2, 4]));
    duplex.end(Buffer.from('{}'));
    await stdinEnded;
    assert.deepEqual(Buffer.concat(stdin), Buffer.from([0, 0, 0, 2, 4, 0x7b, 0x7d]));
    toHost.end();
  });

  it('ends when the connection closes without a clean end, and destroys the connection on destroy', async () => {
    const a = fakeAttach();
    const first = new AttachDuplex(a.raw);
    const closed = new Promise<void>((resolve) => first.on('close', resolve));
    first.resume();
    a.raw.destroy();
    await closed;
    assert.ok(first.destroyed);

    const b = fakeAttach();
    const second = new AttachDuplex(b.raw);
    second.destroy();
    await new Promise((resolve) => setImmediate(resolve));
    assert.ok(b.raw.destroyed);
  });

  it('carries an agent conversation: HELLO in raw on stdin, HELLO_OK back in stdout frames', async () => {
    const { raw, toHost, stdin } = fakeAttach();
    const decoder = new FrameDecoder(64 * 1024);
    const answered = new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        const frames = decoder.push(Buffer.concat(stdin.splice(0)));
        if (frames.some((f) => f.type === 'HELLO')) {
          clearInterval(timer);
          const reply = encodeFrame({ type: 'HELLO_OK', protocolVersion: 1, agentVersion: '0.1.0', capabilities: ['exec'] });
          toHost.write(muxFrame(2, 'serving stdio\n'));
          // Split the answer across two Docker frames, as the engine may.
          toHost.write(muxFrame(1, reply.subarray(0, 3)));
          toHost.write(muxFrame(1, reply.subarray(3)));
          resolve();
        }
      }, 1);
    });
    const client = await AgentClient.connect(new AttachDuplex(raw), { helloTimeoutMs: 2000 });
    await answered;
    assert.equal(client.agentVersion, '0.1.0');
    assert.deepEqual(client.capabilities, ['exec']);
    client.close();
    assert.ok(raw.destroyed);
  });
});
