import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from './config.js';
import { FaasError } from './errors.js';

function refused(env: Record<string, string>, mentions: RegExp) {
  assert.throws(
    () => loadConfig(env, 2),
    (e: unknown) => e instanceof FaasError && e.code === 'FAAS_ERR_CONFIG' && mentions.test(e.message),
  );
}

describe('loadConfig: asynchronous invocations', () => {
  it('defaults: a worker in the process, half the slots, three attempts, a day of idempotency', () => {
    const config = loadConfig({ FAAS_MAX_CONCURRENCY: '9' }, 2);
    assert.deepEqual(config.async, {
      worker: true,
      concurrency: 4,
      maxAttempts: 3,
      retryBaseMs: 1000,
      retryMaxMs: 300_000,
      leaseMs: 30_000,
      idempotencyWindowMs: 24 * 3_600_000,
      maxQueued: 10_000,
      maxQueuedPerKey: 5_000,
    });
    assert.equal(loadConfig({ FAAS_MAX_CONCURRENCY: '1' }, 2).async.concurrency, 1);
    assert.equal(loadConfig({ FAAS_ASYNC_MAX_QUEUED: '1' }, 2).async.maxQueuedPerKey, 1, 'at least one');
    assert.equal(loadConfig({ FAAS_ASYNC_MAX_QUEUED_PER_KEY: 'off' }, 2).async.maxQueuedPerKey, null);
  });
  it('reads every variable', () => {
    const config = loadConfig(
      {
        FAAS_ASYNC_WORKER: 'off',
        FAAS_ASYNC_CONCURRENCY: '16',
        FAAS_ASYNC_MAX_ATTEMPTS: '5',
        FAAS_ASYNC_RETRY_BASE_MS: '50',
        FAAS_ASYNC_RETRY_MAX_MS: '400',
        FAAS_ASYNC_LEASE_MS: '2000',
        FAAS_IDEMPOTENCY_WINDOW_HOURS: '2',
        FAAS_ASYNC_MAX_QUEUED: '50',
        FAAS_ASYNC_MAX_QUEUED_PER_KEY: '7',
      },
      2,
    );
    assert.deepEqual(config.async, {
      worker: false,
      concurrency: 16,
      maxAttempts: 5,
      retryBaseMs: 50,
      retryMaxMs: 400,
      leaseMs: 2000,
      idempotencyWindowMs: 2 * 3_600_000,
      maxQueued: 50,
      maxQueuedPerKey: 7,
    });
  });
  it('refuses more asynchronous slots than there are slots, and a backoff that shrinks', () => {
    refused({ FAAS_MAX_CONCURRENCY: '4', FAAS_ASYNC_CONCURRENCY: '5' }, /FAAS_ASYNC_CONCURRENCY="5".*at most FAAS_MAX_CONCURRENCY/);
    refused(
      { FAAS_ASYNC_RETRY_BASE_MS: '5000', FAAS_ASYNC_RETRY_MAX_MS: '1000' },
      /FAAS_ASYNC_RETRY_MAX_MS.*at least FAAS_ASYNC_RETRY_BASE_MS/,
    );
    refused({ FAAS_ASYNC_MAX_ATTEMPTS: '0' }, /FAAS_ASYNC_MAX_ATTEMPTS/);
    refused({ FAAS_ASYNC_WORKER: 'maybe' }, /FAAS_ASYNC_WORKER.*on or off/);
    refused({ FAAS_ASYNC_MAX_QUEUED: '0' }, /FAAS_ASYNC_MAX_QUEUED/);
    refused(
      { FAAS_ASYNC_MAX_QUEUED: '10', FAAS_ASYNC_MAX_QUEUED_PER_KEY: '11' },
      /FAAS_ASYNC_MAX_QUEUED_PER_KEY="11".*at most FAAS_ASYNC_MAX_QUEUED/,
    );
  });
});
