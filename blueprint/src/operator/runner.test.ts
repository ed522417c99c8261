import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FaasError, type Invocation, loadConfig, type Outcome, silentLogger } from '@faas/common';
import { validationPolicy } from '@faas/gateway';
import type { FunctionRecord } from '@faas/store';
import type { Hex } from 'viem';
import type { JobSubmittedEvent } from '../abi/events.js';
import { encodeExecuteInputs, encodeInvokeInputs } from '../abi/inputs.js';
import { INPUT_ROOM_BYTES } from '../jobs.js';
import { StoppedError } from './chain.js';
import { adhocFunctionId } from './invocation.js';
import { type RunnerDeps, runCall } from './runner.js';

const config = loadConfig({}, 4);
const CALLER = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266';

function event(jobIndex: number, inputs: Hex): JobSubmittedEvent {
  return {
    serviceId: 3n,
    callId: 7n,
    jobIndex,
    caller: CALLER,
    inputs,
    blockNumber: 1n,
    blockHash: '0x00',
    transactionHash: '0x00',
    logIndex: 0,
  };
}

function outcome(invocation: Invocation, over: Partial<Outcome> = {}): Outcome {
  return {
    invocationId: invocation.id,
    functionId: invocation.functionId,
    executor: invocation.executor,
    status: 'completed',
    exitCode: 0,
    signal: null,
    error: null,
    stdout: Buffer.from('out'),
    stderr: Buffer.alloc(0),
    combined: Buffer.from('out'),
    truncated: false,
    durationMs: 5,
    phases: { queueMs: 0, acquireMs: 1, runMs: 2 },
    released: Promise.resolve(),
    ...over,
  };
}

function deps(over: Partial<RunnerDeps> = {}, registered?: Partial<FunctionRecord>, secrets: string[] = []) {
  const seen: Invocation[] = [];
  const d: RunnerDeps = {
    policy: validationPolicy(config),
    allowAdhoc: true,
    maxInputBytes: config.maxPayloadBytes + INPUT_ROOM_BYTES,
    log: silentLogger,
    functions: {
      resolveSecrets: async (id: string) =>
        registered && registered.id === id
          ? {
              record: {
                env: [],
                allowedEnvVars: [],
                secretNames: [],
                executor: null,
                poolMode: null,
                limits: {},
                timeoutMs: null,
                maxConcurrency: null,
                description: '',
                version: 2,
                createdAt: 0,
                updatedAt: 0,
                command: ['cat'],
                image: 'faas/busybox:latest',
                ...registered,
              } as FunctionRecord,
              secrets,
            }
          : undefined,
    },
    orchestrator: {
      invoke: async (invocation: Invocation) => {
        seen.push(invocation);
        return outcome(invocation);
      },
    },
    ...over,
  };
  return { deps: d, seen };
}

const signal = new AbortController().signal;

describe('runCall: a job call through the invocation core', () => {
  it('job 0 becomes the invocation the HTTP route would build, per service and caller', async () => {
    const { deps: d, seen } = deps();
    const inputs = encodeExecuteInputs({
      image: 'faas/busybox:latest',
      command: ['sh', '-c', 'cat'],
      env: ['A=1'],
      stdin: Buffer.from('in'),
      timeoutMs: 1500,
      memoryMb: 64,
      cpuMillis: 500,
      pids: 16,
    });
    const result = await runCall(event(0, inputs), d, signal);
    assert.equal(result.status, 'completed');
    assert.equal(Buffer.from(result.stdout).toString(), 'out');
    const inv = seen[0] as Invocation;
    assert.equal(inv.functionId, adhocFunctionId(3n, CALLER));
    assert.equal(inv.functionId, `tangle-3-${CALLER.toLowerCase()}`);
    assert.deepEqual(inv.command, ['sh', '-c', 'cat']);
    assert.deepEqual(inv.env, ['A=1']);
    assert.equal(inv.stdin.toString(), 'in');
    assert.equal(inv.timeoutMs, 1500);
    assert.equal(inv.limits.memoryBytes, 64 * 1024 * 1024);
    assert.equal(inv.limits.cpus, 0.5);
    assert.equal(inv.limits.pids, 16);
    assert.equal(inv.executor, 'docker');
    assert.equal(result.invocationId, inv.id);
  });

  it('job 0 takes the platform defaults for fields left at zero', async () => {
    const { deps: d, seen } = deps();
    await runCall(event(0, encodeExecuteInputs({ image: 'faas/busybox', command: ['true'] })), d, signal);
    const inv = seen[0] as Invocation;
    assert.equal(inv.timeoutMs, config.timeouts.defaultMs);
    assert.deepEqual(inv.limits, config.defaultLimits);
  });

  it('rejects what the HTTP API rejects, with the same codes, and runs nothing', async () => {
    const { deps: d, seen } = deps();
    const cases: [number, Hex, string][] = [
      [0, encodeExecuteInputs({ image: 'BAD IMAGE', command: ['true'] }), 'FAAS_ERR_INVALID_IMAGE'],
      [0, encodeExecuteInputs({ image: 'faas/busybox', command: ['true'], env: ['1=x'] }), 'FAAS_ERR_INVALID_ENV'],
      [0, encodeExecuteInputs({ image: 'faas/busybox', command: ['true'], timeoutMs: 10_000_000 }), 'FAAS_ERR_INVALID_TIMEOUT'],
      [0, encodeExecuteInputs({ image: 'faas/busybox', command: ['true'], executor: 'qemu' }), 'FAAS_ERR_EXECUTOR_NOT_ALLOWED'],
      [0, '0x1234', 'FAAS_ERR_INVALID_JOB_INPUT'],
      [9, encodeInvokeInputs({ functionId: 'x' }), 'FAAS_ERR_UNKNOWN_JOB'],
      [1, encodeInvokeInputs({ functionId: '../etc' }), 'FAAS_ERR_INVALID_FUNCTION_ID'],
      [1, encodeInvokeInputs({ functionId: 'unknown' }), 'FAAS_ERR_FUNCTION_NOT_FOUND'],
    ];
    for (const [job, inputs, code] of cases) {
      const result = await runCall(event(job, inputs), d, signal);
      assert.equal(result.status, 'rejected', code);
      assert.equal(result.errorCode, code);
      assert.ok(result.error);
    }
    assert.equal(seen.length, 0);
  });

  it('refuses job 0 when ad-hoc invocations are off', async () => {
    const { deps: d } = deps({ allowAdhoc: false });
    const result = await runCall(event(0, encodeExecuteInputs({ image: 'faas/busybox', command: ['true'] })), d, signal);
    assert.equal(result.errorCode, 'FAAS_ERR_FUNCTION_NOT_FOUND');
    assert.match(result.error ?? '', /FAAS_ALLOW_ADHOC=off/);
  });

  it("job 1 runs a registered function with its secrets and the gateway's merge rules", async () => {
    const { deps: d, seen } = deps({}, { id: 'greet', env: ['MODE=x'], allowedEnvVars: ['EXTRA', 'TOKEN'], secretNames: ['TOKEN'] }, [
      'TOKEN=s3cret',
    ]);
    const result = await runCall(
      event(1, encodeInvokeInputs({ functionId: 'greet', stdin: Buffer.from('hi'), env: ['EXTRA=1'] })),
      d,
      signal,
    );
    assert.equal(result.status, 'completed');
    const inv = seen[0] as Invocation;
    assert.equal(inv.functionId, 'greet');
    assert.equal(inv.functionVersion, 2);
    assert.deepEqual(inv.env, ['MODE=x', 'TOKEN=s3cret', 'EXTRA=1']);
    assert.deepEqual(inv.secretNames, ['TOKEN']);
    assert.equal(inv.stdin.toString(), 'hi');
    const clash = await runCall(event(1, encodeInvokeInputs({ functionId: 'greet', env: ['TOKEN=mine'] })), d, signal);
    assert.equal(clash.errorCode, 'FAAS_ERR_FIELD_NOT_ALLOWED');
    // A job call is held to the function's allowed_env_vars, as an HTTP call is.
    const unlisted = await runCall(
      event(1, encodeInvokeInputs({ functionId: 'greet', env: ['OPENSSL_CONF=/proc/self/environ'] })),
      d,
      signal,
    );
    assert.equal(unlisted.errorCode, 'FAAS_ERR_FIELD_NOT_ALLOWED');
  });

  it('waits out a full queue, answers a platform fault as failed, and leaves a call the shutdown refused for the restart', async () => {
    let tries = 0;
    const busy = deps({
      orchestrator: {
        invoke: async (invocation: Invocation) => {
          if (++tries < 3) throw new FaasError('FAAS_ERR_SATURATED');
          return outcome(invocation, { status: 'timed_out', exitCode: null, signal: 'SIGKILL', error: 'timed out' });
        },
      },
    });
    const inputs = encodeExecuteInputs({ image: 'faas/busybox', command: ['true'] });
    const late = await runCall(event(0, inputs), busy.deps, signal);
    assert.equal(tries, 3);
    assert.equal(late.status, 'timed_out');
    assert.equal(late.signal, 'SIGKILL');
    const fault = deps({
      orchestrator: {
        invoke: async () => {
          throw new FaasError('FAAS_ERR_SANDBOX_FAILURE', 'engine refused');
        },
      },
    });
    const failed = await runCall(event(0, inputs), fault.deps, signal);
    assert.deepEqual([failed.status, failed.errorCode], ['failed', 'FAAS_ERR_SANDBOX_FAILURE']);
    const stopping = deps({
      orchestrator: {
        invoke: async () => {
          throw new FaasError('FAAS_ERR_SHUTTING_DOWN');
        },
      },
    });
    await assert.rejects(runCall(event(0, inputs), stopping.deps, signal), StoppedError);
  });

  it('runs a call at most once: the start is announced first, and a run a shutdown cancelled is answered, not left to run again', async () => {
    const inputs = encodeExecuteInputs({ image: 'faas/busybox', command: ['true'] });
    const order: string[] = [];
    const cancelled = deps({
      orchestrator: {
        invoke: async (invocation: Invocation) => {
          order.push(`invoke ${invocation.id}`);
          return outcome(invocation, { status: 'cancelled', error: 'cancelled', exitCode: null, signal: 'SIGKILL' });
        },
      },
    });
    const result = await runCall(event(0, inputs), cancelled.deps, signal, {
      starting: async (invocation) => {
        order.push(`starting ${invocation.id}`);
      },
    });
    assert.deepEqual(order, [`starting ${result.invocationId}`, `invoke ${result.invocationId}`]);
    assert.equal(result.status, 'cancelled');
    assert.match(result.error ?? '', /not run again/);
    // A start that cannot be recorded runs nothing, and is the operator's fault to retry (no answer).
    const nothing = deps();
    await assert.rejects(
      runCall(event(0, inputs), nothing.deps, signal, {
        starting: async () => {
          throw new Error('the store is down');
        },
      }),
      /the store is down/,
    );
    assert.equal(nothing.seen.length, 0);
    // Inputs refused before any invocation announce nothing.
    let announced = 0;
    const bad = await runCall(event(0, '0xdeadbeef'), deps().deps, signal, {
      starting: async () => {
        announced++;
      },
    });
    assert.equal(bad.status, 'rejected');
    assert.equal(announced, 0);
  });
});
