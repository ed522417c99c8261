/**
 * What a request to `POST /functions/{function_id}/invoke` runs, decided in one place for both the
 * synchronous route and the asynchronous worker: a registered id's definition with the request
 * merged in (invocation-merge.ts), or the ad-hoc SandboxConfig of an unregistered id when
 * FAAS_ALLOW_ADHOC allows it (404 otherwise). An asynchronous invocation is resolved twice, when it
 * is accepted (so a bad request is a 4xx at once) and again when it runs (against the definition
 * registered then).
 */
import { type Config, FaasError } from '@faas/common';
import type { Store } from '@faas/store';
import { type MergedInvocation, mergeInvocation, type ResolvedFunction } from './invocation-merge.js';
import { type InvocationRequest, isPlainObject, type ValidationPolicy, validateSandboxConfig, validationPolicy } from './validation.js';

export interface ResolvedInvocation {
  /** The invocation but for its id and the caller's key. */
  input: InvocationRequest | MergedInvocation;
  /** The registered function it runs; undefined ad hoc. */
  registered: ResolvedFunction | undefined;
}

export type InvocationSource = (functionId: string, body: unknown) => Promise<ResolvedInvocation>;

export function invocationSource(
  config: Readonly<Config>,
  store: Store,
  policy: ValidationPolicy = validationPolicy(config),
): InvocationSource {
  /**
   * An unregistered id: the ad-hoc SandboxConfig, when allowed and sent; otherwise 404. A body that
   * is JSON but no object is malformed whatever the id: 400, as for a registered function.
   */
  const adhoc = (functionId: string, body: unknown): InvocationRequest => {
    const malformed = body !== undefined && !isPlainObject(body);
    if (malformed || (config.allowAdhoc && isPlainObject(body) && 'image' in body)) {
      return validateSandboxConfig(functionId, body, policy);
    }
    const how = config.allowAdhoc
      ? 'register it with POST /functions, or send an ad-hoc SandboxConfig (image and command) in the body'
      : 'register it with POST /functions (ad-hoc SandboxConfig requests are off here: FAAS_ALLOW_ADHOC=off)';
    throw new FaasError('FAAS_ERR_FUNCTION_NOT_FOUND', `no function "${functionId}" is registered: ${how}`);
  };

  return async (functionId, body) => {
    // One store read: the definition with its secrets, or nothing for an unregistered id.
    const registered = await store.functions.resolveSecrets(functionId);
    return { input: registered ? mergeInvocation(registered, body, policy) : adhoc(functionId, body), registered };
  };
}
