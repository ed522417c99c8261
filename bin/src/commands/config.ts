/**
 * `faas config`: prints the effective configuration (.env under the environment), secrets redacted.
 * Its output is JSON already (a configuration is a tree, and a tree reads well as JSON), so `--json`
 * is accepted and changes nothing: every command takes it.
 */
import { redactConfig } from '@faas/common';
import type { Command } from 'commander';
import { describeStartupError, exitWith, readEffectiveConfig } from '../startup.js';
import { CONFIG_HELP, type DotenvOptions, dotenvOf, subcommand } from './common.js';

export function configCommand(): Command {
  return subcommand('config', 'print the effective configuration as JSON and exit')
    .description(
      'Validate the configuration exactly as `faas serve` does and print the result as JSON (values whose names suggest a secret, and credentials in URLs, are redacted). Exits 2 with one line naming the variable, where it was set and the fix when something is wrong.',
    )
    .option('--json', 'accepted for symmetry with the other commands: the output is JSON either way')
    .addHelpText('after', `${CONFIG_HELP}\n\nExample:\n  FAAS_POOL_MODE=reuse faas config`)
    .action((options: DotenvOptions) => {
      try {
        const envFile = dotenvOf(options);
        const { config } = readEffectiveConfig(envFile.path, envFile.explicit);
        process.stdout.write(`${JSON.stringify(redactConfig(config), null, 2)}\n`);
      } catch (err) {
        exitWith(describeStartupError(err, 'cannot read the configuration'));
      }
    });
}
