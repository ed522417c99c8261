/**
 * A strict `.env` reader. The usual parsers (the `dotenv` package included) skip lines they do not
 * understand and accept `KEY = value`, so a mistake there silently falls back to a default. This one
 * accepts one small syntax (docs/CONFIGURATION.md, ".env files") and rejects everything else with
 * the file, the line and the fix.
 *
 *   # comment                     blank lines and lines starting with # are ignored
 *   NAME=value                    NAME: upper-case letters, digits and _, not starting with a digit
 *   export NAME=value             "export " is allowed (so the file can be sourced by a shell)
 *   NAME=value # comment          an unquoted value ends at " #"; surrounding blanks are trimmed
 *   NAME='value'                  single quotes: taken literally
 *   NAME="value"                  double quotes: \" \\ \n \t \r and \$ are escapes
 *
 * Values are one line; nothing is expanded ($VAR stays as written).
 */
import { readFileSync } from 'node:fs';
import { FaasError } from './errors.js';

export interface DotenvEntry {
  value: string;
  /** 1-based line number in the file. */
  line: number;
}

/** A parsed `.env` file: its path (as given) and its variables in file order. */
export interface DotenvFile {
  path: string;
  entries: Map<string, DotenvEntry>;
}

const NAME = /^[A-Z_][A-Z0-9_]*$/;

function fail(path: string, line: number, message: string): never {
  throw new FaasError('FAAS_ERR_CONFIG', `${path}:${line}: ${message}`, { details: { source: `${path}:${line}` } });
}

/** Parses the text of a `.env` file; `path` is only used in error messages. */
export function parseDotenv(text: string, path: string): DotenvFile {
  const entries = new Map<string, DotenvEntry>();
  const lines = text.replace(/^\uFEFF/, '').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const line = (lines[i] as string).replace(/\r$/, '');
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const body = trimmed.replace(/^export\s+/, '');
    const colon = /^([A-Za-z_][A-Za-z0-9_]*)\s*:(?:\s|$)(.*)$/.exec(body);
    if (colon) fail(path, lineNo, `"${shorten(trimmed)}" uses ":"; write ${colon[1]}=${(colon[2] ?? '').trim()}`);
    const eq = body.indexOf('=');
    if (eq < 0) fail(path, lineNo, `"${shorten(trimmed)}" is not a NAME=value line (comments start with #)`);
    const rawName = body.slice(0, eq);
    const name = rawName.trim();
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      fail(
        path,
        lineNo,
        `"${shorten(trimmed)}" is not a NAME=value line: NAME is upper-case letters, digits and _ (such as FAAS_GATEWAY_PORT)`,
      );
    }
    if (rawName !== name || /^[ \t]/.test(body.slice(eq + 1))) {
      fail(path, lineNo, `spaces around "=" in "${shorten(trimmed)}": write ${name}=${body.slice(eq + 1).trim()}`);
    }
    if (!NAME.test(name)) fail(path, lineNo, `variable names are upper case: write ${name.toUpperCase()}, not ${name}`);
    const value = parseValue(body.slice(eq + 1), path, lineNo, name);
    const earlier = entries.get(name);
    if (earlier) fail(path, lineNo, `${name} is set twice (lines ${earlier.line} and ${lineNo}): keep one`);
    entries.set(name, { value, line: lineNo });
  }
  return { path, entries };
}

function parseValue(raw: string, path: string, line: number, name: string): string {
  const quote = raw[0];
  if (quote === '"' || quote === "'") {
    let value = '';
    let i = 1;
    for (; i < raw.length; i++) {
      const c = raw[i] as string;
      if (c === quote) break;
      if (c === '\\' && quote === '"') {
        const next = raw[i + 1];
        const escapes: Record<string, string> = { '"': '"', '\\': '\\', n: '\n', t: '\t', r: '\r', $: '$' };
        if (next === undefined || escapes[next] === undefined) {
          fail(path, line, `${name}: unknown escape "\\${next ?? ''}" in a double-quoted value (use \\" \\\\ \\n \\t \\r or \\$)`);
        }
        value += escapes[next];
        i++;
        continue;
      }
      value += c;
    }
    if (i >= raw.length) {
      fail(
        path,
        line,
        `${name}: the value opens a ${quote === '"' ? 'double' : 'single'} quote that is not closed on this line: ${shorten(raw)}`,
      );
    }
    const rest = raw.slice(i + 1).trim();
    if (rest !== '' && !rest.startsWith('#')) {
      fail(path, line, `${name}: unexpected text after the closing quote: ${shorten(rest)} (quote the whole value)`);
    }
    return value;
  }
  const comment = /\s#/.exec(raw);
  const value = (comment ? raw.slice(0, comment.index) : raw).trim();
  if (/["']/.test(value)) {
    fail(path, line, `${name}: a quote inside an unquoted value (${shorten(value)}): quote the whole value, as ${name}="..."`);
  }
  return value;
}

function shorten(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** Reads and parses a `.env` file; undefined when it does not exist. Other read errors are thrown. */
export function readDotenv(path: string): DotenvFile | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    throw new FaasError('FAAS_ERR_CONFIG', `${path}: cannot read (${code ?? (err as Error).message}): fix its permissions or remove it`);
  }
  return parseDotenv(text, path);
}

/**
 * The environment the platform runs with: every variable of `env`, plus those of the `.env` file
 * that `env` does not set (the environment wins). `sources` tells where each FAAS_* / platform value
 * came from, for error messages: "the environment" or "<file>:<line>".
 */
export function mergeDotenv(
  env: Record<string, string | undefined>,
  file: DotenvFile | undefined,
): { env: Record<string, string | undefined>; sources: Record<string, string> } {
  const merged: Record<string, string | undefined> = { ...env };
  const sources: Record<string, string> = {};
  for (const [name, entry] of file?.entries ?? []) {
    if (merged[name] !== undefined) continue;
    merged[name] = entry.value;
    sources[name] = `${file?.path}:${entry.line}`;
  }
  return { env: merged, sources };
}
