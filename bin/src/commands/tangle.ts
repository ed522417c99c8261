/**
 * `faas tangle`: the blueprint on chain from the outside: create it (`blueprint create`), submit job
 * calls and read their results (`submit`, `status`); the operator runs in `faas serve`.
 */
import { Command } from 'commander';
import { VERSION } from '../version.js';
import { blueprintCommand } from './tangle/blueprint.js';
import { statusCommand } from './tangle/status.js';
import { submitCommand } from './tangle/submit.js';

export function tangleCommand(): Command {
  return new Command('tangle')
    .summary('submit job calls to a Tangle service and read their results')
    .description(
      'Job calls on Tangle: `submit` encodes a job and its inputs, sends it and prints the decoded result; `status` shows the services and a call; `blueprint create` registers the blueprint definition on chain. Each prints lines for people, or JSON with --json. The operator side runs inside `faas serve` when FAAS_TANGLE_RPC_URL is set (README, "Running faas as a Tangle operator").',
    )
    .version(VERSION, '-V, --version', 'print the version and exit')
    .helpOption('-h, --help', 'show this help and exit')
    .addCommand(submitCommand().exitOverride())
    .addCommand(statusCommand().exitOverride())
    .addCommand(blueprintCommand().exitOverride());
}
