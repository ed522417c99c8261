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

describe('a body over the limit', () => {
  it('is answered 413 while the client still sends, and the connection stays usable: no EPIPE, the next request is served', async () => {
    const limit = gateway.config.gateway.maxBodyBytes;
    const size = limit * 3;
    const socket = net.connect({ host: '127.0.0.1', port });
    await new Promise((r) => socket.once('connect', r));
    const head = `POST /functions/f/invoke HTTP/1.1\r\nHost: x\r\nauthorization: Bearer ${ADMIN_KEY}\r\ncontent-type: application/json\r\ncontent-length: ${size}\r\n\r\n`;
    socket.write(head);
    const answer = await readUntil(socket, (t) => t.includes('\r\n\r\n') && t.includes('}'));
    assert.match(answer, /^HTTP\/1\.1 413 /);
    assert.match(answer, /FAAS_ERR_BODY_TOO_LARGE/);
    assert.doesNotMatch(answer, /connection: close/i);
    // The client goes on sending the body it announced: every write must succeed.
    const chunk = Buffer.alloc(64 * 1024, 'a');
    for (let sent = 0; sent < size; sent += chunk.length) {
      const part = chunk.subarray(0, Math.min(chunk.length, size - sent));
      await new Promise<void>((resolve, reject) => socket.write(part, (err) => (err ? reject(err) : resolve())));
    }
    socket.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
    const next = await readUntil(socket, (t) => t.includes('"status":"ok"'));
    assert.match(next, /^HTTP\/1\.1 200 /);
    socket.destroy();
  });
});
