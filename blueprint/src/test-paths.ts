/** Files the tests read: Tangle's published fixtures in ../shared/tangle (never copied here), and the spec. */
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (blueprint/dist/test-paths.js -> ../..). */
export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Tangle's fixtures: FAAS_TANGLE_FIXTURES, else ../shared/tangle beside the repository. */
export function tangleFixtures(): string | undefined {
  const dir = process.env.FAAS_TANGLE_FIXTURES ?? resolve(REPO, '..', 'shared', 'tangle');
  return existsSync(resolve(dir, 'ITangle.abi.json')) ? dir : undefined;
}

export const MISSING_FIXTURES =
  "Tangle's fixtures (ITangle.abi.json, localtestnet-broadcast.json) are not in ../shared/tangle: set FAAS_TANGLE_FIXTURES to their folder";
