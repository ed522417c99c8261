#!/usr/bin/env node
// Writes blueprint/blueprint.json from the compiled definition (run `npx tsc -b` first), laid out as
// the repository's formatter lays out JSON, so that `biome check` passes on the generated file.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { blueprintDefinitionText } from '../dist/definition.js';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const file = fileURLToPath(new URL('../blueprint.json', import.meta.url));
writeFileSync(file, blueprintDefinitionText(pkg.version));
const biome = spawnSync('npx', ['--no-install', 'biome', 'format', '--write', file], {
  cwd: fileURLToPath(new URL('../..', import.meta.url)),
  stdio: 'ignore',
});
process.stderr.write(
  `wrote blueprint/blueprint.json${biome.status === 0 ? '' : ' (not formatted: biome did not run; run `npx biome format --write blueprint/blueprint.json`)'}\n`,
);
