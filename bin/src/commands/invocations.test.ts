/** How `faas invocations get` words a callback's delivery. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CallbackDelivery } from '@faas/sdk';
import { callbackLine } from './invocations.js';

const base: CallbackDelivery = {
  url_origin: 'https://hooks.example',
  state: 'pending',
  attempts: 0,
  last_error: null,
  last_status: null,
  delivered_at: null,
};

test('a callback line says the state, where to, the attempts and, unless delivered, the last error', () => {
  assert.equal(callbackLine(base), 'pending to https://hooks.example (0 attempts so far)');
  assert.equal(
    callbackLine({ ...base, state: 'delivered', attempts: 1, last_status: 204, delivered_at: '2026-11-30T06:00:00Z' }),
    'delivered to https://hooks.example (1 attempt, HTTP 204)',
  );
  assert.equal(
    callbackLine({ ...base, state: 'failed', attempts: 5, last_status: 500, last_error: 'the receiver answered 500' }),
    'failed to https://hooks.example (5 attempts, HTTP 500): the receiver answered 500',
  );
  assert.equal(
    callbackLine({ ...base, state: 'refused', attempts: 1, last_error: 'resolves to 127.0.0.1, a loopback address' }),
    'refused to https://hooks.example (1 attempt): resolves to 127.0.0.1, a loopback address',
  );
});
