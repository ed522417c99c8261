/**
 * The part of Tangle's `ITangle` interface (tnt-core 0.19.1) that faas calls: function and event
 * signatures only, in the one place the project keeps them. The tests load Tangle's published ABI
 * (../shared/tangle/ITangle.abi.json, never copied here) and check every entry below against it.
 *
 * One deliberate difference: the interface marks `jobIndex` of `JobSubmitted` as indexed, but the
 * deployed contract emits it in the data. Its logs carry three topics (the signature, serviceId,
 * callId) and the data `(uint8 jobIndex, address caller, bytes inputs)`, so a decoder that trusts
 * the interface fails on every real log. The entry below is what the chain emits; the event's
 * signature (and so its topic) is the same either way. `JOB_SUBMITTED_AS_DECLARED` keeps the
 * interface's form, for a contract that emits as it declares (events.ts reads both).
 */

export const TANGLE_ABI = [
  {
    type: 'function',
    name: 'submitJob',
    stateMutability: 'payable',
    inputs: [
      { name: 'serviceId', type: 'uint64' },
      { name: 'jobIndex', type: 'uint8' },
      { name: 'inputs', type: 'bytes' },
    ],
    outputs: [{ name: 'callId', type: 'uint64' }],
  },
  {
    type: 'function',
    name: 'submitResult',
    stateMutability: 'nonpayable',
    inputs: [
      { name: 'serviceId', type: 'uint64' },
      { name: 'callId', type: 'uint64' },
      { name: 'result', type: 'bytes' },
    ],
    outputs: [],
  },
  {
    type: 'function',
    name: 'getJobCall',
    stateMutability: 'view',
    inputs: [
      { name: 'serviceId', type: 'uint64' },
      { name: 'callId', type: 'uint64' },
    ],
    outputs: [
      {
        name: '',
        type: 'tuple',
        components: [
          { name: 'jobIndex', type: 'uint8' },
          { name: 'caller', type: 'address' },
          { name: 'createdAt', type: 'uint64' },
          { name: 'resultCount', type: 'uint32' },
          { name: 'completed', type: 'bool' },
          { name: 'isRFQ', type: 'bool' },
          { name: 'payment', type: 'uint256' },
        ],
      },
    ],
  },
  {
    type: 'function',
    name: 'getService',
    stateMutability: 'view',
    inputs: [{ name: 'serviceId', type: 'uint64' }],
    outputs: [
      {
        name: '',
        type: 'tuple',
        components: [
          { name: 'blueprintId', type: 'uint64' },
          { name: 'owner', type: 'address' },
          { name: 'createdAt', type: 'uint64' },
          { name: 'ttl', type: 'uint64' },
          { name: 'terminatedAt', type: 'uint64' },
          { name: 'lastPaymentAt', type: 'uint64' },
          { name: 'operatorCount', type: 'uint32' },
          { name: 'minOperators', type: 'uint32' },
          { name: 'maxOperators', type: 'uint32' },
          { name: 'membership', type: 'uint8' },
          { name: 'pricing', type: 'uint8' },
          { name: 'status', type: 'uint8' },
          { name: 'confidentiality', type: 'uint8' },
        ],
      },
    ],
  },
  {
    type: 'function',
    name: 'getServiceOperators',
    stateMutability: 'view',
    inputs: [{ name: 'serviceId', type: 'uint64' }],
    outputs: [{ name: '', type: 'address[]' }],
  },
  {
    type: 'function',
    name: 'isServiceActive',
    stateMutability: 'view',
    inputs: [{ name: 'serviceId', type: 'uint64' }],
    outputs: [{ name: '', type: 'bool' }],
  },
  {
    type: 'function',
    name: 'isServiceOperator',
    stateMutability: 'view',
    inputs: [
      { name: 'serviceId', type: 'uint64' },
      { name: 'operator', type: 'address' },
    ],
    outputs: [{ name: '', type: 'bool' }],
  },
  {
    type: 'function',
    name: 'serviceCount',
    stateMutability: 'view',
    inputs: [],
    outputs: [{ name: '', type: 'uint64' }],
  },
  {
    type: 'event',
    name: 'JobSubmitted',
    anonymous: false,
    inputs: [
      { name: 'serviceId', type: 'uint64', indexed: true },
      { name: 'callId', type: 'uint64', indexed: true },
      // Indexed in the interface, in the data on chain: see the comment at the top.
      { name: 'jobIndex', type: 'uint8', indexed: false },
      { name: 'caller', type: 'address', indexed: false },
      { name: 'inputs', type: 'bytes', indexed: false },
    ],
  },
  {
    type: 'event',
    name: 'JobResultSubmitted',
    anonymous: false,
    inputs: [
      { name: 'serviceId', type: 'uint64', indexed: true },
      { name: 'callId', type: 'uint64', indexed: true },
      { name: 'operator', type: 'address', indexed: true },
      { name: 'result', type: 'bytes', indexed: false },
    ],
  },
] as const;

/** `JobSubmitted` as the interface declares it (jobIndex indexed: four topics). */
export const JOB_SUBMITTED_AS_DECLARED = [
  {
    type: 'event',
    name: 'JobSubmitted',
    anonymous: false,
    inputs: [
      { name: 'serviceId', type: 'uint64', indexed: true },
      { name: 'callId', type: 'uint64', indexed: true },
      { name: 'jobIndex', type: 'uint8', indexed: true },
      { name: 'caller', type: 'address', indexed: false },
      { name: 'inputs', type: 'bytes', indexed: false },
    ],
  },
] as const;

/** The entries of TANGLE_ABI whose `indexed` flags differ from the interface, by design (see above). */
export const DELIBERATE_DIFFERENCES = ['JobSubmitted.jobIndex'] as const;

/** Where Tangle's protocol contract (a proxy) is on the local test network its SDK replays. */
export const LOCAL_TESTNET_TANGLE = '0x0165878A594ca255338adfa4d48449f69242Eb8F';
