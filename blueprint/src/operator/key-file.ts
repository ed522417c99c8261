/**
 * The operator's signing key, read from the file FAAS_TANGLE_KEY_FILE names: never from a
 * command-line argument (visible to every user in `ps`) nor from an environment variable's value
 * (inherited by children, printed by debug dumps). The file holds one private key, 0x and 64 hex
 * digits; it must not be readable by group or others, as ssh insists for its keys.
 */
import { readFileSync, statSync } from 'node:fs';
import { FaasError } from '@faas/common';
import type { Hex } from 'viem';

const KEY = /^(0x)?[0-9a-fA-F]{64}$/;

/** Reads and checks the key; throws FAAS_ERR_CONFIG naming the file and the fix (never the key). */
export function readKeyFile(path: string, what = 'FAAS_TANGLE_KEY_FILE'): Hex {
  let mode: number;
  let text: string;
  try {
    mode = statSync(path).mode;
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new FaasError('FAAS_ERR_CONFIG', `${what}=${path}: cannot read it (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  if ((mode & 0o077) !== 0) {
    throw new FaasError(
      'FAAS_ERR_CONFIG',
      `${what}=${path} is readable by others (mode ${(mode & 0o777).toString(8)}): restrict it with \`chmod 600 ${path}\``,
    );
  }
  const key = text.trim();
  if (!KEY.test(key)) {
    throw new FaasError(
      'FAAS_ERR_CONFIG',
      `${what}=${path} does not hold a private key: write one key as 64 hex digits (with or without 0x) and nothing else (its content is not shown)`,
    );
  }
  return (key.startsWith('0x') ? key : `0x${key}`) as Hex;
}
