#!/usr/bin/env node
/**
 * The `faas` command (bin/faas.mjs is what npm links onto the PATH; it runs this file).
 * Commands live in commands/, one file each; see cli.ts.
 */
import { run } from './cli.js';
import { describeStartupError, exitWith } from './startup.js';

try {
  await run(process.argv.slice(2));
} catch (err) {
  exitWith(describeStartupError(err, 'error'));
}
