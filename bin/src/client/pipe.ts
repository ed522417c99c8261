/**
 * When a client command's own output cannot be written. A reader that went away (`faas invoke f |
 * head -c 10`, EPIPE) ends the command quietly with 141 (128 + SIGPIPE), as it ends `cat`; any other
 * write error (a full disk, ENOSPC) is one line on stderr and the command's exit status of a failure.
 * Without this, Node throws the stream's 'error' event and prints a stack trace.
 */
import { constants } from 'node:os';

export const EXIT_BROKEN_PIPE = 128 + constants.signals.SIGPIPE;

type Exit = (code: number) => void;

interface Streams {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

const guarded = new WeakSet<NodeJS.WritableStream>();

/** Installs the handlers on stdout and stderr (once per stream); `failureExit` for errors other than EPIPE. */
export function guardOutput(failureExit: number, streams: Streams = process, exit: Exit = (code) => process.exit(code)): void {
  for (const [name, stream] of [
    ['standard output', streams.stdout],
    ['standard error', streams.stderr],
  ] as const) {
    if (guarded.has(stream)) continue;
    guarded.add(stream);
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') return exit(EXIT_BROKEN_PIPE);
      if (stream !== streams.stderr) {
        try {
          streams.stderr.write(`faas: cannot write to ${name}: ${err.code ?? err.message}\n`);
        } catch {
          // stderr is gone as well: the exit status is all that is left.
        }
      }
      exit(failureExit);
    });
  }
}
