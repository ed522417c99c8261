import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ADMIN_KEY, startTestGateway, type TestGateway } from './test-fixtures.js';

let gateway: TestGateway;
let port: number;

before(async () => {
  gateway = await startTestGateway({ FAAS_MAX_PAYLOAD_BYTES: '1024' });
  await gateway.app.listen({ host: '127.0.0.1', port: 0 });
  port = (gateway.app.server.address() as net.AddressInfo).port;
});
after(() => gateway.close());

/** Reads from `socket` until `text` holds `predicate`, or fails after `withinMs`. */
function readUntil(socket: net.Socket, predicate: (text: string) => boolean, withinMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`timed out; got: ${text.slice(0, 500)}`)), withinMs);
    const onData = (chunk: Buffer) => {
      text += chunk.toString('latin1');
      if (predicate(text)) {
        clearTimeout(timer);
        socket.off('data', onData);
        resolve(text);
      }
    };
    socket.on('data', onData);
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** Sends a POST announcing and then sending `size` bytes in 64 KiB writes, each of which must succeed. */
async function sendOversized(socket: net.Socket, size: number, extraHeaders = ''): Promise<void> {
  const head = `POST /functions/f/invoke HTTP/1.1\r\nHost: x\r\nauthorization: Bearer ${ADMIN_KEY}\r\ncontent-type: application/json\r\n${extraHeaders}content-length: ${size}\r\n\r\n`;
  await new Promise<void>((resolve, reject) => socket.write(head, (err) => (err ? reject(err) : resolve())));
  // The server has the headers (and could answer) well before the body follows.
  await new Promise((r) => setTimeout(r, 200));
  const chunk = Buffer.alloc(64 * 1024, 'a');
  for (let sent = 0; sent < size; sent += chunk.length) {
    const part = chunk.subarray(0, Math.min(chunk.length, size - sent));
    await new Promise<void>((resolve, reject) => socket.write(part, (err) => (err ? reject(err) : resolve())));
  }
}

async function connect(): Promise<net.Socket> {
  const socket = net.connect({ host: '127.0.0.1', port });
  await new Promise((r) => socket.once('connect', r));
  return socket;
}

describe('a body over the limit', () => {
  it('is answered 413 once the client has sent it, every write succeeding, and the connection serves the next request', async () => {
    const size = gateway.config.gateway.maxBodyBytes * 3;
    const socket = await connect();
    let bodySent = false;
    let answeredEarly = false;
    const answer = readUntil(socket, (t) => t.includes('FAAS_ERR_BODY_TOO_LARGE') && t.includes('}'), 15_000).then((t) => {
      answeredEarly = !bodySent;
      return t;
    });
    await sendOversized(socket, size);
    bodySent = true;
    const text = await answer;
    // Answered while the body still came in, a client that closes on the answer fails its next write.
    assert.equal(answeredEarly, false, 'the 413 came before the body was read');
    assert.match(text, /^HTTP\/1\.1 413 /);
    assert.doesNotMatch(text, /connection: close/i);
    socket.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
    const next = await readUntil(socket, (t) => t.includes('"status":"ok"'));
    assert.match(next, /^HTTP\/1\.1 200 /);
    socket.destroy();
  });

  it('reaches a client that asked to close the connection (as one-request clients do) before it closes', async () => {
    const size = gateway.config.gateway.maxBodyBytes * 2;
    const socket = await connect();
    const answer = readUntil(socket, (t) => t.includes('FAAS_ERR_BODY_TOO_LARGE') && t.includes('}'), 15_000);
    await sendOversized(socket, size, 'connection: close\r\n');
    assert.match(await answer, /^HTTP\/1\.1 413 /);
    socket.destroy();
  });
});
