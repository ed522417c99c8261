#!/usr/bin/env node
// The `faas` command that npm links onto the PATH (bin/package.json "bin"; scripts/setup-host.sh runs
// `npm link -w bin`). It runs the compiled CLI, or says how to build it.
import { existsSync } from 'node:fs';

const main = new URL('./dist/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write(`faas: ${main.pathname} is missing: build it with \`npx tsc -b\` in the repository\n`);
  process.exit(2);
}
await import(main.href);
