import assert from 'node:assert/strict';
import { it } from 'node:test';
import { parseLogFilter } from './log.js';

it('parses RUST_LOG-style filters', () => {
  assert.deepEqual(parseLogFilter('warn,faas_gateway=debug,orchestrator=trace'), {
    defaultLevel: 'warn',
    components: { gateway: 'debug', orchestrator: 'trace' },
  });
  assert.equal(parseLogFilter('off').defaultLevel, 'silent');
  assert.throws(() => parseLogFilter('loud'), /unknown level "loud"/);
});
