import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Invocation, type InvocationRecord, silentLogger } from '@faas/common';
import { Registry } from 'prom-client';
import { type Hex, hexToBytes } from 'viem';
import type { JobSubmittedEvent } from '../abi/events.js';
import { decodeResult, encodeResult, type JobResult } from '../abi/results.js';
import { CallHandler, type CallProgress, LOST_CODE } from './calls.js';
import { StoppedError } from './chain.js';
import { memoryKv } from './fake-chain.js';
import { OperatorMetrics } from './metrics.js';
import type { RunHooks } from './runner.js';
import type { AnswerOutcome } from './sender.js';
import { type CallRecord, type CallRef, OperatorState } from './state.js';

const EVENT: JobSubmittedEvent = {
  serviceId: 0n,
  callId: 5n,
  jobIndex: 0,
  caller: '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266',
  inputs: '0x',
  blockNumber: 10n,
  blockHash: '0x00',
  transactionHash: `0x${'ab'.repeat(32)}`,
  logIndex: 0,
};
const REF: CallRef = { serviceId: EVENT.serviceId, callId: EVENT.callId, submitTx: EVENT.transactionHash };

function completed(invocationId: string): JobResult {
  return {
    invocationId,
    status: 'completed',
    exitCode: 0,
    signal: null,
    stdout: Buffer.from('ran'),
    stderr: new Uint8Array(),
    truncated: false,
    errorCode: null,
    error: null,
    durationMs: 3,
  };
}

function invocation(id: string): Invocation {
  return {
    id,
    functionId: 'tangle-0-0xf39f',
    image: 'faas/busybox:latest',
    command: ['true'],
    env: [],
    stdin: Buffer.from('12345'),
    limits: {} as Invocation['limits'],
    timeoutMs: 1000,
    executor: 'docker',
  };
}

function setUp() {
  const kv = memoryKv();
  const state = new OperatorState(kv, 31337, '0x0165878A594ca255338adfa4d48449f69242Eb8F');
  const history = new Map<string, InvocationRecord>();
  const answers: Hex[] = [];
  const runs: string[] = [];
  let completedOnChain = false;
  /** What each run does once it is announced; a run by default completes. */
  let behaviour: (hooks: RunHooks, id: string) => Promise<JobResult> = async (hooks, id) => {
    await hooks.starting?.(invocation(id));
    return completed(id);
  };
  let answer: (result: Hex) => Promise<AnswerOutcome> = async (result) => {
    answers.push(result);
    await state.setCall(REF, { state: 'answered', hash: '0x01', block: '12', at: Date.now() });
    return { kind: 'answered', hash: '0x01', block: 12n };
  };
  const handler = new CallHandler({
    state,
    chain: { jobCall: async () => ({ completed: completedOnChain }) },
    sender: { answer: (_ref, result) => answer(result) },
    run: async (_event, hooks) => {
      const id = `inv-${runs.length + 1}`;
      runs.push(id);
      return behaviour(hooks, id);
    },
    history: {
      get: async (id) => history.get(id),
      record: (entry) => {
        history.set(entry.id, entry);
      },
    },
    metrics: new OperatorMetrics(new Registry()),
    log: silentLogger,
  });
  return {
    state,
    history,
    answers,
    runs,
    handler,
    setBehaviour: (b: typeof behaviour) => {
      behaviour = b;
    },
    setAnswer: (a: typeof answer) => {
      answer = a;
    },
    completeOnChain: () => {
      completedOnChain = true;
    },
  };
}

const decoded = (result: Hex) => decodeResult(hexToBytes(result));

describe('CallHandler: a call runs at most once', () => {
  it('records the call running, with its invocation, before the run starts; then its result; then answers it', async () => {
    const t = setUp();
    const seen: (CallRecord | undefined)[] = [];
    t.setBehaviour(async (hooks, id) => {
      seen.push(await t.state.call(REF));
      await hooks.starting?.(invocation(id));
      seen.push(await t.state.call(REF));
      return completed(id);
    });
    await t.handler.handle(EVENT, {});
    assert.equal(seen[0], undefined);
    assert.equal(seen[1]?.state, 'running');
    assert.equal(seen[1]?.state === 'running' && seen[1].invocationId, 'inv-1');
    assert.deepEqual(t.runs, ['inv-1']);
    assert.equal(t.answers.length, 1);
    assert.equal(decoded(t.answers[0] as Hex).invocationId, 'inv-1');
    assert.equal((await t.state.call(REF))?.state, 'answered');
  });

  it('a call found running (the operator was killed while it ran) is answered FAAS_ERR_WORKER_LOST, written to the history, and not run again', async () => {
    const t = setUp();
    await t.state.setCall(REF, {
      state: 'running',
      invocationId: 'killed-run',
      functionId: 'tangle-0-0xf39f',
      functionVersion: null,
      executor: 'docker',
      stdinBytes: 5,
      startedAt: Date.now() - 1000,
      at: Date.now() - 1000,
    });
    await t.handler.handle(EVENT, {});
    assert.deepEqual(t.runs, [], 'never run again');
    assert.equal(t.answers.length, 1);
    const result = decoded(t.answers[0] as Hex);
    assert.deepEqual([result.status, result.errorCode, result.invocationId], ['failed', LOST_CODE, 'killed-run']);
    assert.match(result.error ?? '', /not run again/);
    const lost = t.history.get('killed-run');
    assert.ok(lost, 'the killed run is in the history');
    assert.deepEqual([lost.status, lost.errorCode, lost.functionId, lost.stdinBytes], ['error', LOST_CODE, 'tangle-0-0xf39f', 5]);
  });

  it('a lost run whose history record the run wrote itself keeps it; one completed on chain meanwhile is not answered', async () => {
    const t = setUp();
    const own = { id: 'run-1', status: 'completed' } as InvocationRecord;
    t.history.set('run-1', own);
    await t.state.setCall(REF, {
      state: 'running',
      invocationId: 'run-1',
      functionId: 'f',
      functionVersion: null,
      executor: 'docker',
      stdinBytes: 0,
      startedAt: 0,
      at: 0,
    });
    t.completeOnChain();
    await t.handler.handle(EVENT, {});
    assert.equal(t.history.get('run-1'), own);
    assert.deepEqual([t.runs, t.answers], [[], []]);
    assert.equal((await t.state.call(REF))?.state, 'answered');
  });

  it('a result recorded by an earlier run is sent without running the call', async () => {
    const t = setUp();
    const result = encodeResult(completed('earlier'));
    await t.state.setCall(REF, { state: 'ran', result, at: 0 });
    await t.handler.handle(EVENT, {});
    assert.deepEqual(t.runs, []);
    assert.deepEqual(t.answers, [result]);
  });

  it('a fault after the run (the store, the chain) is retried with the same result, never a second run nor a lost answer', async () => {
    const t = setUp();
    let failures = 1;
    t.setAnswer(async () => {
      if (failures-- > 0) throw new Error('the RPC refuses');
      return { kind: 'answered', hash: '0x01', block: 1n };
    });
    const progress: CallProgress = {};
    await assert.rejects(t.handler.handle(EVENT, progress), /the RPC refuses/);
    // The store says ran; even if it still said running, the progress of this process would win.
    await t.state.setCall(REF, { ...((await t.state.call(REF)) as CallRecord), state: 'running' } as CallRecord);
    await t.handler.handle(EVENT, progress);
    assert.deepEqual(t.runs, ['inv-1']);
    assert.equal(t.history.size, 0, 'nothing recorded as lost');
  });

  it('a call a shutdown refused before its command started is recorded unstarted, and runs after the restart', async () => {
    const t = setUp();
    t.setBehaviour(async (hooks, id) => {
      await hooks.starting?.(invocation(id));
      throw new StoppedError('the platform is shutting down');
    });
    await assert.rejects(t.handler.handle(EVENT, {}), StoppedError);
    assert.deepEqual(await t.state.call(REF).then((r) => r?.state), 'unstarted');
    t.setBehaviour(async (hooks, id) => {
      await hooks.starting?.(invocation(id));
      return completed(id);
    });
    await t.handler.handle(EVENT, {});
    assert.deepEqual(t.runs, ['inv-1', 'inv-2']);
    assert.equal(decoded(t.answers[0] as Hex).status, 'completed');
    assert.equal(t.history.size, 0);
  });
});
