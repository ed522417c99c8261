import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { EXIT_BROKEN_PIPE, guardOutput } from './pipe.js';

const MAIN = fileURLToPath(new URL('../main.js', import.meta.url));

class FakeStream extends EventEmitter {
  written = '';
  write(text: string): boolean {
    this.written += text;
    return true;
  }
}

function fakes() {
  const stdout = new FakeStream();
  const stderr = new FakeStream();
  const exits: number[] = [];
  guardOutput(125, { stdout, stderr } as unknown as Parameters<typeof guardOutput>[1], (code) => exits.push(code));
  return { stdout, stderr, exits };
}

const errno = (code: string) => Object.assign(new Error(`write ${code}`), { code });

test('a reader that went away ends the command quietly with 141', () => {
  const { stdout, stderr, exits } = fakes();
  stdout.emit('error', errno('EPIPE'));
  assert.deepEqual(exits, [EXIT_BROKEN_PIPE]);
  assert.equal(EXIT_BROKEN_PIPE, 141);
  assert.equal(stderr.written, '');
});

test('another write error is one line and the failure exit status', () => {
  const { stdout, stderr, exits } = fakes();
  stdout.emit('error', errno('ENOSPC'));
  assert.deepEqual(exits, [125]);
  assert.equal(stderr.written, 'faas: cannot write to standard output: ENOSPC\n');
  stderr.emit('error', errno('EIO'));
  assert.deepEqual(exits, [125, 125]);
});

test('faas writing into a closed pipe exits 141 without a stack trace', async () => {
  // The script is written at once, into a pipe whose reader is already closed: EPIPE.
  const child = spawn(process.execPath, [MAIN, 'completion', 'bash'], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.destroy();
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  assert.equal(stderr, '');
  assert.equal(code, EXIT_BROKEN_PIPE);
});
