/**
 * `faas completion bash|zsh`: a completion script for the shell, built from the command tree itself
 * (every command, verb and option), so it never lags behind a new command.
 */
import { Command, InvalidArgumentError } from 'commander';
import { EXIT_FAILED } from '../client/output.js';
import { guardOutput } from '../client/pipe.js';

/** Words per command path ("faas", "faas functions", ...): its subcommands and its options. */
interface Tables {
  subs: Map<string, string[]>;
  opts: Map<string, string[]>;
}

function tablesOf(program: Command): Tables {
  const tables: Tables = { subs: new Map(), opts: new Map() };
  const walk = (command: Command, path: string) => {
    const children = command.commands.filter((c) => c.name() !== 'help');
    if (children.length > 0)
      tables.subs.set(
        path,
        children.map((c) => c.name()),
      );
    const flags = command.options.flatMap((o) => [o.long, o.short]).filter((f): f is string => f !== undefined);
    tables.opts.set(path, [...flags, '--help']);
    for (const child of children) walk(child, `${path} ${child.name()}`);
  };
  walk(program, 'faas');
  return tables;
}

const quote = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`;

function entries(map: Map<string, string[]>): string {
  return [...map].map(([path, words]) => `[${quote(path)}]=${quote(words.join(' '))}`).join(' ');
}

export function bashScript(program: Command): string {
  const { subs, opts } = tablesOf(program);
  return `# faas completion for bash: source <(faas completion bash), or save it in /etc/bash_completion.d/faas
_faas_complete() {
  local -A subs=(${entries(subs)})
  local -A opts=(${entries(opts)})
  local cmd=faas word i
  for ((i = 1; i < COMP_CWORD; i++)); do
    word=\${COMP_WORDS[i]}
    [[ $word == -* ]] && continue
    [[ -n \${subs["$cmd $word"]+x} || -n \${opts["$cmd $word"]+x} ]] && cmd="$cmd $word"
  done
  local cur=\${COMP_WORDS[COMP_CWORD]}
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "\${opts[$cmd]}" -- "$cur"))
  elif [[ -n \${subs[$cmd]+x} ]]; then
    COMPREPLY=($(compgen -W "\${subs[$cmd]}" -- "$cur"))
  fi
}
complete -o default -F _faas_complete faas
`;
}

export function zshScript(program: Command): string {
  const { subs, opts } = tablesOf(program);
  return `#compdef faas
# faas completion for zsh: source <(faas completion zsh), or save it as _faas in a folder of $fpath
_faas() {
  local -A subs opts
  subs=(${[...subs].flatMap(([p, w]) => [quote(p), quote(w.join(' '))]).join(' ')})
  opts=(${[...opts].flatMap(([p, w]) => [quote(p), quote(w.join(' '))]).join(' ')})
  local cmd=faas word
  for word in "\${(@)words[2,CURRENT-1]}"; do
    [[ $word == -* ]] && continue
    (( \${+subs[$cmd $word]} || \${+opts[$cmd $word]} )) && cmd="$cmd $word"
  done
  if [[ \${words[CURRENT]} == -* ]]; then
    compadd -- \${=opts[$cmd]}
  elif (( \${+subs[$cmd]} )); then
    compadd -- \${=subs[$cmd]}
  else
    _files
  fi
}
if [[ $zsh_eval_context[-1] == loadautofunc ]]; then _faas "$@"; else compdef _faas faas; fi
`;
}

export function completionCommand(program: () => Command): Command {
  return new Command('completion')
    .summary('print a shell completion script (bash or zsh)')
    .helpOption('-h, --help', 'show this help and exit')
    .hook('preAction', () => guardOutput(EXIT_FAILED))
    .argument('<shell>', 'bash or zsh', (value: string) => {
      if (value !== 'bash' && value !== 'zsh') throw new InvalidArgumentError('bash or zsh.');
      return value;
    })
    .addHelpText(
      'after',
      '\nExamples:\n  source <(faas completion bash)     # in ~/.bashrc\n  source <(faas completion zsh)      # in ~/.zshrc',
    )
    .action((shell: 'bash' | 'zsh') => {
      const tree = program();
      process.stdout.write(shell === 'bash' ? bashScript(tree) : zshScript(tree));
    });
}
