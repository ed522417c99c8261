/**
 * A status line on stderr while a command waits (a long invocation, a queued one), only when stderr
 * is a terminal: pipes and files get nothing, so output and logs stay clean. It appears after a
 * second, and is erased before anything else is written.
 */

const FRAMES = ['|', '/', '-', '\\'];

export interface Progress {
  /** What is being waited for now ("queued", "running, attempt 2"). */
  update(label: string): void;
  /** Erases the line; safe to call twice. */
  stop(): void;
}

export function startProgress(label: string, stream: NodeJS.WriteStream = process.stderr, delayMs = 1000): Progress {
  if (!stream.isTTY) return { update() {}, stop() {} };
  const started = Date.now();
  let current = label;
  let frame = 0;
  let shown = false;
  const draw = () => {
    const seconds = Math.floor((Date.now() - started) / 1000);
    const text = `${FRAMES[frame++ % FRAMES.length]} ${current} (${seconds} s)`;
    stream.write(`\r\x1b[K${text.slice(0, Math.max(10, (stream.columns || 80) - 1))}`);
    shown = true;
  };
  let timer: NodeJS.Timeout | undefined = setTimeout(function tick() {
    draw();
    timer = setTimeout(tick, 200);
  }, delayMs);
  timer.unref();
  return {
    update(next: string) {
      current = next;
    },
    stop() {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      if (shown) stream.write('\r\x1b[K');
      shown = false;
    },
  };
}
