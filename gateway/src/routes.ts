/**
 * The API's paths and methods, read from the OpenAPI document the gateway serves. Answers that
 * depend on "which methods does this path offer" (405 with `Allow`, 404 for unknown paths) come
 * from here, so the server and its document cannot disagree about them.
 */
import { readFileSync } from 'node:fs';

/** The OpenAPI document, shipped beside the compiled code and served verbatim. */
export const openApiDocument: Record<string, unknown> = JSON.parse(readFileSync(new URL('../openapi.json', import.meta.url), 'utf8'));

/** The invoke operation's path as the document spells it. */
export const INVOKE_TEMPLATE = '/functions/{function_id}/invoke';

const OPERATION_KEYS = ['get', 'head', 'post', 'put', 'delete', 'patch', 'options', 'trace'] as const;

export interface DocumentedPath {
  template: string;
  /** Upper-case methods the document declares for the path, in a stable order. */
  methods: readonly string[];
  pattern: RegExp;
}

function compile(template: string): RegExp {
  // A template parameter is one path segment; an empty one still routes (and is refused by validation).
  const source = template
    .split(/(\{[^}/]+\})/)
    .map((part) => (part.startsWith('{') ? '[^/]*' : part.replace(/[.*+?^$()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`);
}

export const DOCUMENTED_PATHS: readonly DocumentedPath[] = Object.entries(
  (openApiDocument.paths ?? {}) as Record<string, Record<string, unknown>>,
).map(([template, item]) => ({
  template,
  methods: OPERATION_KEYS.filter((key) => key in item).map((key) => key.toUpperCase()),
  pattern: compile(template),
}));

/** The path of a request target: no query, no fragment. */
export function pathOf(url: string): string {
  const end = url.search(/[?#]/);
  return end < 0 ? url : url.slice(0, end);
}

/**
 * True for a path with a trailing slash (`/functions/`, `/functions/fn/`): no route of the API has
 * one, so such a path is a 404 whatever the method, never the item route with an empty id. The
 * console's pages are not API routes (`/console/` is its page; console.ts).
 */
export function hasTrailingSlash(url: string): boolean {
  const path = pathOf(url);
  return path.length > 1 && path.endsWith('/') && !/^\/console(\/|$)/.test(path);
}

/** The documented path a request target falls under, if any (matched on the raw, undecoded path). */
export function documentedPath(url: string): DocumentedPath | undefined {
  const path = pathOf(url);
  // Paths are short in practice; an absurd one cannot be a documented path and is not scanned.
  // A trailing slash is no documented path either (it would match an empty last parameter).
  if (path.length > 8192 || hasTrailingSlash(path)) return undefined;
  return DOCUMENTED_PATHS.find((p) => p.pattern.test(path));
}

/** True when the request targets the invoke operation's path. */
export function isInvokePath(url: string): boolean {
  return documentedPath(url)?.template === INVOKE_TEMPLATE;
}
