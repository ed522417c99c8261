/**
 * AgentClient against fake agents that misbehave on purpose: garbage, silence, the wrong
 * version, oversize or contradictory answers. Each must end in FAAS_ERR_SANDBOX_FAILURE with a
 * message that says what happened, never in a hang or a crash; an agent that hangs up before it
 * answers HELLO is FAAS_ERR_SANDBOX_LOST, started false (the sandbox died while starting).
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import net from 'node:net';
import { after, describe, it } from 'node:test';
import { isFaasError } from '@faas/common';
import { faultStarted } from '../faults.js';
import { AgentClient, connectUnix, execResultLimit } from './client.js';
import { encodeFrame, type Frame } from './protocol.js';
import { type FakeAgent, type FakeBehaviour, fakeAgent, HELLO_OK, send, tempDir } from './test-support.js';

const fakes: FakeAgent[] = [];
after(async () => {
  for (const f of fakes) await f.stop();
});

async function fake(onFrame: FakeBehaviour, onConnect?: (s: net.Socket) => void): Promise<FakeAgent> {
  const f = await fakeAgent(onFrame, onConnect);
  fakes.push(f);
  return f;
}

function sandboxFailure(pattern: RegExp) {
  return (err: unknown): boolean => {
    assert.ok(isFaasError(err, 'FAAS_ERR_SANDBOX_FAILURE'), `expected FAAS_ERR_SANDBOX_FAILURE, got ${String(err)}`);
    assert.match((err as Error).message, pattern);
    return true;
  };
}

const connect = (path: string, helloTimeoutMs = 2000) =>
  connectUnix(path, { connectTimeoutMs: 2000, helloTimeoutMs, controlTimeoutMs: 500 });

/** Answers HELLO properly and hands every later frame to `then`. */
const afterHello =
  (then: FakeBehaviour): FakeBehaviour =>
  (frame, socket) =>
    frame.type === 'HELLO' ? send(socket, HELLO_OK) : then(frame, socket);

const EXEC = { command: ['true'], env: [], stdin: Buffer.alloc(0), timeoutMs: 1000, maxOutputBytes: 100 };
const RESULT: Frame = {
  type: 'EXEC_RESULT',
  stdout: Buffer.from('a'),
  stderr: Buffer.alloc(0),
  combined: Buffer.from('a'),
  exitCode: 0,
  signal: null,
  truncated: false,
  timedOut: false,
  durationMs: 1,
};

describe('AgentClient with misbehaving agents', { timeout: 30_000 }, () => {
  it('fails fast and clearly when the agent sends garbage', async () => {
    const f = await fake(
      () => undefined,
      (s) => s.write('HTTP/1.1 400 Bad Request\r\n\r\n'),
    );
    const started = Date.now();
    await assert.rejects(connect(f.socket), sandboxFailure(/invalid frame/));
    assert.ok(Date.now() - started < 1000);
  });

  it('an agent that hangs up before it answers HELLO is a sandbox lost before its start (started false)', async () => {
    for (const hangUp of [(s: net.Socket) => s.end(), (s: net.Socket) => s.destroy()]) {
      const f = await fake(() => undefined, hangUp);
      const err = await connect(f.socket).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(isFaasError(err, 'FAAS_ERR_SANDBOX_LOST'), `expected FAAS_ERR_SANDBOX_LOST, got ${String(err)}`);
      assert.equal(faultStarted(err), false);
      assert.match((err as Error).message, /hung up before answering HELLO/);
    }
  });

  it('times out HELLO against a silent agent', async () => {
    const f = await fake(() => undefined);
    await assert.rejects(connect(f.socket, 200), sandboxFailure(/did not answer HELLO within 200 ms/));
  });

  it('names what to rebuild on a protocol version mismatch', async () => {
    const f = await fake((_, s) => send(s, { ...HELLO_OK, protocolVersion: 2 } as Frame));
    await assert.rejects(connect(f.socket), sandboxFailure(/protocol mismatch.*rebuild the guest agent \(guest-agent\/build\.sh\)/));
    const g = await fake((_, s) => send(s, { type: 'ERROR', code: 'unsupported_version', message: 'agent speaks 9' }));
    await assert.rejects(connect(g.socket), sandboxFailure(/agent speaks 9.*rebuild the guest agent/));
  });

  it('refuses an oversize answer from its header alone', async () => {
    let sentBytes = 0;
    const f = await fake(
      afterHello((_, s) => {
        // Announce a frame far larger than a 100-byte output cap allows, then send nothing more.
        const header = Buffer.alloc(5);
        header.writeUInt32BE(execResultLimit(100) + 1, 0);
        header[4] = 0x82;
        sentBytes += header.length;
        s.write(header);
      }),
    );
    const client = await connect(f.socket);
    await assert.rejects(client.exec(EXEC), sandboxFailure(/frame_too_large/));
    assert.equal(sentBytes, 5);
    assert.ok(client.closed);
  });

  it('bounds EXEC with a host-side deadline when the guest never answers', async () => {
    const f = await fake(afterHello(() => undefined));
    const client = await connect(f.socket);
    const started = Date.now();
    await assert.rejects(client.exec(EXEC, { deadlineMs: 150 }), sandboxFailure(/did not answer EXEC within 150 ms/));
    assert.ok(Date.now() - started < 1000);
    await assert.rejects(client.exec(EXEC), sandboxFailure(/did not answer EXEC/));
  });

  it('rejects results that break the output cap or the combined-stream invariant', async () => {
    const answers: Frame[] = [
      { ...RESULT, stdout: Buffer.alloc(101), combined: Buffer.alloc(101) } as Frame,
      { ...RESULT, combined: Buffer.from('ab') } as Frame,
      { ...RESULT, exitCode: 0, signal: 'SIGKILL' } as Frame,
    ];
    for (const answer of answers) {
      const f = await fake(afterHello((_, s) => send(s, answer)));
      const client = await connect(f.socket);
      await assert.rejects(client.exec(EXEC), sandboxFailure(/cap|invariant|contradictory/));
      client.close();
    }
  });

  it('treats a wrong answer type, an unsolicited frame and a mid-frame hang-up as failures', async () => {
    const wrong = await fake(afterHello((_, s) => send(s, { type: 'RESET_OK', killed: 0 })));
    await assert.rejects((await connect(wrong.socket)).exec(EXEC), sandboxFailure(/RESET_OK where EXEC_RESULT/));

    const chatty = await fake((_, s) => {
      send(s, HELLO_OK);
      send(s, HELLO_OK);
    });
    const client = await connect(chatty.socket);
    await new Promise((r) => setTimeout(r, 50));
    await assert.rejects(client.reset(), sandboxFailure(/unsolicited HELLO_OK/));

    const cut = await fake(afterHello((_, s) => s.end(encodeFrame(RESULT).subarray(0, 12))));
    await assert.rejects((await connect(cut.socket)).exec(EXEC), sandboxFailure(/closed the connection/));
  });

  it('keeps the connection after an ERROR answer, which is a well-formed refusal', async () => {
    let n = 0;
    const f = await fake(afterHello((_, s) => send(s, n++ === 0 ? { type: 'ERROR', code: 'invalid_request', message: 'no' } : RESULT)));
    const client = await connect(f.socket);
    await assert.rejects(client.exec(EXEC), (err: unknown) => {
      assert.ok(isFaasError(err, 'FAAS_ERR_SANDBOX_FAILURE'));
      assert.equal(err.details?.agentCode, 'invalid_request');
      return true;
    });
    assert.equal((await client.exec(EXEC)).stdout.toString(), 'a');
    client.close();
  });

  it('rejects an aborted EXEC with the abort reason and closes the connection', async () => {
    const f = await fake(afterHello(() => undefined));
    const client = await connect(f.socket);
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('client went away')), 50);
    await assert.rejects(client.exec(EXEC, { signal: ac.signal }), /client went away/);
    assert.ok(client.closed);
    await assert.rejects(client.exec(EXEC), sandboxFailure(/aborted/));
  });

  it('refuses bad EXEC parameters before sending anything', async () => {
    const f = await fake(afterHello(() => undefined));
    const client = await connect(f.socket);
    await assert.rejects(client.exec({ ...EXEC, maxOutputBytes: 9 * 1024 * 1024 }), { code: 'FAAS_ERR_INTERNAL' });
    await assert.rejects(client.exec({ ...EXEC, timeoutMs: 0 }), { code: 'FAAS_ERR_INTERNAL' });
    await assert.rejects(client.exec({ ...EXEC, maxProcesses: -1 }), { code: 'FAAS_ERR_INTERNAL' });
    await assert.rejects(client.exec({ ...EXEC, maxProcesses: 2 ** 32 }), { code: 'FAAS_ERR_INTERNAL' });
    assert.ok(!client.closed);
    client.close();
  });

  it('sends max_processes only to an agent that lists the capability, and refuses it to any other', async () => {
    const seen: Frame[] = [];
    const record: FakeBehaviour = (frame, socket) => {
      seen.push(frame);
      send(socket, RESULT);
    };
    const old = await fake(afterHello(record));
    const oldClient = await connect(old.socket);
    await assert.rejects(oldClient.exec({ ...EXEC, maxProcesses: 32 }), sandboxFailure(/max_processes.*rebuild the guest agent/));
    assert.equal(seen.length, 0, 'nothing was sent to the agent that cannot apply it');
    // Without the field, the older agent is used as before.
    assert.equal((await oldClient.exec(EXEC)).stdout.toString(), 'a');
    assert.equal(seen.length, 1);
    oldClient.close();

    const helloOk: Frame = { type: 'HELLO_OK', protocolVersion: 1, agentVersion: 'fake', capabilities: ['exec', 'max_processes'] };
    const current = await fake((frame, socket) => (frame.type === 'HELLO' ? send(socket, helloOk) : record(frame, socket)));
    const client = await connect(current.socket);
    await client.exec({ ...EXEC, maxProcesses: 32 });
    const exec = seen[1];
    assert.equal(exec?.type, 'EXEC');
    assert.equal(exec?.type === 'EXEC' ? exec.maxProcesses : undefined, 32);
    client.close();
  });
});

describe('connectUnix', { timeout: 30_000 }, () => {
  it('retries until the socket appears', async () => {
    const dir = tempDir('late');
    const path = `${dir}/agent.sock`;
    const server = net.createServer((s) => s.on('data', () => send(s, HELLO_OK)));
    setTimeout(() => server.listen(path), 150);
    try {
      const client = await connect(path);
      assert.equal(client.agentVersion, 'fake');
      assert.equal(client.protocolVersion, 1);
      client.close();
    } finally {
      await new Promise((r) => server.close(r));
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('stops waiting for the socket as soon as the sandbox is known dead: a loss before the start', async () => {
    const dir = tempDir('dead');
    let dead: string | undefined;
    setTimeout(() => {
      dead = 'its container exited (code 137)';
    }, 50);
    const started = Date.now();
    try {
      const err = await connectUnix(`${dir}/agent.sock`, { connectTimeoutMs: 10_000, helloTimeoutMs: 100, gone: () => dead }).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(isFaasError(err, 'FAAS_ERR_SANDBOX_LOST'), `expected FAAS_ERR_SANDBOX_LOST, got ${String(err)}`);
      assert.equal(faultStarted(err), false);
      assert.match((err as Error).message, /code 137/);
      assert.ok(Date.now() - started < 2000, 'waited for the socket of a dead sandbox');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('gives up at its deadline with a clear error', async () => {
    const dir = tempDir('never');
    try {
      await assert.rejects(
        connectUnix(`${dir}/agent.sock`, { connectTimeoutMs: 100, helloTimeoutMs: 100 }),
        sandboxFailure(/did not accept a connection within 100 ms/),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('accepts any connected duplex stream in AgentClient.connect', async () => {
    const f = await fake((_, s) => send(s, HELLO_OK));
    const socket = net.createConnection(f.socket);
    await new Promise((r) => socket.once('connect', r));
    const client = await AgentClient.connect(socket, { helloTimeoutMs: 1000 });
    assert.deepEqual(client.capabilities, ['exec']);
    client.close();
    assert.ok(socket.destroyed);
  });
});
