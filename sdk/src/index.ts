/**
 * @faas/sdk: a client of the faas gateway, typed from its OpenAPI document (gateway/openapi.json).
 * Runs in Node 20 and in browsers: fetch, AbortSignal, Uint8Array; no Node modules.
 */
export { base64ToBytes, bytesToBase64, bytesToText, toBytes } from './base64.js';
export type { CallOptions } from './call.js';
export {
  type AdHocInvocation,
  type AsyncInvokeOptions,
  type ClientOptions,
  FaasClient,
  type InvokeInput,
  type RegisteredInput,
  type Stdin,
} from './client.js';
export { DeadLetters } from './dead-letters.js';
export {
  CallTimeoutError,
  ConflictError,
  ConnectionError,
  ERROR_CODES,
  errorFromResponse,
  FaasError,
  ForbiddenError,
  FunctionTimeoutError,
  ImageNotFoundError,
  InternalError,
  InvalidRequestError,
  NotFoundError,
  RateLimitedError,
  SandboxError,
  UnauthorizedError,
  UnavailableError,
} from './errors.js';
export { Functions, type VersionedOptions } from './functions.js';
export type { components, paths } from './generated/openapi.js';
export { FINAL_STATES, type InvocationRecord, Invocations, isFinal, type WaitOptions } from './invocations.js';
export { Keys } from './keys.js';
export type { DecodedOutput, DecodedStreams, InvokeResult } from './results.js';
export { parseRetryAfter, type RetryOptions } from './retry.js';
export type * from './types.js';
