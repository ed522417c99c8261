/**
 * Decoding of the events the operator and the CLI read, as the chain really emits them (see the
 * note on `JobSubmitted` in tangle.ts): three topics and `jobIndex` in the data on the deployed
 * contract; four topics if a contract ever emits as the interface declares. A log of either shape
 * decodes; anything else is reported, never thrown past the caller's loop.
 */
import { decodeEventLog, encodeEventTopics, type Hex, type Log } from 'viem';
import { JOB_SUBMITTED_AS_DECLARED, TANGLE_ABI } from './tangle.js';

export interface JobSubmittedEvent {
  serviceId: bigint;
  callId: bigint;
  jobIndex: number;
  caller: Hex;
  inputs: Hex;
  blockNumber: bigint;
  blockHash: Hex;
  transactionHash: Hex;
  logIndex: number;
}

export interface JobResultEvent {
  serviceId: bigint;
  callId: bigint;
  operator: Hex;
  result: Hex;
  blockNumber: bigint;
  transactionHash: Hex;
}

/** topic0 of `JobSubmitted(uint64,uint64,uint8,address,bytes)`, whichever parameters are indexed. */
export const JOB_SUBMITTED_TOPIC: Hex = encodeEventTopics({ abi: TANGLE_ABI, eventName: 'JobSubmitted' })[0] as Hex;
export const JOB_RESULT_SUBMITTED_TOPIC: Hex = encodeEventTopics({ abi: TANGLE_ABI, eventName: 'JobResultSubmitted' })[0] as Hex;

/** The topic filter of `JobSubmitted` for these services (one topic list: any of them). */
export function jobSubmittedTopics(serviceIds: readonly bigint[]): (Hex | Hex[] | null)[] {
  const ids = serviceIds.map((id) => `0x${id.toString(16).padStart(64, '0')}` as Hex);
  return [JOB_SUBMITTED_TOPIC, ids.length === 1 ? (ids[0] as Hex) : ids];
}

type RawLog = Pick<Log, 'topics' | 'data' | 'blockNumber' | 'blockHash' | 'transactionHash' | 'logIndex'>;

/** Decodes one `JobSubmitted` log; throws when it is neither of the known shapes. */
export function decodeJobSubmitted(log: RawLog): JobSubmittedEvent {
  const abi = log.topics.length === 4 ? JOB_SUBMITTED_AS_DECLARED : TANGLE_ABI;
  const decoded = decodeEventLog({ abi, eventName: 'JobSubmitted', topics: log.topics as [Hex, ...Hex[]], data: log.data, strict: true });
  const args = decoded.args as { serviceId: bigint; callId: bigint; jobIndex: number; caller: Hex; inputs: Hex };
  if (log.blockNumber === null || log.blockHash === null || log.transactionHash === null || log.logIndex === null) {
    throw new Error('a pending log (no block yet) cannot be served');
  }
  return {
    serviceId: args.serviceId,
    callId: args.callId,
    jobIndex: Number(args.jobIndex),
    caller: args.caller,
    inputs: args.inputs,
    blockNumber: log.blockNumber,
    blockHash: log.blockHash,
    transactionHash: log.transactionHash,
    logIndex: log.logIndex,
  };
}

/** Decodes one `JobResultSubmitted` log. */
export function decodeJobResultSubmitted(log: RawLog): JobResultEvent {
  const decoded = decodeEventLog({
    abi: TANGLE_ABI,
    eventName: 'JobResultSubmitted',
    topics: log.topics as [Hex, ...Hex[]],
    data: log.data,
    strict: true,
  });
  const args = decoded.args as { serviceId: bigint; callId: bigint; operator: Hex; result: Hex };
  return {
    serviceId: args.serviceId,
    callId: args.callId,
    operator: args.operator,
    result: args.result,
    blockNumber: log.blockNumber ?? 0n,
    transactionHash: log.transactionHash ?? '0x',
  };
}
