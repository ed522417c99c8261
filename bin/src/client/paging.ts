/**
 * The list commands' paging, one way for every noun: `--limit N` asks for one page of at most N,
 * `--cursor C` for the page after the one whose `next_cursor` was C (printed with --json, and as a
 * `faas: more: --cursor C` line on stderr under a table). The gateway's list routes share the same
 * query (docs/API.md, "Lists").
 */
import type { Command } from 'commander';
import { parseInteger } from './input.js';

/** The paging flags as commander parses them. */
export interface PageFlags {
  limit?: number;
  cursor?: string;
}

/** Adds `--limit <n>` (described by `limitHelp`) and `--cursor <cursor>` to a list command. */
export function withPageOptions(command: Command, limitHelp: string): Command {
  return command
    .option('--limit <n>', limitHelp, parseInteger)
    .option('--cursor <cursor>', "the next page: a previous answer's next_cursor (shown with --json)");
}

/** The query fields of the flags that were given: `{}`, `{ limit }`, `{ cursor }` or both. */
export function pageQuery(flags: PageFlags): PageFlags {
  return {
    ...(flags.limit === undefined ? {} : { limit: flags.limit }),
    ...(flags.cursor === undefined ? {} : { cursor: flags.cursor }),
  };
}

/**
 * For lists whose default is "every item": without --limit or --cursor, walks every page with
 * `all` and returns the items; with either, fetches that one page with `list` and returns it with
 * its items (so --json prints the page and its next_cursor).
 */
export async function everyOrOnePage<T, P>(
  flags: PageFlags,
  all: () => AsyncIterable<T>,
  list: (query: PageFlags) => Promise<P>,
  itemsOf: (page: P) => T[],
): Promise<{ items: T[]; page?: P }> {
  if (flags.limit === undefined && flags.cursor === undefined) {
    const items: T[] = [];
    for await (const item of all()) items.push(item);
    return { items };
  }
  const page = await list(pageQuery(flags));
  return { items: itemsOf(page), page };
}

/** Under a table: where the next page starts, on stderr (stdout keeps only the table). */
export function printMore(nextCursor: string | null | undefined): void {
  if (nextCursor) process.stderr.write(`faas: more: --cursor ${nextCursor}\n`);
}
