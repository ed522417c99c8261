/**
 * The console's folder comes from the configuration (FAAS_CONSOLE_DIR, read once by loadConfig),
 * never from the process environment behind its back.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CONSOLE_NOT_BUILT } from './console.js';
import { startTestGateway } from './test-fixtures.js';

const folders: string[] = [];

function consoleBuild(marker: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'faas-console-test-'));
  folders.push(dir);
  writeFileSync(join(dir, 'index.html'), `<!doctype html><title>${marker}</title>`);
  writeFileSync(join(dir, 'app.js'), `console.log(${JSON.stringify(marker)});`);
  return dir;
}

after(() => {
  for (const dir of folders) rmSync(dir, { recursive: true, force: true });
});

describe('the web console folder', () => {
  it('is the configured FAAS_CONSOLE_DIR, whatever the process environment says', async () => {
    const configured = consoleBuild('configured');
    const stray = consoleBuild('stray');
    const saved = process.env.FAAS_CONSOLE_DIR;
    process.env.FAAS_CONSOLE_DIR = stray;
    try {
      const g = await startTestGateway({ FAAS_CONSOLE_DIR: configured });
      try {
        assert.equal(g.config.gateway.consoleDir, configured);
        for (const path of ['/console', '/console/']) {
          const page = await g.call('GET', path, { key: null });
          assert.equal(page.statusCode, 200, `${path}: ${page.body}`);
          assert.match(page.body, /<title>configured<\/title>/);
        }
        const asset = await g.call('GET', '/console/app.js', { key: null });
        assert.equal(asset.statusCode, 200);
        assert.match(asset.body, /"configured"/);
      } finally {
        await g.close();
      }
      // Without the variable in the configuration: the default folder, not the stray one.
      const plain = await startTestGateway();
      try {
        assert.notEqual(plain.config.gateway.consoleDir, stray);
        const page = await plain.call('GET', '/console', { key: null });
        assert.doesNotMatch(page.body, /stray/);
        if (page.statusCode === 404) assert.equal(page.body, CONSOLE_NOT_BUILT);
      } finally {
        await plain.close();
      }
    } finally {
      if (saved === undefined) delete process.env.FAAS_CONSOLE_DIR;
      else process.env.FAAS_CONSOLE_DIR = saved;
    }
  });
});
