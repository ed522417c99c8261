import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { keccak256, toHex } from 'viem';
import {
  BlueprintDefinitionError,
  createBlueprintArgument,
  definitionHashOf,
  metadataHashOf,
  readBlueprintFile,
  sourcesHashOf,
} from './definition.js';
import { JOBS } from './jobs.js';
import { REPO } from './test-paths.js';

const FILE = resolve(REPO, 'blueprint/blueprint.json');
/** The file's createBlueprint object, loosely typed for edits. */
interface Editable {
  [field: string]: unknown;
  config: Record<string, unknown>;
  jobs: Record<string, unknown>[];
  sources: { binaries: Record<string, unknown>[] }[];
}
const file = JSON.parse(readFileSync(FILE, 'utf8')) as { createBlueprint: Editable; metadata: Record<string, unknown> };
const copy = () => structuredClone(file.createBlueprint);

describe('blueprint/blueprint.json: what createBlueprint takes', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'faas-definition-'));
  after(() => rmSync(scratch, { recursive: true, force: true }));

  it("is the BlueprintDefinition struct, field for field, with this blueprint's jobs in index order", () => {
    const def = createBlueprintArgument(file.createBlueprint) as unknown as Editable;
    assert.deepEqual(
      def.jobs.map((j) => j.name),
      JOBS.map((j) => j.name),
    );
    assert.equal(def.config.subscriptionRate, 0n, 'uint256 fields come back as bigints');
    assert.equal(def.sources[0]!.binaries.length > 0, true);
  });

  it('leaves the job schemas empty: the contract would validate a TLV schema against inputs in its own encoding, not ABI', () => {
    for (const job of copy().jobs) {
      assert.equal(job.paramsSchema, '0x');
      assert.equal(job.resultSchema, '0x');
    }
  });

  it('pins the metadata: metadataHash is keccak256 of JSON.stringify(metadata), whatever the layout of the file', () => {
    assert.equal(file.createBlueprint.metadataHash, keccak256(toHex(JSON.stringify(file.metadata))));
    assert.equal(metadataHashOf(file.metadata), file.createBlueprint.metadataHash);
    assert.deepEqual(
      (file.metadata.jobs as { name: string; inputs: unknown[] }[]).map((j) => [j.name, j.inputs.length]),
      JOBS.map((j) => [j.name, j.inputs.length]),
    );
  });

  it('refuses what the contract would revert on, or what is not this blueprint, naming the field and the fix', () => {
    const cases: [string, (d: Editable) => void, RegExp][] = [
      ['unknown field', (d) => (d.metadataURI = 'x'), /createBlueprint: "metadataURI" is not a field of this struct/],
      ['missing field', (d) => delete d.config.eventRate, /createBlueprint\.config: "eventRate" is missing/],
      ['uint256 as a number', (d) => (d.config.eventRate = 0), /createBlueprint\.config\.eventRate: use a decimal string/],
      ['uint8 out of range', (d) => (d.config.membership = 256), /createBlueprint\.config\.membership: use an integer from 0 to 255/],
      ['odd hex', (d) => (d.jobs[0]!.paramsSchema = '0x0'), /createBlueprint\.jobs\[0\]\.paramsSchema: use 0x and an even number/],
      ['empty metadataUri', (d) => (d.metadataUri = ''), /createBlueprint\.metadataUri: Tangle requires one/],
      ['zero metadataHash', (d) => (d.metadataHash = `0x${'0'.repeat(64)}`), /metadataHash: Tangle requires a non-zero digest/],
      ['jobs reordered', (d) => d.jobs.reverse(), /createBlueprint\.jobs: list this blueprint's jobs in index order: execute, invoke/],
      ['no sources', (d) => (d.sources = []), /createBlueprint\.sources: Tangle requires at least one source/],
      ['no binaries', (d) => (d.sources[0]!.binaries = []), /sources\[0\]\.binaries: Tangle requires at least one binary/],
      [
        'zero sha256',
        (d) => (d.sources[0]!.binaries[1]!.sha256 = `0x${'0'.repeat(64)}`),
        /sources\[0\]\.binaries\[1\]\.sha256: Tangle requires/,
      ],
      ['no membership', (d) => (d.supportedMemberships = []), /supportedMemberships: name at least one/],
      ['subscription without a rate', (d) => (d.config.pricing = 1), /createBlueprint\.config: subscription pricing needs/],
    ];
    for (const [name, edit, message] of cases) {
      const d = copy();
      edit(d);
      assert.throws(
        () => createBlueprintArgument(d),
        (err: Error) => err instanceof BlueprintDefinitionError && message.test(err.message),
        name,
      );
    }
  });

  it('reads a file: a metadata edited without its hash is refused; --metadata-uri replaces the URI and so the digest', () => {
    const original = readBlueprintFile(FILE);
    const uri = readBlueprintFile(FILE, { metadataUri: 'https://example.org/faas/metadata.json' });
    assert.equal(uri.metadataUri, 'https://example.org/faas/metadata.json');
    assert.notEqual(definitionHashOf(uri), definitionHashOf(original));
    assert.equal(sourcesHashOf(uri), sourcesHashOf(original), 'the sources are the same');

    const stale = join(scratch, 'stale.json');
    writeFileSync(stale, JSON.stringify({ ...file, metadata: { ...file.metadata, version: '9.9.9' } }));
    assert.throws(
      () => readBlueprintFile(stale),
      /stale\.json: createBlueprint\.metadataHash is not keccak256 of JSON\.stringify\(metadata\)/,
    );

    const wrong = join(scratch, 'wrong.json');
    writeFileSync(wrong, JSON.stringify({ jobs: [] }));
    assert.throws(() => readBlueprintFile(wrong), /wrong\.json: no "createBlueprint" object/);
    assert.throws(() => readBlueprintFile(join(scratch, 'absent.json')), /absent\.json: cannot read it \(ENOENT\)/);
  });
});
