/**
 * The fault classification every agent-backed executor shares (run.ts, faults.ts), against fake
 * agents on a unix socket: when the sandbox dies, and what the host knew when, decides between the
 * function's result, FAAS_ERR_SANDBOX_LOST (with `started`) and FAAS_ERR_SANDBOX_FAILURE.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { isFaasError } from '@faas/common';
import { execRequest } from '../exec-request.js';
import { faultStarted } from '../faults.js';
import { type AgentClient, connectUnix } from './client.js';
import type { Frame } from './protocol.js';
import { execOnAgent } from './run.js';
import { type FakeAgent, fakeAgent, HELLO_OK, send } from './test-support.js';

const agents: FakeAgent[] = [];
after(async () => {
  for (const agent of agents) await agent.stop();
});

/** A fake agent that says HELLO, then does `onExec` with the EXEC frame. */
async function agentThat(onExec: (frame: Frame, socket: import('node:net').Socket) => void): Promise<AgentClient> {
  const agent = await fakeAgent((frame, socket) => {
    if (frame.type === 'HELLO') send(socket, HELLO_OK);
    else if (frame.type === 'EXEC') onExec(frame, socket);
  });
  agents.push(agent);
  return connectUnix(agent.socket, { helloTimeoutMs: 2000, connectTimeoutMs: 2000 });
}

const result = (extra: Partial<Extract<Frame, { type: 'EXEC_RESULT' }>> = {}): Frame => ({
  type: 'EXEC_RESULT',
  exitCode: 0,
  signal: null,
  stdout: Buffer.from('ok\n'),
  stderr: Buffer.alloc(0),
  combined: Buffer.from('ok\n'),
  truncated: false,
  timedOut: false,
  durationMs: 1,
  ...extra,
});

async function outcome(run: Promise<unknown>): Promise<{ value?: unknown; err?: unknown }> {
  return run.then(
    (value) => ({ value }),
    (err: unknown) => ({ err }),
  );
}

function assertLost(err: unknown, started: boolean): void {
  assert.ok(isFaasError(err, 'FAAS_ERR_SANDBOX_LOST'), `expected FAAS_ERR_SANDBOX_LOST, got ${String(err)}`);
  assert.equal(faultStarted(err), started);
}

describe('execOnAgent: outcome or platform fault', () => {
  it('an agent that hung up before EXEC: lost, started false, and nothing is sent', async () => {
    let execs = 0;
    const agent = await agentThat(() => execs++);
    const gone = new Promise<void>((resolve) => agent.whenLost(resolve));
    for (const a of agents) await a.stop();
    agents.length = 0;
    await gone;
    const { err } = await outcome(execOnAgent(agent, execRequest(['true']), { slackMs: 1000 }));
    assertLost(err, false);
    assert.equal(execs, 0);
  });

  it('a sandbox the executor knows dead: lost, started false', async () => {
    let execs = 0;
    const agent = await agentThat(() => execs++);
    const { err } = await outcome(execOnAgent(agent, execRequest(['true']), { slackMs: 1000, lost: () => 'its container exited' }));
    assertLost(err, false);
    assert.match((err as Error).message, /its container exited/);
    assert.equal(execs, 0);
    agent.close();
  });

  it('an agent that hangs up while the command runs: lost, started true', async () => {
    const agent = await agentThat((_frame, socket) => setTimeout(() => socket.destroy(), 50));
    const { err } = await outcome(execOnAgent(agent, execRequest(['sleep', '5']), { slackMs: 1000 }));
    assertLost(err, true);
  });

  it('a kill-shaped ending while the executor learns the sandbox died: lost, not the exit code', async () => {
    let dead: string | undefined;
    const agent = await agentThat((_frame, socket) => {
      dead = 'its container was sent signal 15 from outside';
      send(socket, result({ exitCode: 143 }));
    });
    const { err } = await outcome(execOnAgent(agent, execRequest(['sh', '-c', 'sleep 8']), { slackMs: 1000, lost: () => dead }));
    assertLost(err, true);
    agent.close();
  });

  it("an ordinary ending is the command's own, even from a sandbox that died a moment later", async () => {
    let dead: string | undefined;
    const agent = await agentThat((_frame, socket) => {
      dead = 'its container exited';
      send(socket, result({ exitCode: 3 }));
    });
    const { value } = await outcome(execOnAgent(agent, execRequest(['sh', '-c', 'exit 3']), { slackMs: 1000, lost: () => dead }));
    assert.equal((value as { facts: { exitCode: number } }).facts.exitCode, 3);
    agent.close();
  });

  it('an agent that breaks the protocol: sandbox failure, started true', async () => {
    const agent = await agentThat((_frame, socket) => socket.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x01])));
    const { err } = await outcome(execOnAgent(agent, execRequest(['true']), { slackMs: 1000 }));
    assert.ok(isFaasError(err, 'FAAS_ERR_SANDBOX_FAILURE'), String(err));
    assert.equal(faultStarted(err), true);
  });

  it('a well-formed refusal: sandbox failure, started false', async () => {
    const agent = await agentThat((_frame, socket) => send(socket, { type: 'ERROR', code: 'bad_request', message: 'no' }));
    const { err } = await outcome(execOnAgent(agent, execRequest(['true']), { slackMs: 1000 }));
    assert.ok(isFaasError(err, 'FAAS_ERR_SANDBOX_FAILURE'), String(err));
    assert.equal(faultStarted(err), false);
    agent.close();
  });
});
