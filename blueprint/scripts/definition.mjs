#!/usr/bin/env node
// Writes blueprint/blueprint.json from the compiled jobs (run `npx tsc -b` first).
import { readFileSync, writeFileSync } from 'node:fs';
import { blueprintDefinitionText } from '../dist/definition.js';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
writeFileSync(new URL('../blueprint.json', import.meta.url), blueprintDefinitionText(pkg.version));
process.stderr.write('wrote blueprint/blueprint.json\n');
