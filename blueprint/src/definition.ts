/**
 * The blueprint definition an operator registers with: `blueprint/blueprint.json`, generated from
 * this file (`npm run definition -w blueprint`; a test fails when the file is stale). It holds two
 * things:
 *
 * - `createBlueprint`: the argument of Tangle's `createBlueprint(BlueprintDefinition)`, field for
 *   field as tnt-core 0.19.1 declares the struct (BLUEPRINT_DEFINITION_COMPONENTS). Integers up to
 *   32 bits and enums are JSON numbers, uint64 and uint256 decimal strings, bytes and addresses
 *   0x-hex. `faas tangle blueprint create` sends it as it is (readBlueprintFile checks it first).
 * - `metadata`: the document `metadataHash` pins: the jobs with the ABI of their inputs and
 *   results, the result statuses and bounds, what an operator runs. `metadataHash` is the keccak256
 *   of its compact JSON text (`JSON.stringify(metadata)`, keys in the file's order).
 *
 * The job schemas (`paramsSchema`, `resultSchema`) are empty on purpose. Tangle's contract reads a
 * non-empty schema as its TLV schema format (version byte 0x02, SchemaLib.sol) and then validates
 * every `submitJob` input and `submitResult` output against it in its own compact encoding (1-byte
 * bools, compact-length strings, ...), not ABI encoding; our inputs and results are ABI-encoded
 * (docs/tangle-jobs.md), so any truthful TLV schema would make the contract revert every call. An
 * empty schema is how Tangle marks opaque inputs (its own local-testnet blueprint has only empty
 * ones), and the ABI lives in `metadata` and docs/tangle-jobs.md instead.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { encodeAbiParameters, type Hex, keccak256, toHex } from 'viem';
import { BLUEPRINT_DEFINITION_COMPONENTS } from './abi/tangle.js';
import { INPUT_VERSION, JOBS, RESULT_MAX_STREAM_BYTES, RESULT_MAX_TEXT_BYTES, RESULT_STATUSES, RESULT_VERSION } from './jobs.js';

export const BLUEPRINT_NAME = 'faas';

/** tnt-core's enums, as the struct carries them (Types.sol, 0.19.1). */
export const MEMBERSHIP = { fixed: 0, dynamic: 1 } as const;
export const PRICING = { payOnce: 0, subscription: 1, eventDriven: 2 } as const;
export const SOURCE_KIND = { container: 0, wasm: 1, native: 2 } as const;
export const FETCHER = { none: 0, ipfs: 1, http: 2, github: 3 } as const;
export const ARCHITECTURE = { amd64: 5, arm64: 7 } as const;
export const OPERATING_SYSTEM = { linux: 1 } as const;

const ZERO_ADDRESS = '0x0000000000000000000000000000000000000000';

/** The document metadataHash pins (the project's own description of the blueprint). */
export function blueprintMetadata(version: string): Record<string, unknown> {
  return {
    name: BLUEPRINT_NAME,
    version,
    description:
      'Function-as-a-Service: run a command in an isolated sandbox (job 0) or invoke a function registered on the operator (job 1); the result carries the exit code or signal, stdout and stderr.',
    spec: 'docs/tangle-jobs.md',
    encoding: 'ABI-encoded parameter lists, a uint8 layout version first',
    inputVersion: INPUT_VERSION,
    resultVersion: RESULT_VERSION,
    jobs: JOBS.map((job) => ({
      index: job.index,
      name: job.name,
      description: job.description,
      inputs: job.inputs.map(({ name, type }) => ({ name, type })),
      result: job.result.map(({ name, type }) => ({ name, type })),
    })),
    resultStatuses: [...RESULT_STATUSES],
    resultLimits: { streamBytes: RESULT_MAX_STREAM_BYTES, textBytes: RESULT_MAX_TEXT_BYTES },
    registrationInputs: [],
    requestInputs: [],
    operator: {
      run: 'faas serve',
      configuration: [
        'FAAS_TANGLE_RPC_URL',
        'FAAS_TANGLE_CONTRACT',
        'FAAS_TANGLE_SERVICE_IDS',
        'FAAS_TANGLE_KEY_FILE',
        'FAAS_TANGLE_CONFIRMATIONS',
      ],
      documentation: 'README.md "Running faas as a Tangle operator"',
    },
  };
}

/** keccak256 of the metadata's compact JSON text: `metadataHash`. */
export function metadataHashOf(metadata: unknown): Hex {
  return keccak256(toHex(JSON.stringify(metadata)));
}

/** The default `metadataUri`: an identifier, until the metadata is published somewhere (--metadata-uri). */
export function defaultMetadataUri(version: string): string {
  return `urn:faas:blueprint:${version}`;
}

/** The `createBlueprint` argument, as JSON (see the comment at the top for the number forms). */
export function createBlueprintJson(version: string, metadata = blueprintMetadata(version)): Record<string, unknown> {
  const metadataHash = metadataHashOf(metadata);
  // Tangle requires a binary with a non-zero sha256 in every source. faas is not fetched by Tangle's
  // blueprint manager (fetcher none: an operator installs it and runs `faas serve`), and no release
  // artifact is published, so each binary entry pins the interface it serves: the SHA-256 of the
  // same metadata text. A deployment that publishes artifacts puts their digests here instead.
  const sha256 = `0x${createHash('sha256').update(JSON.stringify(metadata)).digest('hex')}`;
  const binary = (arch: number) => ({ arch, os: OPERATING_SYSTEM.linux, name: 'faas', sha256 });
  return {
    metadataUri: defaultMetadataUri(version),
    metadataHash,
    manager: ZERO_ADDRESS,
    masterManagerRevision: 0,
    hasConfig: true,
    config: {
      membership: MEMBERSHIP.dynamic,
      pricing: PRICING.payOnce,
      minOperators: 1,
      maxOperators: 0,
      subscriptionRate: '0',
      subscriptionInterval: '0',
      eventRate: '0',
    },
    metadata: {
      name: BLUEPRINT_NAME,
      description: metadata.description,
      author: '',
      category: 'compute',
      codeRepository: '',
      logo: '',
      website: '',
      license: 'Apache-2.0',
      profilingData: '',
    },
    jobs: JOBS.map((job) => ({
      name: job.name,
      description: job.description,
      metadataUri: '',
      paramsSchema: '0x',
      resultSchema: '0x',
    })),
    registrationSchema: '0x',
    requestSchema: '0x',
    sources: [
      {
        kind: SOURCE_KIND.native,
        container: { registry: '', image: '', tag: '' },
        wasm: { runtime: 0, fetcher: FETCHER.none, artifactUri: '', entrypoint: '' },
        native: { fetcher: FETCHER.none, artifactUri: '', entrypoint: 'faas serve' },
        testing: { cargoPackage: '', cargoBin: '', basePath: '' },
        binaries: [binary(ARCHITECTURE.amd64), binary(ARCHITECTURE.arm64)],
      },
    ],
    supportedMemberships: [MEMBERSHIP.fixed, MEMBERSHIP.dynamic],
  };
}

/** What blueprint/blueprint.json holds. */
export function blueprintDefinition(version: string): Record<string, unknown> {
  const metadata = blueprintMetadata(version);
  return {
    $comment:
      'Generated from blueprint/src/definition.ts by `npm run definition -w blueprint`; do not edit (a test fails when it is stale). createBlueprint: the argument of ITangle.createBlueprint, sent by `faas tangle blueprint create`; metadata: the document its metadataHash pins (keccak256 of JSON.stringify(metadata)). The spec: docs/tangle-jobs.md.',
    createBlueprint: createBlueprintJson(version, metadata),
    metadata,
  };
}

/** The file's text: the definition as pretty JSON with a final newline. */
export function blueprintDefinitionText(version: string): string {
  return `${JSON.stringify(blueprintDefinition(version), null, 2)}\n`;
}

// --- Reading a definition file back into the struct createBlueprint takes ---

interface AbiParam {
  readonly name: string;
  readonly type: string;
  readonly components?: readonly AbiParam[];
}

/** A definition file that cannot be sent: the message names the field and the fix. */
export class BlueprintDefinitionError extends Error {
  override readonly name = 'BlueprintDefinitionError';
}

/** The struct as viem encodes it (bigints for uint64 and uint256). */
export type BlueprintDefinitionArg = Record<string, unknown>;

function convert(param: AbiParam, value: unknown, path: string): unknown {
  const fail = (fix: string): never => {
    throw new BlueprintDefinitionError(`${path}: ${fix}`);
  };
  const array = /^(.*)\[\]$/.exec(param.type);
  if (array) {
    if (!Array.isArray(value)) fail('use an array');
    const element = { ...param, type: array[1] as string };
    return (value as unknown[]).map((v, i) => convert(element, v, `${path}[${i}]`));
  }
  if (param.type === 'tuple') {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) fail('use an object');
    const object = value as Record<string, unknown>;
    const names = (param.components ?? []).map((c) => c.name);
    const unknown = Object.keys(object).find((k) => !names.includes(k));
    if (unknown !== undefined) fail(`"${unknown}" is not a field of this struct (its fields: ${names.join(', ')})`);
    const out: Record<string, unknown> = {};
    for (const c of param.components ?? []) {
      if (!(c.name in object)) fail(`"${c.name}" is missing`);
      out[c.name] = convert(c, object[c.name], `${path}.${c.name}`);
    }
    return out;
  }
  switch (param.type) {
    case 'string':
      return typeof value === 'string' ? value : fail('use a string');
    case 'bool':
      return typeof value === 'boolean' ? value : fail('use true or false');
    case 'address':
      return typeof value === 'string' && /^0x[0-9a-fA-F]{40}$/.test(value) ? value : fail('use an address, 0x and 40 hex digits');
    case 'bytes32':
      return typeof value === 'string' && /^0x[0-9a-fA-F]{64}$/.test(value) ? value : fail('use 0x and 64 hex digits');
    case 'bytes':
      return typeof value === 'string' && /^0x([0-9a-fA-F]{2})*$/.test(value) ? value : fail('use 0x and an even number of hex digits');
  }
  const int = /^uint(\d+)$/.exec(param.type);
  if (!int) return fail(`type ${param.type} is not supported`);
  const bits = Number(int[1]);
  const max = (1n << BigInt(bits)) - 1n;
  if (bits <= 32) {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > Number(max)) fail(`use an integer from 0 to ${max}`);
    return value;
  }
  if (typeof value !== 'string' || !/^[0-9]{1,78}$/.test(value) || BigInt(value) > max) {
    fail(`use a decimal string of an integer from 0 to ${max} (as "0")`);
  }
  return BigInt(value as string);
}

const DEFINITION_PARAM: AbiParam = { name: 'definition', type: 'tuple', components: BLUEPRINT_DEFINITION_COMPONENTS };

/**
 * The createBlueprint argument from the JSON form, checked field by field against the struct and
 * against the rules the contract reverts on (so that a mistake is a message, not a reverted
 * transaction), and against this blueprint's jobs (their count and order are the job indexes).
 */
export function createBlueprintArgument(json: unknown, path = 'createBlueprint'): BlueprintDefinitionArg {
  const def = convert({ ...DEFINITION_PARAM, name: path }, json, path) as {
    metadataUri: string;
    metadataHash: Hex;
    hasConfig: boolean;
    config: { pricing: number; subscriptionRate: bigint; subscriptionInterval: bigint };
    jobs: { name: string }[];
    sources: { binaries: { sha256: Hex }[] }[];
    supportedMemberships: number[];
  };
  const fail = (field: string, fix: string): never => {
    throw new BlueprintDefinitionError(`${path}.${field}: ${fix}`);
  };
  if (def.metadataUri === '') fail('metadataUri', 'Tangle requires one: where the metadata is published (or an identifier)');
  if (/^0x0{64}$/.test(def.metadataHash)) fail('metadataHash', 'Tangle requires a non-zero digest of the metadata');
  const names = JOBS.map((j) => j.name);
  if (def.jobs.length !== JOBS.length || def.jobs.some((j, i) => j.name !== names[i])) {
    fail('jobs', `list this blueprint's jobs in index order: ${names.join(', ')} (a job's index is its place in the list)`);
  }
  if (def.supportedMemberships.length === 0) fail('supportedMemberships', 'name at least one membership model (0 fixed, 1 dynamic)');
  if (def.sources.length === 0) fail('sources', 'Tangle requires at least one source');
  def.sources.forEach((s, i) => {
    if (s.binaries.length === 0) fail(`sources[${i}].binaries`, 'Tangle requires at least one binary per source');
    s.binaries.forEach((b, j) => {
      if (/^0x0{64}$/.test(b.sha256)) fail(`sources[${i}].binaries[${j}].sha256`, 'Tangle requires a non-zero digest');
    });
  });
  if (
    def.hasConfig &&
    def.config.pricing === PRICING.subscription &&
    (def.config.subscriptionRate === 0n || def.config.subscriptionInterval === 0n)
  ) {
    fail('config', 'subscription pricing needs a non-zero subscriptionRate and subscriptionInterval');
  }
  // The last word: viem encodes it exactly as the transaction will carry it.
  encodeAbiParameters([DEFINITION_PARAM] as never, [def] as never);
  return def as unknown as BlueprintDefinitionArg;
}

/** keccak256(abi.encode(definition)): what the contract keeps as `blueprintDefinitionHash`. */
export function definitionHashOf(definition: BlueprintDefinitionArg): Hex {
  return keccak256(encodeAbiParameters([DEFINITION_PARAM] as never, [definition] as never));
}

/** keccak256(abi.encode(sources)): what the contract keeps as `blueprintSourcesHash`. */
export function sourcesHashOf(definition: BlueprintDefinitionArg): Hex {
  const sources = BLUEPRINT_DEFINITION_COMPONENTS.find((c) => c.name === 'sources') as AbiParam;
  return keccak256(encodeAbiParameters([sources] as never, [definition.sources] as never));
}

/**
 * Reads a definition file (blueprint/blueprint.json or an edited copy) and returns the argument
 * for createBlueprint. When the file carries `metadata`, `metadataHash` must be its digest (an
 * edited metadata with a stale hash is refused); `metadataUri` replaces the file's.
 */
export function readBlueprintFile(path: string, options: { metadataUri?: string } = {}): BlueprintDefinitionArg {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new BlueprintDefinitionError(`${path}: ${code ? `cannot read it (${code})` : `not JSON (${(err as Error).message})`}`);
  }
  if (typeof json !== 'object' || json === null || !('createBlueprint' in json)) {
    throw new BlueprintDefinitionError(`${path}: no "createBlueprint" object: use blueprint/blueprint.json or a copy of it`);
  }
  const file = json as { createBlueprint: Record<string, unknown>; metadata?: unknown };
  const raw = options.metadataUri === undefined ? file.createBlueprint : { ...file.createBlueprint, metadataUri: options.metadataUri };
  const definition = createBlueprintArgument(raw, `${path}: createBlueprint`);
  if (file.metadata !== undefined && definition.metadataHash !== metadataHashOf(file.metadata)) {
    throw new BlueprintDefinitionError(
      `${path}: createBlueprint.metadataHash is not keccak256 of JSON.stringify(metadata): regenerate the file (npm run definition -w blueprint) or fix the hash`,
    );
  }
  return definition;
}
