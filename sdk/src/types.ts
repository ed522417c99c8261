/**
 * The API's types, named: every one is an alias of what openapi-typescript generated from
 * gateway/openapi.json (generated/openapi.ts), never a copy, so a change of the document shows up
 * here and, through these names, wherever the SDK or its users rely on the old shape.
 */
import type { components, paths } from './generated/openapi.js';

type Schemas = components['schemas'];

export type SandboxConfig = Schemas['SandboxConfig'];
export type RegisteredInvocation = Schemas['RegisteredInvocation'];
export type InvocationResult = Schemas['InvocationResult'];
export type ErrorBody = Schemas['Error'];
export type Health = Schemas['Health'];
export type FunctionLimits = Schemas['FunctionLimits'];
export type FunctionCreate = Schemas['FunctionCreate'];
export type FunctionPatch = Schemas['FunctionPatch'];
export type FunctionInfo = Schemas['Function'];
export type FunctionList = Schemas['FunctionList'];
export type Invocation = Schemas['Invocation'];
export type InvocationList = Schemas['InvocationList'];
export type InvocationOutput = Schemas['InvocationOutput'];
export type KeyCreate = Schemas['KeyCreate'];
export type KeyInfo = Schemas['KeyInfo'];
export type KeyCreated = Schemas['KeyCreated'];
export type KeyList = Schemas['KeyList'];
export type AsyncAccepted = Schemas['AsyncAccepted'];
export type Attempt = Schemas['Attempt'];
/** Where the delivery of an asynchronous invocation's callback stands (`Invocation['callback']`). */
export type CallbackDelivery = Schemas['CallbackDelivery'];
export type DeadLetter = Schemas['DeadLetter'];
export type DeadLetterList = Schemas['DeadLetterList'];

export type Executor = InvocationResult['executor'];
export type Scope = KeyCreate['scopes'][number];
/** Where an asynchronous invocation stands. */
export type InvocationState = AsyncAccepted['state'];
/** How an invocation ended, as the history records it. */
export type InvocationStatus = NonNullable<Invocation['status']>;

export type ListFunctionsQuery = NonNullable<paths['/functions']['get']['parameters']['query']>;
export type ListInvocationsQuery = NonNullable<paths['/functions/{function_id}/invocations']['get']['parameters']['query']>;
export type ListDeadLettersQuery = NonNullable<paths['/dead-letters']['get']['parameters']['query']>;
export type ListKeysQuery = NonNullable<paths['/keys']['get']['parameters']['query']>;

type Methods = 'get' | 'put' | 'post' | 'delete' | 'options' | 'head' | 'patch' | 'trace';
type Operations = { [P in keyof paths]: { [M in Methods & keyof paths[P]]: paths[P][M] }[Methods & keyof paths[P]] }[keyof paths];
type ResponsesOf<O> = O extends { responses: infer R } ? R[keyof R] : never;
type JsonOf<R> = R extends { content: { 'application/json': infer B } } ? B : never;
type CodeOf<B> = B extends { code?: infer C } ? (C extends string ? (string extends C ? never : C) : never) : never;

/**
 * Every `FAAS_ERR_*` code some route of the document may answer: the union of the `code` enums of
 * all its error responses (a response whose code is any string, such as 405's, adds none).
 */
export type ErrorCode = CodeOf<JsonOf<ResponsesOf<Operations>>>;
