/**
 * A function definition for `faas functions deploy|update`: a YAML or JSON file holding the body of
 * `POST /functions` (the same field names), with flags over it. The gateway validates it; this only
 * reads it and says which file or flag is wrong.
 */
import { readFileSync } from 'node:fs';
import type { FunctionCreate, FunctionInfo, FunctionPatch } from '@faas/sdk';
import { parse as parseYaml } from 'yaml';
import { type LimitFlags, limitsOf, pairsToObject } from './input.js';
import { UsageError } from './output.js';

export interface DefinitionFlags extends LimitFlags {
  file?: string;
  image?: string;
  env?: string[];
  allowEnv?: string[];
  secret?: string[];
  executor?: string;
  poolMode?: string;
  timeout?: number;
  maxConcurrency?: number;
  maxAttempts?: number;
  retryOnFailure?: boolean;
  callbackUrl?: string;
  description?: string;
}

type Fields = Record<string, unknown>;

/** The file's object; YAML unless the name ends in .json (YAML reads JSON too, with worse messages). */
export function readDefinitionFile(path: string): Fields {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(`--file ${path}: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new UsageError(
      `--file ${path} is not valid ${path.endsWith('.json') ? 'JSON' : 'YAML'}: ${(err as Error).message.split('\n')[0]}`,
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new UsageError(`--file ${path} must hold one object with the fields of POST /functions (id, image, command, ...)`);
  }
  return parsed as Fields;
}

/** The fields the flags set (a command after `--` included), in the API's names. */
export function fieldsFromFlags(flags: DefinitionFlags, command: string[]): Fields {
  const fields: Fields = {};
  const set = (name: string, value: unknown) => {
    if (value !== undefined) fields[name] = value;
  };
  set('image', flags.image);
  set('command', command.length > 0 ? command : undefined);
  set('env_vars', flags.env);
  set('allowed_env_vars', flags.allowEnv);
  set('secrets', pairsToObject('--secret', flags.secret));
  set('executor', flags.executor);
  set('pool_mode', flags.poolMode);
  set('limits', limitsOf(flags));
  set('timeout_ms', flags.timeout);
  set('max_concurrency', flags.maxConcurrency);
  set('max_attempts', flags.maxAttempts);
  set('retry_on_failure', flags.retryOnFailure);
  set('callback_url', flags.callbackUrl);
  set('description', flags.description);
  return fields;
}

/** The whole definition of `deploy`: the file, then the flags over it, the id from the argument or the file. */
export function definitionOf(id: string | undefined, flags: DefinitionFlags, command: string[]): FunctionCreate {
  const fromFile = flags.file === undefined ? {} : readDefinitionFile(flags.file);
  const definition: Fields = { ...fromFile, ...fieldsFromFlags(flags, command) };
  if (id !== undefined) {
    if (fromFile.id !== undefined && fromFile.id !== id)
      throw new UsageError(`the id ${id} differs from the file's id ${String(fromFile.id)}`);
    definition.id = id;
  }
  if (definition.id === undefined) throw new UsageError('no function id: faas functions deploy ID ..., or "id" in the file');
  if (definition.image === undefined) throw new UsageError('no image: --image IMAGE, or "image" in the file');
  if (definition.command === undefined) throw new UsageError('no command: the command after --, or "command" in the file');
  return definition as unknown as FunctionCreate;
}

/** Fields of an answer that are not part of a definition. */
const NOT_DEFINITION = new Set(['id', 'secret_names', 'version', 'created_at', 'updated_at']);

/**
 * The merge patch that makes `current` what `definition` says: fields it leaves out are reset
 * (null), limits it leaves out unset. Secrets are kept unless it names some: then exactly those.
 */
export function patchToDefinition(current: FunctionInfo, definition: FunctionCreate): FunctionPatch {
  const { id: _id, ...wanted } = definition as unknown as Fields;
  const patch: Fields = { ...wanted };
  for (const name of Object.keys(current)) {
    if (!NOT_DEFINITION.has(name) && !(name in wanted)) patch[name] = null;
  }
  if (wanted.limits !== undefined && wanted.limits !== null) {
    const limits: Fields = { ...(wanted.limits as Fields) };
    for (const name of Object.keys(current.limits)) if (!(name in limits)) limits[name] = null;
    patch.limits = limits;
  }
  if (wanted.secrets !== undefined && wanted.secrets !== null) {
    const secrets: Fields = { ...(wanted.secrets as Fields) };
    for (const name of current.secret_names) if (!(name in secrets)) secrets[name] = null;
    patch.secrets = secrets;
  }
  return patch as FunctionPatch;
}
