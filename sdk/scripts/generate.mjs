#!/usr/bin/env node
// Writes src/generated/openapi.ts, the types of the HTTP API, from gateway/openapi.json with
// openapi-typescript. The SDK's hand-written layer only refers to these types, so when the document
// changes, `npm run build` (which runs this first) fails to type-check wherever the SDK no longer
// fits it. `--check` writes nothing and exits 1 when the committed file is stale (a unit test runs it).
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import openapiTS, { astToString, transformSchemaObject } from 'openapi-typescript';
import ts from 'typescript';

const here = dirname(fileURLToPath(import.meta.url));
const SPEC = join(here, '../../gateway/openapi.json');
const TARGET = join(here, '../src/generated/openapi.ts');

const HEADER =
  '// Generated from gateway/openapi.json by sdk/scripts/generate.mjs (openapi-typescript): do not edit; run `npm run generate -w sdk`.\n';

/** The file's text for the document as it is now. */
export async function render() {
  const document = JSON.parse(readFileSync(SPEC, 'utf8'));
  const ast = await openapiTS(document, { transform: prefixItemsWithRest });
  return `${HEADER}${astToString(ast)}`;
}

/**
 * openapi-typescript turns `prefixItems` into a tuple of exactly those items and drops `items`, the
 * type of the rest: a command (`prefixItems: [program]`, `items: string`) would allow one string only.
 * This gives such an array its rest, `[string, ...string[]]`.
 */
function prefixItemsWithRest(schema, options) {
  if (schema.type !== 'array' || !Array.isArray(schema.prefixItems) || !schema.items || Array.isArray(schema.items)) return undefined;
  const head = schema.prefixItems.map((item) => transformSchemaObject(item, options));
  const rest = ts.factory.createRestTypeNode(ts.factory.createArrayTypeNode(transformSchemaObject(schema.items, options)));
  return ts.factory.createTupleTypeNode([...head, rest]);
}

const isMain = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1];
if (isMain) {
  const text = await render();
  const name = relative(process.cwd(), TARGET);
  if (process.argv.includes('--check')) {
    let current = '';
    try {
      current = readFileSync(TARGET, 'utf8');
    } catch {}
    if (current !== text) {
      process.stderr.write(`${name} is stale: gateway/openapi.json changed since it was generated; run \`npm run generate -w sdk\`\n`);
      process.exit(1);
    }
  } else {
    writeFileSync(TARGET, text);
  }
}
