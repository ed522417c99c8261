import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { REPO_ROOT } from '@faas/common';
import { isStartupVariable, STARTUP_VARIABLE_NAMES, STARTUP_VARIABLE_PREFIXES } from './startup-variables.js';

describe('start-up variables', () => {
  it('docs/API.md lists every name and prefix the gateway refuses', () => {
    const doc = readFileSync(join(REPO_ROOT, 'docs', 'API.md'), 'utf8');
    for (const name of [...STARTUP_VARIABLE_NAMES, ...STARTUP_VARIABLE_PREFIXES]) {
      assert.ok(doc.includes(`\`${name}\``), `docs/API.md does not list ${name}`);
    }
  });

  it('matches whole names and prefixes, case-sensitively', () => {
    assert.ok(isStartupVariable('LD_PRELOAD'));
    assert.ok(isStartupVariable('PYTHONBREAKPOINT'));
    assert.ok(isStartupVariable('BASH_ENV'));
    assert.ok(!isStartupVariable('ld_preload'));
    assert.ok(!isStartupVariable('ENVIRONMENT'));
    assert.ok(!isStartupVariable('XPATH'));
    assert.ok(!isStartupVariable('NODE_ENV'));
  });
});
