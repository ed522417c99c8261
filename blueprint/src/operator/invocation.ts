/**
 * A job call becomes an `Invocation` exactly as an HTTP request does: job 0's fields are put in the
 * shape of a SandboxConfig and checked by the gateway's validators; job 1 reads the registered
 * function with its secrets and applies the gateway's merge rules. So a call runs under the same
 * limits and rules as the same request over HTTP, and fails them with the same registry codes.
 */
import { FaasError, type Invocation } from '@faas/common';
import { mergeInvocation, type ValidationPolicy, validateFunctionId, validateSandboxConfig } from '@faas/gateway';
import type { FunctionStore } from '@faas/store';
import type { ExecuteInputs, InvokeInputs, JobInputs } from '../abi/inputs.js';

export interface CallContext {
  invocationId: string;
  serviceId: bigint;
  caller: string;
}

export interface InvocationDeps {
  policy: ValidationPolicy;
  functions: Pick<FunctionStore, 'resolveSecrets'>;
  /** FAAS_ALLOW_ADHOC: job 0 is the ad-hoc SandboxConfig, refused when it is off. */
  allowAdhoc: boolean;
}

/** The function id of a job 0 call: per service and caller, so no two callers share a reused sandbox. */
export function adhocFunctionId(serviceId: bigint, caller: string): string {
  return `tangle-${serviceId}-${caller.toLowerCase()}`;
}

/** Builds the invocation; throws FaasError (a registry code) when the call breaks a rule. */
export async function toInvocation(decoded: JobInputs, context: CallContext, deps: InvocationDeps): Promise<Invocation> {
  if (decoded.job === 0) return executeInvocation(decoded.inputs, context, deps);
  return invokeInvocation(decoded.inputs, context, deps);
}

function executeInvocation(inputs: ExecuteInputs, context: CallContext, deps: InvocationDeps): Invocation {
  if (!deps.allowAdhoc) {
    throw new FaasError(
      'FAAS_ERR_FUNCTION_NOT_FOUND',
      'job 0 (execute, an ad-hoc SandboxConfig) is off on this operator (FAAS_ALLOW_ADHOC=off): use job 1 with a registered function',
    );
  }
  const limits: Record<string, number> = {};
  if (inputs.memoryMb !== 0) limits.memory_mb = inputs.memoryMb;
  if (inputs.cpuMillis !== 0) limits.cpus = inputs.cpuMillis / 1000;
  if (inputs.pids !== 0) limits.pids = inputs.pids;
  const body = {
    image: inputs.image,
    command: inputs.command,
    env_vars: inputs.env,
    payload_base64: Buffer.from(inputs.stdin).toString('base64'),
    ...(inputs.timeoutMs !== 0 ? { timeout_ms: inputs.timeoutMs } : {}),
    ...(inputs.executor !== '' ? { executor: inputs.executor } : {}),
    ...(Object.keys(limits).length > 0 ? { limits } : {}),
  };
  const request = validateSandboxConfig(adhocFunctionId(context.serviceId, context.caller), body, deps.policy);
  return { id: context.invocationId, ...request };
}

async function invokeInvocation(inputs: InvokeInputs, context: CallContext, deps: InvocationDeps): Promise<Invocation> {
  const functionId = validateFunctionId(inputs.functionId);
  const registered = await deps.functions.resolveSecrets(functionId);
  if (!registered) {
    throw new FaasError(
      'FAAS_ERR_FUNCTION_NOT_FOUND',
      `no function "${functionId}" is registered on this operator: register it with POST /functions, or use job 0`,
    );
  }
  const body = {
    payload_base64: Buffer.from(inputs.stdin).toString('base64'),
    ...(inputs.env.length > 0 ? { env_vars: inputs.env } : {}),
    ...(inputs.timeoutMs !== 0 ? { timeout_ms: inputs.timeoutMs } : {}),
  };
  return { id: context.invocationId, ...mergeInvocation(registered, body, deps.policy) };
}
