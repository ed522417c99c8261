/**
 * Firecracker's own log. Without a log path Firecracker writes its log to stdout, which is the
 * guest's console file, and its exit leaves only `Error: RunWithApi(MicroVMStoppedWithError(
 * GenericError))` on stderr: the cause (a vCPU that failed, a device that could not be set up) is
 * buried among the guest's console lines. So every Firecracker gets `--log-path` to a file of its
 * own in the VM's state dir (inside the jail under the jailer), with levels shown, and every
 * failure the executor reports carries the last error lines of that file.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { chown, open } from 'node:fs/promises';
import { FaasError } from '@faas/common';
import { VmmProcess } from '../vm/process.js';

/** The log's file name in the state dir or the jail root. */
export const LOG_FILE = 'firecracker.log';
/** How much of the log's end is read for a cause; the causes are the last lines written. */
const TAIL_BYTES = 16 * 1024;
/** At most this many distinct lines make up a cause. */
const MAX_CAUSE_LINES = 3;
/** And a cause is at most this long (a line can carry a whole debug dump). */
const MAX_CAUSE_CHARS = 600;

/**
 * Firecracker's arguments for its log: errors and warnings only (the file lives as long as the
 * VM, and a guest must not be able to fill the host's disk through Firecracker's info lines),
 * with levels so that errors can be told apart. `--log-path`, `--level` and `--show-level` exist
 * in every Firecracker 1.x.
 */
export function logArgs(logPath: string): string[] {
  return ['--log-path', logPath, '--level', 'Warning', '--show-level', '--show-log-origin'];
}

/**
 * Creates the (empty) log file before Firecracker starts: versions before 1.5 open the log path
 * without O_CREAT, and under the jailer the file must belong to the jailed uid.
 */
export async function prepareLogFile(path: string, owner?: { uid: number; gid: number }): Promise<void> {
  const handle = await open(path, 'a', 0o600);
  await handle.close();
  if (owner) await chown(path, owner.uid, owner.gid);
}

/** One parsed line: `<time> [<instance>:<thread>:<LEVEL>(:<file>:<line>)] <message>`. */
interface LogLine {
  level: string;
  message: string;
}

const LEVELS = new Set(['ERROR', 'WARN', 'INFO', 'DEBUG', 'TRACE']);

function parseLine(line: string): LogLine | undefined {
  const match = /^\S+ \[([^\]]*)\] ?(.*)$/.exec(line);
  if (!match) return undefined;
  // The thread name may contain spaces ("fc_vcpu 0") but never a colon; the level is the first
  // part after the instance id that is a level name.
  const level = (match[1] ?? '').split(':').find((part, i) => i > 0 && LEVELS.has(part));
  if (!level) return undefined;
  return { level, message: (match[2] ?? '').trim() };
}

/** Lines Firecracker logs on every failed exit, which add nothing to the exit status itself. */
const NOISE = [/^Firecracker exiting with error\. exit_code=\d+$/, /^Vmm is stopping\.?$/];

/**
 * The cause of a failure from Firecracker's log text: the last few distinct error lines, oldest
 * first, joined by " | ". Undefined when the log has none. Warnings are not causes: Firecracker
 * logs some on every start and snapshot (a vCPU resumed with immediate_exit set, a TSC deadline
 * MSR of 0), and naming them as the cause of a failure would mislead.
 */
export function logCause(text: string): string | undefined {
  const messages: string[] = [];
  for (const line of text.split('\n').reverse()) {
    const parsed = parseLine(line.trimEnd());
    if (parsed?.level !== 'ERROR' || parsed.message.length === 0) continue;
    if (NOISE.some((re) => re.test(parsed.message)) || messages.includes(parsed.message)) continue;
    messages.unshift(parsed.message);
    if (messages.length === MAX_CAUSE_LINES) break;
  }
  if (messages.length === 0) return undefined;
  const cause = messages.join(' | ');
  return cause.length > MAX_CAUSE_CHARS ? `${cause.slice(0, MAX_CAUSE_CHARS)}...` : cause;
}

/** The cause from the end of a log file; undefined when there is no file or no error in it. */
export function readLogCause(path: string): string | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const size = statSync(path).size;
    const start = Math.max(0, size - TAIL_BYTES);
    const buffer = Buffer.alloc(size - start);
    const read = readSync(fd, buffer, 0, buffer.length, start);
    let text = buffer.subarray(0, read).toString('utf8');
    // A tail that starts mid-line would misparse its first line.
    if (start > 0) text = text.slice(text.indexOf('\n') + 1);
    return logCause(text);
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * The error with Firecracker's logged cause appended, unless the message already says it (an
 * API answer's fault_message is logged too). Non-FaasErrors (aborts) pass through unchanged.
 */
export function withLogCause(err: unknown, logPath: string): unknown {
  if (!(err instanceof FaasError)) return err;
  const cause = readLogCause(logPath);
  if (!cause) return err;
  const fresh = cause
    .split(' | ')
    .filter((line) => !err.message.includes(line) && !line.includes(faultOf(err)))
    .join(' | ');
  if (fresh.length === 0) return err;
  return new FaasError(err.code, `${err.message} (Firecracker log: ${fresh})`, { cause: err });
}

function faultOf(err: FaasError): string {
  const fault = (err as { faultMessage?: unknown }).faultMessage;
  return typeof fault === 'string' && fault.length > 0 ? fault : '\0';
}

/**
 * A Firecracker (or jailer) process whose exit description names the cause from its log: what
 * callers see when the VMM dies is "exited with code 1: Error: RunWithApi(MicroVMStoppedWithError(
 * GenericError)) (Firecracker log: Failed to run vcpu 0: ...)" instead of the bare GenericError.
 */
export class FirecrackerProcess extends VmmProcess {
  constructor(
    binary: string,
    args: string[],
    options: { cwd?: string; stdoutFd?: number },
    readonly logPath: string,
  ) {
    super(binary, args, options);
  }

  override describeExit(): string | undefined {
    const exit = super.describeExit();
    if (exit === undefined) return undefined;
    const cause = readLogCause(this.logPath);
    return cause ? `${exit} (Firecracker log: ${cause})` : exit;
  }
}
