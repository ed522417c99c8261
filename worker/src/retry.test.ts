import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FaasError, type Outcome } from '@faas/common';
import type { AsyncJob } from '@faas/store';
import { decide, retryDelayMs } from './retry.js';

const job = (extra: Partial<AsyncJob> = {}): AsyncJob => ({
  id: 'i',
  functionId: 'f',
  functionVersion: 1,
  executor: 'docker',
  keyId: null,
  state: 'running',
  attempts: 1,
  maxAttempts: 3,
  retryOnFailure: false,
  stdinBytes: 0,
  runAt: 0,
  leaseOwner: 'w',
  leaseExpiresAt: 1,
  cancelRequested: false,
  callbackUrl: null,
  callback: null,
  error: null,
  errorCode: null,
  acceptedAt: 0,
  updatedAt: 0,
  finishedAt: null,
  ...extra,
});

const outcome = (extra: Partial<Outcome>): Outcome => ({
  invocationId: 'i',
  functionId: 'f',
  executor: 'docker',
  status: 'completed',
  exitCode: 0,
  signal: null,
  error: null,
  stdout: Buffer.alloc(0),
  stderr: Buffer.alloc(0),
  combined: Buffer.alloc(0),
  truncated: false,
  durationMs: 1,
  phases: { queueMs: 0, acquireMs: 0, runMs: 1 },
  released: Promise.resolve(),
  ...extra,
});

const ran = (extra: Partial<Outcome>, cancelledByCaller = false) => ({
  kind: 'outcome' as const,
  outcome: outcome(extra),
  cancelledByCaller,
});
const fault = (error: unknown, cancelledByCaller = false) => ({ kind: 'fault' as const, error, cancelledByCaller });

describe('retry policy', () => {
  it('backs off exponentially, less up to half at random, never past the maximum', () => {
    const none = { baseMs: 1000, maxMs: 300_000, random: () => 0 };
    assert.deepEqual(
      [1, 2, 3, 4].map((n) => retryDelayMs(n, none)),
      [1000, 2000, 4000, 8000],
    );
    assert.equal(retryDelayMs(1, { ...none, random: () => 0.999999 }), 500);
    assert.equal(retryDelayMs(30, none), 300_000);
    assert.equal(retryDelayMs(10_000, none), 300_000, 'no overflow');
  });

  it('retries platform faults while attempts remain, then dead', () => {
    for (const code of [
      'FAAS_ERR_SANDBOX_FAILURE',
      'FAAS_ERR_SANDBOX_LOST',
      'FAAS_ERR_EXECUTOR_UNAVAILABLE',
      'FAAS_ERR_INTERNAL',
      'FAAS_ERR_STORE_UNAVAILABLE',
    ] as const) {
      const err = new FaasError(code, 'x');
      assert.equal(decide(job(), fault(err), false).action, 'retry', code);
      const last = decide(job({ attempts: 3 }), fault(err), false);
      assert.equal(last.action === 'final' && last.state, 'dead', code);
      assert.equal(last.action === 'final' && last.errorCode, code);
    }
    assert.equal(decide(job(), fault(new Error('a foreign error')), false).action, 'retry');
  });

  it('hands back what the platform was too busy or stopping to start, and fails what no retry mends', () => {
    for (const code of [
      'FAAS_ERR_SATURATED',
      'FAAS_ERR_KEY_CONCURRENCY_LIMIT',
      'FAAS_ERR_CONCURRENCY_LIMIT',
      'FAAS_ERR_SHUTTING_DOWN',
    ] as const) {
      assert.equal(decide(job({ attempts: 3 }), fault(new FaasError(code)), false).action, 'release', code);
    }
    for (const code of [
      'FAAS_ERR_IMAGE_NOT_FOUND',
      'FAAS_ERR_EXECUTOR_NOT_ALLOWED',
      'FAAS_ERR_FUNCTION_NOT_FOUND',
      'FAAS_ERR_FIELD_NOT_ALLOWED',
    ] as const) {
      const d = decide(job(), fault(new FaasError(code)), false);
      assert.equal(d.action === 'final' && d.state, 'failed', code);
    }
    assert.equal(decide(job(), fault(new Error('aborted')), true).action, 'release', 'aborted by a stopping platform');
  });

  it("judges the function's outcome: success, its own failure (retried only when asked), the caller's cancel", () => {
    const ok = decide(job(), ran({}), false);
    assert.equal(ok.action === 'final' && ok.state, 'succeeded');
    for (const failure of [
      { exitCode: 3, error: 'exit 3' },
      { status: 'timed_out' as const, exitCode: null },
      { status: 'out_of_memory' as const },
      { exitCode: 127, startError: 'not found' },
    ]) {
      const plain = decide(job(), ran(failure), false);
      assert.equal(plain.action === 'final' && plain.state, 'failed', JSON.stringify(failure));
      assert.equal(decide(job({ retryOnFailure: true }), ran(failure), false).action, 'retry');
      const spent = decide(job({ retryOnFailure: true, attempts: 3 }), ran(failure), false);
      assert.equal(spent.action === 'final' && spent.state, 'dead');
    }
    const timeout = decide(job(), ran({ status: 'timed_out', exitCode: null }), false);
    assert.equal(timeout.action === 'final' && timeout.errorCode, 'FAAS_ERR_TIMEOUT');
    const cancelled = decide(job(), ran({ status: 'cancelled', exitCode: null }, true), false);
    assert.equal(cancelled.action === 'final' && cancelled.state, 'cancelled');
    const beforeRun = decide(job(), fault(new Error('aborted'), true), false);
    assert.equal(beforeRun.action === 'final' && beforeRun.state, 'cancelled');
    const killed = ran({ status: 'cancelled', exitCode: null, error: 'Command was killed: the invocation was cancelled' });
    const shutdown = decide(job(), killed, true);
    assert.equal(shutdown.action, 'retry', 'killed by a stopping platform: not the function failing');
    // Recorded as cut short by a stopped platform (as a start-up reclaim records it), not as cancelled.
    assert.deepEqual(shutdown.action === 'retry' && shutdown.attempt, {
      status: 'error',
      exitCode: null,
      error: 'the platform stopped while this attempt ran (its shutdown grace ran out and killed it)',
      errorCode: 'FAAS_ERR_WORKER_LOST',
    });
    const lastKilled = decide(job({ attempts: 3 }), killed, true);
    assert.equal(lastKilled.action === 'final' && lastKilled.state, 'dead', 'past its attempts: dead, like any platform fault');
    assert.equal(lastKilled.action === 'final' && lastKilled.errorCode, 'FAAS_ERR_WORKER_LOST');
    assert.match((lastKilled.action === 'final' && lastKilled.error) || '', /the platform stopped while this attempt ran/);
  });
});
