/**
 * Environment variables that change which code a program runs: read by the dynamic loader, the C
 * library, a shell or a language runtime at start-up to load a library, a module or a script, run
 * a command, or pick where code is found. The caller of a registered function may not set them
 * (gateway/src/invocation-merge.ts): with `BASH_ENV=/dev/stdin` a caller allowed only to invoke a
 * bash function would run its own payload in it, with the function's secrets in the environment.
 * The definition itself may set any of them.
 *
 * The list starts from sudo's (plugins/sudoers/env.c, `initial_badenv_table`: the variables sudo
 * removes before running a command for another user), with the language runtimes sudo does not
 * cover (Node.js `NODE_OPTIONS`, Python's `PYTHONSTARTUP` and `PYTHONBREAKPOINT`, .NET start-up
 * hooks and profilers, Lua, PHP, R, Tcl), glibc's `GLIBC_TUNABLES` and `GCONV_PATH`, OpenSSL's and
 * git's, and the options and helper programs ordinary tools read (GNU tar's `TAR_OPTIONS`, whose
 * `--checkpoint-action=exec` runs a command). Names are case-sensitive, as the programs that read
 * them are.
 *
 * No such list is complete, so it is the second line: an invocation may set only the variables
 * its function's definition names in `allowed_env_vars` (none by default), and never one of these,
 * even when a pattern there covers it.
 */

/** Whole names. */
export const STARTUP_VARIABLE_NAMES: ReadonlySet<string> = new Set([
  // Shells: start-up files, option sets, traced prompts, word splitting, function and command paths.
  'ENV',
  'BASH_ENV',
  'BASHOPTS',
  'SHELLOPTS',
  'PS4',
  'PROMPT_COMMAND',
  'IFS',
  'CDPATH',
  'GLOBIGNORE',
  'FPATH',
  'NULLCMD',
  'READNULLCMD',
  'ZDOTDIR',
  'TMPPREFIX',
  'PATH',
  // The C library: character-set converters and locale files it loads, host aliases it reads.
  'GCONV_PATH',
  'GLIBC_TUNABLES',
  'LOCPATH',
  'NLSPATH',
  'PATH_LOCALE',
  'HOSTALIASES',
  'RES_OPTIONS',
  'LOCALDOMAIN',
  'SHLIB_PATH',
  'LIBPATH',
  'TERMINFO',
  'TERMINFO_DIRS',
  'TERMPATH',
  'TERMCAP',
  // Node.js.
  'NODE_OPTIONS',
  'NODE_PATH',
  'NODE_REPL_EXTERNAL_MODULE',
  // Ruby.
  'RUBYOPT',
  'RUBYLIB',
  'GEM_HOME',
  'GEM_PATH',
  'BUNDLE_GEMFILE',
  // Java.
  'JAVA_TOOL_OPTIONS',
  '_JAVA_OPTIONS',
  'JDK_JAVA_OPTIONS',
  'CLASSPATH',
  // .NET.
  'DOTNET_STARTUP_HOOKS',
  'DOTNET_ADDITIONAL_DEPS',
  // PHP, Lua, Tcl, R.
  'PHPRC',
  'PHP_INI_SCAN_DIR',
  'LUA_INIT',
  'LUA_PATH',
  'LUA_CPATH',
  'TCLLIBPATH',
  'R_PROFILE',
  'R_PROFILE_USER',
  'R_ENVIRON',
  'R_ENVIRON_USER',
  // Options or helper programs that ordinary tools take from the environment: GNU tar's
  // --checkpoint-action=exec, less's input preprocessor, the programs run as pager, editor,
  // browser or password prompt, wget's and compressors' option files and variables.
  'TAR_OPTIONS',
  'LESSOPEN',
  'LESSCLOSE',
  'PAGER',
  'EDITOR',
  'VISUAL',
  'BROWSER',
  'SSH_ASKPASS',
  'WGETRC',
  'GZIP',
  'XZ_DEFAULTS',
  'XZ_OPT',
  // Build tools and runtimes that take flags or wrapper programs from the environment: Go's
  // -toolexec, Erlang's -eval, make's, man's pager, rustc's wrapper.
  'GOFLAGS',
  'ERL_AFLAGS',
  'ERL_ZFLAGS',
  'ERL_FLAGS',
  'MAKEFLAGS',
  'MANPAGER',
  'RUSTC_WRAPPER',
  'RUSTC_WORKSPACE_WRAPPER',
]);

/** Prefixes: every name that starts with one. */
export const STARTUP_VARIABLE_PREFIXES: readonly string[] = [
  // The dynamic loader (LD_PRELOAD, LD_LIBRARY_PATH, LD_AUDIT, ...), and other systems' (_RLD*).
  'LD_',
  '_RLD',
  // Python (PYTHONPATH, PYTHONSTARTUP, PYTHONHOME, PYTHONINSPECT, PYTHONBREAKPOINT, ...).
  'PYTHON',
  // Perl (PERL5OPT, PERL5LIB, PERLLIB, PERL5DB, PERLIO_DEBUG, ...).
  'PERL',
  // .NET profilers (CORECLR_PROFILER_PATH, COR_PROFILER, ...).
  'CORECLR_',
  'COR_',
  // Lua's versioned forms (LUA_INIT_5_4, LUA_PATH_5_4, ...).
  'LUA_INIT_',
  'LUA_PATH_',
  'LUA_CPATH_',
  // OpenSSL's configuration, engines and providers (OPENSSL_CONF: a configuration file that can
  // load modules, and whose parse errors Node.js prints with ${ENV::NAME} expanded).
  'OPENSSL_',
  // git's helper programs and configuration (GIT_SSH_COMMAND, GIT_EXEC_PATH, GIT_CONFIG_*, ...).
  'GIT_',
  // cargo's configuration (CARGO_BUILD_RUSTC_WRAPPER, CARGO_TARGET_*_RUNNER, ...).
  'CARGO_',
];

/** True when `name` is a start-up variable a registered function's caller may not set. */
export function isStartupVariable(name: string): boolean {
  if (STARTUP_VARIABLE_NAMES.has(name)) return true;
  return STARTUP_VARIABLE_PREFIXES.some((prefix) => name.startsWith(prefix));
}
