/**
 * Locations the tests need, resolved from the compiled file so the suite runs from any working
 * directory: tester/dist/support/paths.js -> repository root.
 */
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const OPENAPI_PATH = fileURLToPath(new URL('../../../gateway/openapi.json', import.meta.url));
export const CLI_PATH = fileURLToPath(new URL('../../../bin/dist/main.js', import.meta.url));
