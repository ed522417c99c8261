/**
 * Reads docs/tangle-jobs.md, the one written spec of the job ABI: its ```abi blocks
 * (`name = (type field, ...)`) and its ```status block. The tests check the code against it, and
 * the end-to-end tests decode real inputs and results with these types (through viem,
 * independently of the operator's own reader).
 */
import { readFileSync } from 'node:fs';
import { type AbiParameter, decodeAbiParameters, type Hex, parseAbiParameters } from 'viem';

export interface JobSpec {
  /** `execute.inputs.v1` -> `(uint8 version, ...)` */
  layouts: Map<string, string>;
  /** Status number -> name. */
  statuses: Map<number, string>;
}

export function readJobSpec(path: string): JobSpec {
  const text = readFileSync(path, 'utf8');
  const layouts = new Map<string, string>();
  for (const block of text.matchAll(/```abi\n([\s\S]*?)```/g)) {
    for (const line of (block[1] ?? '').split('\n').filter((l) => l.trim())) {
      const match = /^([\w.]+) = (\(.*\))$/.exec(line.trim());
      if (!match) throw new Error(`docs/tangle-jobs.md: cannot read the abi line "${line}"`);
      layouts.set(match[1] as string, match[2] as string);
    }
  }
  const statuses = new Map<number, string>();
  const status = /```status\n([\s\S]*?)```/.exec(text);
  for (const line of (status?.[1] ?? '').split('\n').filter((l) => l.trim())) {
    const [n, name] = line.trim().split(/\s+/);
    statuses.set(Number(n), name as string);
  }
  return { layouts, statuses };
}

/** Decodes `data` with the spec's layout `name`, by viem: an object keyed by the spec's field names. */
export function decodeWithSpec(spec: JobSpec, name: string, data: Hex): Record<string, unknown> {
  const layout = spec.layouts.get(name);
  if (!layout) throw new Error(`the job spec has no layout ${name}`);
  const params = parseAbiParameters(layout.slice(1, -1)) as readonly AbiParameter[];
  const values = decodeAbiParameters(params, data);
  return Object.fromEntries(params.map((p, i) => [p.name as string, values[i]]));
}
