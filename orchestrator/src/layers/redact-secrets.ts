/**
 * A registered function's secret values masked in its output, before anything else sees it: the
 * answer of a synchronous call, an asynchronous invocation's stored result and callback, a Tangle
 * job's result on chain, and the history all get `***` where the function wrote a secret's value.
 * The sandbox itself gets the secrets unchanged (as environment variables); only what comes out of
 * it is masked, as CI systems mask secrets in their logs. It stops the accidental leak (a debug
 * print, `env`, a stack trace with a connection string), and is built so that it answers no
 * question a caller could not answer without it:
 *
 * - Masked: every occurrence of each secret value of at least `MIN_MASKED_BYTES` bytes, and of a
 *   multi-line value each of its lines of at least that size (a program that prints it line by
 *   line). Matches of every value are found in the output as written, then merged, so overlapping
 *   values are masked whole. At most `MAX_PATTERNS` values and lines are looked for (whole values
 *   first): the cost is one scan of each stream per pattern.
 * - Not masked, so that masking is no guessing oracle: a value the invocation's caller supplied
 *   itself (it occurs in the stdin, or in a variable that is not a secret, such as one the caller
 *   set). Otherwise a function that echoes its input (`cat`) would answer "which of these 10,000
 *   lines is the PIN" by masking exactly one of them.
 * - A stream cut at the output cap ends with the start of whatever was being written when the cap
 *   was reached, possibly a secret: the last `longest pattern - 1` bytes of a cut stream are
 *   dropped, whatever they hold (comparing them with the secrets would tell a caller who can place
 *   a guess there whether it is the start of one, byte by byte). The interleaved stream (`combined`)
 *   of a cut output is then the masked stdout followed by the masked stderr: where a stream was
 *   cut inside it is not known.
 * Not masked either: values shorter than `MIN_MASKED_BYTES`, and transformed values (base64, hex,
 * reversed): a function that means to leak its secret can (docs/SECURITY.md).
 */
import type { Invocation } from '@faas/common';
import type { Dispatch, Layer } from '../dispatch.js';

/** Secret values (and lines of them) shorter than this many bytes are not masked. */
export const MIN_MASKED_BYTES = 4;
/** The most values and lines looked for in one invocation's output. */
export const MAX_PATTERNS = 128;
/** What a masked value is replaced by. */
export const MASK = Buffer.from('***');

/**
 * The byte strings to mask for an invocation: its `secretNames`' values taken from its `env`
 * (`NAME=VALUE`), then the lines of multi-line values, each at least `MIN_MASKED_BYTES`, without
 * duplicates, none that the caller supplied (in `stdin` or a variable that is not a secret), at
 * most `MAX_PATTERNS`. Empty for an ad-hoc invocation.
 */
export function secretPatterns(invocation: Pick<Invocation, 'env' | 'secretNames'> & { stdin?: Buffer }): Buffer[] {
  const names = invocation.secretNames;
  if (!names || names.length === 0) return [];
  const wanted = new Set(names);
  const values: string[] = [];
  const open: string[] = [];
  for (const entry of invocation.env) {
    const eq = entry.indexOf('=');
    if (eq <= 0) continue;
    (wanted.has(entry.slice(0, eq)) ? values : open).push(entry.slice(eq + 1));
  }
  const stdin = invocation.stdin ?? Buffer.alloc(0);
  const supplied = (value: string): boolean => stdin.indexOf(value) !== -1 || open.some((v) => v.includes(value));
  const seen = new Set<string>();
  const patterns: Buffer[] = [];
  const add = (value: string) => {
    if (patterns.length >= MAX_PATTERNS || Buffer.byteLength(value) < MIN_MASKED_BYTES || seen.has(value)) return;
    seen.add(value);
    if (!supplied(value)) patterns.push(Buffer.from(value));
  };
  for (const value of values) add(value);
  for (const value of values) if (/[\r\n]/.test(value)) for (const line of value.split(/\r?\n|\r/)) add(line);
  return patterns;
}

/**
 * `stream` with every occurrence of each pattern replaced by `MASK`: the matches of all patterns
 * in `stream` as written, overlapping ones merged. With `cut` (the stream reached the output cap),
 * the last `longest pattern - 1` bytes are dropped first, whatever they hold. The same buffer when
 * nothing matched and nothing was cut.
 */
export function maskSecrets(stream: Buffer, patterns: readonly Buffer[], cut: boolean): Buffer {
  if (patterns.length === 0) return stream;
  let text = stream;
  if (cut) {
    const longest = Math.max(...patterns.map((p) => p.length));
    text = stream.subarray(0, Math.max(0, stream.length - (longest - 1)));
  }
  const ranges: Array<[number, number]> = [];
  for (const pattern of patterns) {
    for (let at = text.indexOf(pattern); at !== -1; at = text.indexOf(pattern, at + 1)) ranges.push([at, at + pattern.length]);
  }
  if (ranges.length === 0) return text;
  ranges.sort((a, b) => a[0] - b[0]);
  const merged: Array<[number, number]> = [];
  for (const [start, stop] of ranges) {
    const last = merged[merged.length - 1];
    if (last && start <= last[1]) last[1] = Math.max(last[1], stop);
    else merged.push([start, stop]);
  }
  const parts: Buffer[] = [];
  let from = 0;
  for (const [start, stop] of merged) {
    parts.push(text.subarray(from, start), MASK);
    from = stop;
  }
  parts.push(text.subarray(from));
  return Buffer.concat(parts);
}

/** The layer: masks the outcome's streams of an invocation that has secrets; others pass untouched. */
export function redactSecretsLayer(): Layer {
  return (next: Dispatch): Dispatch =>
    async (invocation, context) => {
      const outcome = await next(invocation, context);
      const patterns = secretPatterns(invocation);
      if (patterns.length === 0) return outcome;
      // A stream is cut when it reached the cap; `truncated` says only that one was.
      const cap = invocation.limits.outputBytes;
      const stdoutCut = outcome.truncated && outcome.stdout.length >= cap;
      const stderrCut = outcome.truncated && outcome.stderr.length >= cap;
      const stdout = maskSecrets(outcome.stdout, patterns, stdoutCut);
      const stderr = maskSecrets(outcome.stderr, patterns, stderrCut);
      const combined = outcome.truncated ? Buffer.concat([stdout, stderr]) : maskSecrets(outcome.combined, patterns, false);
      return { ...outcome, stdout, stderr, combined };
    };
}
