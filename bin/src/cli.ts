/**
 * The `faas` command line: one file per command under commands/, registered here. Every command has
 * --help and --version; usage errors exit 2, like start-up failures.
 */
import { Command, CommanderError } from 'commander';
import { completionCommand } from './commands/completion.js';
import { configCommand } from './commands/config.js';
import { deadLettersCommand } from './commands/dead-letters.js';
import { functionsCommand } from './commands/functions.js';
import { invocationsCommand } from './commands/invocations.js';
import { invokeCommand } from './commands/invoke.js';
import { keysCommand } from './commands/keys.js';
import { serveCommand } from './commands/serve.js';
import { tangleCommand } from './commands/tangle.js';
import { EXIT_STARTUP } from './startup.js';
import { VERSION } from './version.js';

export function createProgram(): Command {
  const program = new Command('faas')
    .description('A self-hostable Function-as-a-Service platform: runs commands in isolated sandboxes over HTTP.')
    .version(VERSION, '-V, --version', 'print the version and exit')
    .helpOption('-h, --help', 'show this help and exit')
    .helpCommand('help [command]', 'show help for a command')
    .addHelpText(
      'after',
      '\nDocumentation: README.md; the client commands: docs/cli.md; every configuration variable: docs/CONFIGURATION.md.',
    )
    .showSuggestionAfterError(true);
  program.addCommand(serveCommand());
  program.addCommand(configCommand());
  program.addCommand(tangleCommand());
  // The client commands: the gateway's API through @faas/sdk (docs/cli.md).
  program.addCommand(invokeCommand());
  program.addCommand(functionsCommand());
  program.addCommand(invocationsCommand());
  program.addCommand(keysCommand());
  program.addCommand(deadLettersCommand());
  program.addCommand(completionCommand(createProgram));
  return program;
}

/** Parses argv and runs the command; usage errors (unknown command or option) exit 2. */
export async function run(argv: readonly string[]): Promise<void> {
  const program = createProgram();
  if (argv.length === 0) {
    program.outputHelp();
    return;
  }
  program.exitOverride();
  for (const command of program.commands) command.exitOverride();
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exit(err.exitCode === 0 ? 0 : EXIT_STARTUP);
    }
    throw err;
  }
}
