/**
 * The answer one request gets, and the comparison of an answer with what a row expects. Every
 * expectation names the whole answer: HTTP status, and for a 200 the exit code, the signal, the
 * class of the `error` text, the truncated flag and, where the output is deterministic, the exact
 * bytes of stdout and stderr. A mismatch is a short line saying what came back.
 */
import type { InvocationResult, SandboxConfig } from '@faas/common';
import type { ErrorBody, HttpClient } from '../support/http.js';

export interface Answer {
  status: number;
  /** Set for a 200. */
  result?: InvocationResult;
  stdout: Buffer;
  stderr: Buffer;
  /** Set for a non-200. */
  error?: ErrorBody;
  /** The raw body, for messages. */
  text: string;
  ms: number;
}

/** What the `error` field of a 200 must say. */
export type ErrorClass =
  | { kind: 'null' }
  | { kind: 'non-zero'; exit: number }
  | { kind: 'signal'; signal: string }
  | { kind: 'memory' }
  /** Names the command that could not be run (not found, not executable). */
  | { kind: 'names'; what: string };

export const NO_ERROR: ErrorClass = { kind: 'null' };
export const nonZero = (exit: number): ErrorClass => ({ kind: 'non-zero', exit });
export const bySignal = (signal: string): ErrorClass => ({ kind: 'signal', signal });
export const MEMORY: ErrorClass = { kind: 'memory' };
export const naming = (what: string): ErrorClass => ({ kind: 'names', what });

/** Exact bytes, a pattern over the text, or a check returning a problem. */
export type OutputCheck = Buffer | string | RegExp | ((out: Buffer) => string | undefined);

export interface ResultExpect {
  status: 200;
  exit: number | null;
  signal: string | null;
  error: ErrorClass;
  truncated: boolean;
  /** Omitted where the output is not deterministic. */
  stdout?: OutputCheck;
  stderr?: OutputCheck;
  /** The answer must come back within this many milliseconds. */
  withinMs?: number;
}

export interface ErrorExpect {
  status: number;
  code: string;
  withinMs?: number;
}

export type Expect = ResultExpect | ErrorExpect;

export function isResultExpect(e: Expect): e is ResultExpect {
  return e.status === 200;
}

/** A successful run: exit 0, no error, nothing truncated. */
export function ok(stdout: OutputCheck, more: Partial<ResultExpect> = {}): ResultExpect {
  return { status: 200, exit: 0, signal: null, error: NO_ERROR, truncated: false, stdout, stderr: '', ...more };
}

/** The function exited non-zero by itself. */
export function exited(exit: number, more: Partial<ResultExpect> = {}): ResultExpect {
  return { status: 200, exit, signal: null, error: nonZero(exit), truncated: false, ...more };
}

/** Sends one invocation and collects the answer; a client-side deadline keeps a hung server from hanging the run. */
export async function call(client: HttpClient, functionId: string, body: SandboxConfig, deadlineMs: number): Promise<Answer> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${deadlineMs} ms`)), deadlineMs);
  });
  try {
    const res = await Promise.race([client.invoke(functionId, body), deadline]);
    const ms = performance.now() - started;
    if (res.status === 200) {
      const result = res.json<InvocationResult>();
      const b = (s: string | null) => Buffer.from(s ?? '', 'base64');
      return { status: 200, result, stdout: b(result.response_base64), stderr: b(result.stderr_base64), text: res.text, ms };
    }
    let error: ErrorBody | undefined;
    try {
      error = res.json<ErrorBody>();
    } catch {
      // Not JSON: reported through `text`.
    }
    return { status: res.status, ...(error ? { error } : {}), stdout: Buffer.alloc(0), stderr: Buffer.alloc(0), text: res.text, ms };
  } finally {
    clearTimeout(timer);
  }
}

/** A byte string for messages: printable ASCII as is, the rest escaped, long ones cut. */
export function show(buf: Buffer, max = 60): string {
  let out = '';
  for (const byte of buf.subarray(0, max)) {
    if (byte === 0x0a) out += '\\n';
    else if (byte === 0x5c) out += '\\\\';
    else if (byte >= 0x20 && byte < 0x7f) out += String.fromCharCode(byte);
    else out += `\\x${byte.toString(16).padStart(2, '0')}`;
  }
  return `"${out}${buf.length > max ? `…(${buf.length} bytes)` : ''}"`;
}

function checkOutput(name: string, got: Buffer, want: OutputCheck): string | undefined {
  if (typeof want === 'function') {
    const problem = want(got);
    return problem ? `${name} ${problem}` : undefined;
  }
  if (want instanceof RegExp) return want.test(got.toString('utf8')) ? undefined : `${name} ${show(got)} !~ ${want}`;
  const bytes = typeof want === 'string' ? Buffer.from(want) : want;
  return got.equals(bytes) ? undefined : `${name} ${show(got)} (want ${show(bytes)})`;
}

function checkErrorClass(error: string | null, want: ErrorClass): string | undefined {
  const said = error === null ? 'null' : JSON.stringify(error.length > 90 ? `${error.slice(0, 90)}…` : error);
  switch (want.kind) {
    case 'null':
      return error === null ? undefined : `error ${said} (want null)`;
    case 'non-zero':
      return error?.includes(`non-zero status: ${want.exit}`) ? undefined : `error ${said} (want non-zero status ${want.exit})`;
    case 'signal':
      return error?.includes(want.signal) ? undefined : `error ${said} (want one naming ${want.signal})`;
    case 'memory':
      return error !== null && /memory/i.test(error) ? undefined : `error ${said} (want the memory-limit answer)`;
    case 'names':
      return error?.includes(want.what) ? undefined : `error ${said} (want one naming ${want.what})`;
  }
}

/** Every way the answer departs from the expectation; empty when it matches. */
export function compare(answer: Answer, want: Expect, executor: string): string[] {
  const problems: string[] = [];
  if (want.withinMs !== undefined && answer.ms > want.withinMs) {
    problems.push(`took ${Math.round(answer.ms)} ms (want < ${want.withinMs})`);
  }
  if (answer.status !== want.status) {
    const detail = answer.status === 200 ? describeResult(answer) : `${answer.error?.code ?? ''} ${answer.error?.error ?? answer.text}`;
    problems.push(`HTTP ${answer.status} ${detail.slice(0, 140)} (want ${want.status}${isResultExpect(want) ? '' : ` ${want.code}`})`);
    return problems;
  }
  if (!isResultExpect(want)) {
    if (answer.error?.code !== want.code) problems.push(`code ${answer.error?.code} (want ${want.code})`);
    return problems;
  }
  const result = answer.result as InvocationResult;
  if (result.executor !== executor) problems.push(`executor ${result.executor} (want ${executor})`);
  if (result.exit_code !== want.exit) {
    // What the function said on stderr usually explains an unexpected exit.
    const said = want.stderr === undefined && answer.stderr.length > 0 ? `; stderr ${show(answer.stderr.subarray(-120), 120)}` : '';
    problems.push(`exit_code ${result.exit_code} (want ${want.exit}${said})`);
  }
  if (result.signal !== want.signal) problems.push(`signal ${result.signal} (want ${want.signal})`);
  const errorProblem = checkErrorClass(result.error, want.error);
  if (errorProblem) problems.push(errorProblem);
  if (result.truncated !== want.truncated) problems.push(`truncated ${result.truncated} (want ${want.truncated})`);
  if (want.stdout !== undefined) {
    const p = checkOutput('stdout', answer.stdout, want.stdout);
    if (p) problems.push(p);
  }
  if (want.stderr !== undefined) {
    const p = checkOutput('stderr', answer.stderr, want.stderr);
    if (p) problems.push(p);
  }
  return problems;
}

/** One line for a 200: what the function did. */
export function describeResult(answer: Answer): string {
  const r = answer.result;
  if (!r) return answer.text.slice(0, 140);
  return `exit_code=${r.exit_code} signal=${r.signal} error=${JSON.stringify(r.error)} truncated=${r.truncated} stdout=${show(answer.stdout, 40)} stderr=${show(answer.stderr, 60)}`;
}
