/**
 * Callbacks: the final result of an asynchronous invocation POSTed to a URL the caller chose,
 * signed, retried, and refused for addresses inside the operator's network unless allowed. The
 * worker builds one dispatcher at start-up (`createCallbackDispatcher`), calls `resumePending()`
 * once, hands every invocation that ends with a callback URL over through a `CallbackHandoff`
 * (which `resume()`s at start-up what a crash kept from the dispatcher), and `close()`s the
 * dispatcher before the store closes. Front doors check a URL when it is named with `validateCallbackUrl`.
 * The handoff also writes every step of a delivery to the queue, where `GET /invocations/{id}` reads it.
 */
import type { Config, Logger } from '@faas/common';
import type { KvStore } from '@faas/store';
import { CallbackDispatcher, type CallbackDispatcherOptions } from './dispatcher.js';
import { loadCallbackSecret } from './signing.js';
import { AddressPolicy } from './url-policy.js';

export {
  CallbackDispatcher,
  type CallbackDispatcherOptions,
  type DeliveryHandle,
  type DeliveryObserver,
  type DeliveryProgress,
  type DeliveryRequest,
  type DeliveryResult,
} from './dispatcher.js';
export {
  CallbackHandoff,
  type CallbackHandoffOptions,
  type DescribedInvocation,
  deliveryIdOf,
  endOfDelivery,
} from './handoff.js';
export {
  ATTEMPT_HEADER,
  DEFAULT_TOLERANCE_S,
  DELIVERY_ID_HEADER,
  INVOCATION_ID_HEADER,
  loadCallbackSecret,
  SIGNATURE_HEADER,
  signBody,
  verifySignature,
} from './signing.js';
export {
  type AddressClass,
  AddressPolicy,
  classifyAddress,
  MAX_CALLBACK_URL_LENGTH,
  resolveCallbackTarget,
  validateCallbackUrl,
} from './url-policy.js';

/** The operator's address rules (FAAS_CALLBACK_ALLOW_PRIVATE, FAAS_CALLBACK_ALLOW_CIDRS). */
export function callbackPolicy(config: Readonly<Config>): AddressPolicy {
  return new AddressPolicy({ allowPrivate: config.callbacks.allowPrivate, allowCidrs: config.callbacks.allowCidrs });
}

/**
 * A dispatcher configured from FAAS_CALLBACK_*, signing with FAAS_CALLBACK_SECRET or the key file
 * `<dataDir>/callback.key` (created at the first start). Throws FAAS_ERR_CONFIG when the key file
 * cannot be read or made.
 */
export function createCallbackDispatcher(
  config: Readonly<Config>,
  kv: KvStore,
  log: Logger,
  overrides: Partial<CallbackDispatcherOptions> = {},
): CallbackDispatcher {
  return new CallbackDispatcher({
    kv,
    log,
    secret: loadCallbackSecret(config, log),
    policy: callbackPolicy(config),
    maxAttempts: config.callbacks.maxAttempts,
    attemptTimeoutMs: config.callbacks.attemptTimeoutMs,
    retryBaseMs: config.callbacks.retryBaseMs,
    ...overrides,
  });
}
