import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { ERRORS, FaasError } from './errors.js';

describe('error registry', () => {
  it('is documented in docs/ERRORS.md, code by code, with the same status', () => {
    const doc = readFileSync(new URL('../../docs/ERRORS.md', import.meta.url), 'utf8');
    const rows = new Map<string, number>();
    for (const match of doc.matchAll(/^\|\s*`(FAAS_ERR_[A-Z0-9_]+)`\s*\|\s*(\d{3})\s*\|/gm)) rows.set(match[1] as string, Number(match[2]));
    assert.deepEqual([...rows.keys()].sort(), Object.keys(ERRORS).sort(), 'docs/ERRORS.md and common/src/errors.ts list different codes');
    for (const [code, entry] of Object.entries(ERRORS)) assert.equal(rows.get(code), entry.status, `${code} status differs`);
  });
  it('serialises as the design document error body plus the code', () => {
    const err = new FaasError('FAAS_ERR_TIMEOUT', 'too slow', { details: { invocation_id: 'x' } });
    assert.deepEqual(JSON.parse(JSON.stringify(err)), { error: 'too slow', code: 'FAAS_ERR_TIMEOUT', invocation_id: 'x' });
    assert.equal(err.status, 504);
  });
});
