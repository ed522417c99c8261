import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { type AbiEvent, type AbiFunction, toEventSignature, toFunctionSignature } from 'viem';
import { MISSING_FIXTURES, tangleFixtures } from '../test-paths.js';
import { DELIBERATE_DIFFERENCES, JOB_SUBMITTED_AS_DECLARED, TANGLE_ABI } from './tangle.js';

const dir = tangleFixtures();

describe("the project's copy of ITangle", { skip: dir ? false : MISSING_FIXTURES }, () => {
  const published = JSON.parse(readFileSync(join(dir ?? '.', 'ITangle.abi.json'), 'utf8')).abi as (AbiFunction | AbiEvent)[];
  const find = (entry: AbiFunction | AbiEvent) =>
    published.filter((p) => p.type === entry.type && p.name === entry.name && p.inputs.length === entry.inputs.length);

  for (const entry of TANGLE_ABI) {
    it(`${entry.type} ${entry.name}: same signature, outputs and flags as the published interface`, () => {
      const candidates = find(entry as AbiFunction | AbiEvent);
      const ours = entry.type === 'function' ? toFunctionSignature(entry as AbiFunction) : toEventSignature(entry as AbiEvent);
      const match = candidates.find(
        (p) => (p.type === 'function' ? toFunctionSignature(p as AbiFunction) : toEventSignature(p as AbiEvent)) === ours,
      );
      assert.ok(match, `${ours} is not in ITangle.abi.json`);
      // Names, types and output tuples, with no internalType noise.
      const strip = (params: readonly unknown[]): unknown =>
        (params as { name: string; type: string; indexed?: boolean; components?: unknown[] }[]).map((p) => ({
          name: p.name,
          type: p.type,
          ...(p.components ? { components: strip(p.components) } : {}),
        }));
      assert.deepEqual(strip(entry.inputs), strip(match.inputs));
      if (entry.type === 'function') {
        const fn = match as AbiFunction;
        assert.deepEqual(strip(entry.outputs), strip(fn.outputs));
        assert.equal(entry.stateMutability, fn.stateMutability);
      } else {
        const declared = (match as AbiEvent).inputs.map((p) => p.indexed ?? false);
        const ourFlags = entry.inputs.map((p) => p.indexed);
        entry.inputs.forEach((p, i) => {
          const differs = ourFlags[i] !== declared[i];
          const allowed = (DELIBERATE_DIFFERENCES as readonly string[]).includes(`${entry.name}.${p.name}`);
          assert.equal(differs, allowed, `${entry.name}.${p.name}: indexed ${ourFlags[i]} here, ${declared[i]} in the interface`);
        });
      }
    });
  }

  it('keeps the declared form of JobSubmitted exactly as published', () => {
    const match = find(JOB_SUBMITTED_AS_DECLARED[0] as AbiEvent)[0] as AbiEvent;
    assert.deepEqual(
      match.inputs.map((p) => [p.name, p.type, p.indexed]),
      JOB_SUBMITTED_AS_DECLARED[0].inputs.map((p) => [p.name, p.type, p.indexed]),
    );
  });
});
