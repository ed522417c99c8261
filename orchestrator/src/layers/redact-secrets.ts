/**
 * A registered function's secret values masked in its output, before anything else sees it: the
 * answer of a synchronous call, an asynchronous invocation's stored result and callback, a Tangle
 * job's result on chain, and the history all get `***` where the function wrote a secret's value.
 * The sandbox itself gets the secrets unchanged (as environment variables); only what comes out of
 * it is masked, as CI systems mask secrets in their logs.
 *
 * What is masked, per stream (stdout, stderr and their interleaving):
 * - every occurrence of each secret value of at least `MIN_MASKED_BYTES` bytes, longest first, so a
 *   secret holding another is masked whole;
 * - of a multi-line value, also each of its lines of at least that size (a program that prints the
 *   value line by line, or reflows it);
 * - when the output was cut at the output cap, a cut-off start of a secret at the very end (at
 *   least that size), so the cap never leaves a prefix of one behind.
 * Not masked: values shorter than `MIN_MASKED_BYTES` (masking every `1` or `ab` would wreck the
 * output and protect nothing), and transformed values (base64, hex, reversed): a function that
 * means to leak its secret can; this layer stops the accidental leak (a debug print, `env`, a stack
 * trace with the connection string).
 */
import type { Invocation, Outcome } from '@faas/common';
import type { Dispatch, Layer } from '../dispatch.js';

/** Secret values (and lines of them) shorter than this many bytes are not masked. */
export const MIN_MASKED_BYTES = 4;
/** What a masked value is replaced by. */
export const MASK = Buffer.from('***');

/**
 * The byte strings to mask for an invocation: its `secretNames`' values taken from its `env`
 * (`NAME=VALUE`), with each line of a multi-line value, at least `MIN_MASKED_BYTES` each, without
 * duplicates, longest first. Empty for an ad-hoc invocation.
 */
export function secretPatterns(invocation: Pick<Invocation, 'env' | 'secretNames'>): Buffer[] {
  const names = invocation.secretNames;
  if (!names || names.length === 0) return [];
  const wanted = new Set(names);
  const seen = new Set<string>();
  const patterns: Buffer[] = [];
  const add = (value: string) => {
    if (Buffer.byteLength(value) < MIN_MASKED_BYTES || seen.has(value)) return;
    seen.add(value);
    patterns.push(Buffer.from(value));
  };
  for (const entry of invocation.env) {
    const eq = entry.indexOf('=');
    if (eq <= 0 || !wanted.has(entry.slice(0, eq))) continue;
    const value = entry.slice(eq + 1);
    add(value);
    if (/[\r\n]/.test(value)) for (const line of value.split(/\r?\n|\r/)) add(line);
  }
  return patterns.sort((a, b) => b.length - a.length);
}

/**
 * `stream` with every occurrence of each pattern replaced by `MASK` (patterns longest first, as
 * `secretPatterns` returns them); with `cut` (the stream was truncated), also a start of a pattern
 * of at least `MIN_MASKED_BYTES` that ends the stream. The same buffer when nothing matched.
 */
export function maskSecrets(stream: Buffer, patterns: readonly Buffer[], cut: boolean): Buffer {
  let out = stream;
  for (const pattern of patterns) {
    let at = out.indexOf(pattern);
    if (at === -1) continue;
    const parts: Buffer[] = [];
    let from = 0;
    while (at !== -1) {
      parts.push(out.subarray(from, at), MASK);
      from = at + pattern.length;
      at = out.indexOf(pattern, from);
    }
    parts.push(out.subarray(from));
    out = Buffer.concat(parts);
  }
  if (cut) {
    for (const pattern of patterns) {
      for (let n = Math.min(pattern.length - 1, out.length); n >= MIN_MASKED_BYTES; n--) {
        if (out.subarray(out.length - n).equals(pattern.subarray(0, n))) {
          out = Buffer.concat([out.subarray(0, out.length - n), MASK]);
          break;
        }
      }
    }
  }
  return out;
}

/** The layer: masks the outcome's streams of an invocation that has secrets; others pass untouched. */
export function redactSecretsLayer(): Layer {
  return (next: Dispatch): Dispatch =>
    async (invocation, context) => {
      const outcome = await next(invocation, context);
      const patterns = secretPatterns(invocation);
      if (patterns.length === 0) return outcome;
      const masked: Outcome = {
        ...outcome,
        stdout: maskSecrets(outcome.stdout, patterns, outcome.truncated),
        stderr: maskSecrets(outcome.stderr, patterns, outcome.truncated),
        combined: maskSecrets(outcome.combined, patterns, outcome.truncated),
      };
      return masked;
    };
}
