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

/**
 * `Types.BlueprintDefinition`, the argument of `createBlueprint` and what `getBlueprintDefinition`
 * returns (tnt-core 0.19.1). blueprint/blueprint.json holds one, field for field (definition.ts).
 */
export const BLUEPRINT_DEFINITION_COMPONENTS = [
  { name: 'metadataUri', type: 'string' },
  { name: 'metadataHash', type: 'bytes32' },
  { name: 'manager', type: 'address' },
  { name: 'masterManagerRevision', type: 'uint32' },
  { name: 'hasConfig', type: 'bool' },
  {
    name: 'config',
    type: 'tuple',
    components: [
      { name: 'membership', type: 'uint8' },
      { name: 'pricing', type: 'uint8' },
      { name: 'minOperators', type: 'uint32' },
      { name: 'maxOperators', type: 'uint32' },
      { name: 'subscriptionRate', type: 'uint256' },
      { name: 'subscriptionInterval', type: 'uint64' },
      { name: 'eventRate', type: 'uint256' },
    ],
  },
  {
    name: 'metadata',
    type: 'tuple',
    components: [
      { name: 'name', type: 'string' },
      { name: 'description', type: 'string' },
      { name: 'author', type: 'string' },
      { name: 'category', type: 'string' },
      { name: 'codeRepository', type: 'string' },
      { name: 'logo', type: 'string' },
      { name: 'website', type: 'string' },
      { name: 'license', type: 'string' },
      { name: 'profilingData', type: 'string' },
    ],
  },
  {
    name: 'jobs',
    type: 'tuple[]',
    components: [
      { name: 'name', type: 'string' },
      { name: 'description', type: 'string' },
      { name: 'metadataUri', type: 'string' },
      { name: 'paramsSchema', type: 'bytes' },
      { name: 'resultSchema', type: 'bytes' },
    ],
  },
  { name: 'registrationSchema', type: 'bytes' },
  { name: 'requestSchema', type: 'bytes' },
  {
    name: 'sources',
    type: 'tuple[]',
    components: [
      { name: 'kind', type: 'uint8' },
      {
        name: 'container',
        type: 'tuple',
        components: [
          { name: 'registry', type: 'string' },
          { name: 'image', type: 'string' },
          { name: 'tag', type: 'string' },
        ],
      },
      {
        name: 'wasm',
        type: 'tuple',
        components: [
          { name: 'runtime', type: 'uint8' },
          { name: 'fetcher', type: 'uint8' },
          { name: 'artifactUri', type: 'string' },
          { name: 'entrypoint', type: 'string' },
        ],
      },
      {
        name: 'native',
        type: 'tuple',
        components: [
          { name: 'fetcher', type: 'uint8' },
          { name: 'artifactUri', type: 'string' },
          { name: 'entrypoint', type: 'string' },
        ],
      },
      {
        name: 'testing',
        type: 'tuple',
        components: [
          { name: 'cargoPackage', type: 'string' },
          { name: 'cargoBin', type: 'string' },
          { name: 'basePath', type: 'string' },
        ],
      },
      {
        name: 'binaries',
        type: 'tuple[]',
        components: [
          { name: 'arch', type: 'uint8' },
          { name: 'os', type: 'uint8' },
          { name: 'name', type: 'string' },
          { name: 'sha256', type: 'bytes32' },
        ],
      },
    ],
  },
  { name: 'supportedMemberships', type: 'uint8[]' },
] as const;

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
  {
    type: 'function',
    name: 'createBlueprint',
    stateMutability: 'nonpayable',
    inputs: [{ name: 'definition', type: 'tuple', components: BLUEPRINT_DEFINITION_COMPONENTS }],
    outputs: [{ name: 'blueprintId', type: 'uint64' }],
  },
  {
    type: 'function',
    name: 'getBlueprintDefinition',
    stateMutability: 'view',
    inputs: [{ name: 'blueprintId', type: 'uint64' }],
    outputs: [{ name: 'definition', type: 'tuple', components: BLUEPRINT_DEFINITION_COMPONENTS }],
  },
  {
    type: 'function',
    name: 'getBlueprint',
    stateMutability: 'view',
    inputs: [{ name: 'blueprintId', type: 'uint64' }],
    outputs: [
      {
        name: '',
        type: 'tuple',
        components: [
          { name: 'owner', type: 'address' },
          { name: 'manager', type: 'address' },
          { name: 'createdAt', type: 'uint64' },
          { name: 'membership', type: 'uint8' },
          { name: 'pricing', type: 'uint8' },
          { name: 'active', type: 'bool' },
        ],
      },
    ],
  },
  {
    type: 'function',
    name: 'blueprintDefinitionHash',
    stateMutability: 'view',
    inputs: [{ name: 'blueprintId', type: 'uint64' }],
    outputs: [{ name: '', type: 'bytes32' }],
  },
  {
    type: 'function',
    name: 'blueprintSourcesHash',
    stateMutability: 'view',
    inputs: [{ name: 'blueprintId', type: 'uint64' }],
    outputs: [{ name: '', type: 'bytes32' }],
  },
  {
    type: 'function',
    name: 'blueprintCount',
    stateMutability: 'view',
    inputs: [],
    outputs: [{ name: '', type: 'uint64' }],
  },
  {
    type: 'event',
    name: 'BlueprintCreated',
    anonymous: false,
    inputs: [
      { name: 'blueprintId', type: 'uint64', indexed: true },
      { name: 'owner', type: 'address', indexed: true },
      { name: 'manager', type: 'address', indexed: false },
      { name: 'metadataUri', type: 'string', indexed: false },
      { name: 'metadataHash', type: 'bytes32', indexed: false },
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
