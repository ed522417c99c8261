/**
 * The contract every executor must pass, through the Executor interface alone (acquire, invoke,
 * release, destroy). Each executor's test file calls `runExecutorContract` with a factory; new
 * executors (QEMU, Firecracker) reuse the same cases so that they behave alike for callers.
 *
 * Sandboxes may be single-use (Docker) or reusable (VMs): every case acquires its own sandbox,
 * and cases run concurrently to keep slow backends (gVisor, emulated VMs) bearable.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it, type TestContext } from 'node:test';
import { isFaasError, type ResourceLimits } from '@faas/common';
import {
  type ExecRequest,
  type ExecResult,
  type Executor,
  type ExecutorEvent,
  execRequest,
  faultStarted,
  type Sandbox,
} from '@faas/executor';
import { tagImage, untagImage } from '../support/docker.js';
import { PYTHON } from '../support/images.js';

export interface ContractOptions {
  /** Image the sandbox is created from; it must provide busybox (sh, cat, head, id, sleep). */
  image?: string;
  /** The line printed when the factory returns undefined (dependency truly absent). */
  skipReason?: string | (() => string);
  /** How many cases run at once. */
  concurrency?: number;
  /**
   * Ids of resources (containers, VM processes, state folders) this executor still holds in the
   * backend; the suite expects none once sandboxes are destroyed and the executor is closed.
   */
  leftovers?: () => Promise<string[]>;
  /** How long leftovers may take to disappear after destroy (asynchronous removal). */
  leftoverGraceMs?: number;
  /**
   * Cases this executor is known to fail, by title, with the reason: they still run but are
   * reported as TODO, so the debt stays visible without hiding the rest of the suite.
   */
  todo?: Record<string, string>;
  /**
   * Kills a sandbox from outside the platform, as an operator or the host's OOM killer would
   * (`docker kill` of its container, SIGKILL of its VMM). Every executor's suite gives one: the
   * cases of "sandboxes that die" hold the executor to the line between outcome and fault.
   */
  killFromOutside?: (sandbox: Sandbox) => Promise<void>;
  /**
   * Why this executor's sandboxes do not come from the Docker image store (one fixed root
   * filesystem), so the image-change case does not apply; undefined when they do.
   */
  noImageStore?: string;
}

/** How long an executor may take to notice that a sandbox was killed from outside. */
const LOSS_NOTICE_MS = 10_000;

/** How long an executor may take to report that an image name names another image. */
const IMAGE_CHANGE_NOTICE_MS = 10_000;

const MIB = 1024 * 1024;

const OUTPUT_CAP = 4096;

const LIMITS: ResourceLimits = {
  memoryBytes: 128 * MIB,
  cpus: 1,
  pids: 128,
  tmpBytes: 8 * MIB,
  outputBytes: MIB,
};

/** Every byte value, NUL and 0xFF included, then a pseudo-random tail crossing pipe-buffer sizes. */
export function binaryPayload(size = 200_000): Buffer {
  const bytes = Buffer.alloc(size);
  for (let i = 0; i < 256; i++) bytes[i] = i;
  let x = 0x9e3779b9;
  for (let i = 256; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    bytes[i] = x & 0xff;
  }
  bytes[size - 2] = 0x00;
  bytes[size - 1] = 0xff;
  return bytes;
}

async function waitForNoLeftovers(options: ContractOptions): Promise<string[]> {
  if (!options.leftovers) return [];
  const deadline = Date.now() + (options.leftoverGraceMs ?? 10_000);
  for (;;) {
    const left = await options.leftovers();
    if (left.length === 0 || Date.now() >= deadline) return left;
    await new Promise((r) => setTimeout(r, 100));
  }
}

function text(buf: Buffer): string {
  return buf.toString('utf8');
}

function summary(result: ExecResult): string {
  return JSON.stringify({
    exitCode: result.exitCode,
    signal: result.signal,
    timedOut: result.timedOut,
    truncated: result.truncated,
    startError: result.startError,
    stdout: text(result.stdout).slice(0, 300),
    stderr: text(result.stderr).slice(0, 300),
  });
}

/**
 * Registers the contract cases for one executor. Await it at the top of the test file: the factory
 * runs first, so an absent dependency skips the whole suite with one line.
 */
export async function runExecutorContract(
  name: string,
  makeExecutor: () => Promise<Executor | undefined>,
  options: ContractOptions = {},
): Promise<void> {
  const executor = await makeExecutor();
  if (!executor) {
    const reason = typeof options.skipReason === 'function' ? options.skipReason() : (options.skipReason ?? 'executor unavailable');
    describe(`executor contract: ${name}`, { skip: reason }, () => {});
    return;
  }
  const image = options.image ?? 'faas/busybox:latest';
  const live = new Set<Sandbox>();

  async function acquire(limits: Partial<ResourceLimits> = {}): Promise<Sandbox> {
    const sandbox = await executor!.acquire({ functionId: `contract-${name}`, image, limits: { ...LIMITS, ...limits } });
    live.add(sandbox);
    return sandbox;
  }

  /**
   * Ends a case's use of a sandbox as the orchestrator does: release, which may throw to ask for
   * destruction (after a kill, say), then destroy a reusable one so the case leaves nothing.
   */
  async function release(sandbox: Sandbox): Promise<void> {
    live.delete(sandbox);
    try {
      await executor!.release(sandbox);
    } catch {
      await executor!.destroy(sandbox);
      return;
    }
    if (sandbox.reusable) await executor!.destroy(sandbox);
  }

  /** One invocation in a sandbox the caller holds. */
  function exec(sandbox: Sandbox, command: string[], request: Partial<Omit<ExecRequest, 'command'>> = {}): Promise<ExecResult> {
    return executor!.invoke(sandbox, execRequest(command, request));
  }

  /** acquire -> invoke -> release, the orchestrator's happy path. */
  async function run(
    command: string[],
    request: Partial<Omit<ExecRequest, 'command'>> = {},
    limits: Partial<ResourceLimits> = {},
  ): Promise<ExecResult> {
    const sandbox = await acquire(limits);
    try {
      return await exec(sandbox, command, request);
    } finally {
      await release(sandbox);
    }
  }

  /** Lists processes whose command line starts with `prefix`, seen from inside a reusable sandbox. */
  async function survivors(sandbox: Sandbox, prefix: string): Promise<string> {
    const ps = await exec(sandbox, ['sh', '-c', `ps -o args | grep "^${prefix}" || true`]);
    return text(ps.stdout).trim();
  }

  const check = (title: string, fn: (t: TestContext) => Promise<void>) => it(title, { todo: options.todo?.[title] }, fn);

  describe(`executor contract: ${name}`, () => {
    before(() => executor.init());
    after(async () => {
      // Sandboxes a failed case could not release must not outlive the suite.
      await Promise.allSettled([...live].map((s) => executor.destroy(s)));
      await executor.close();
    });

    describe('invocations', { concurrency: options.concurrency ?? 4 }, () => {
      check('echoes stdout and reports exit 0', async () => {
        const result = await run(['echo', 'hello', 'world']);
        assert.equal(text(result.stdout), 'hello world\n', summary(result));
        assert.equal(result.stderr.length, 0, summary(result));
        assert.equal(result.exitCode, 0);
        assert.equal(result.signal, null);
        assert.equal(result.timedOut, false);
        assert.equal(result.truncated, false);
        assert.equal(result.startError, undefined);
      });

      check('pipes stdin through byte-exact, NUL and 0xFF included', async () => {
        const payload = binaryPayload();
        const result = await run(['cat'], { stdin: payload });
        assert.equal(result.exitCode, 0, summary(result));
        assert.equal(result.stdout.length, payload.length, 'stdout length differs from stdin length');
        assert.ok(result.stdout.equals(payload), 'stdout bytes differ from stdin bytes');
      });

      check('keeps stderr separate and interleaves both streams in combined', async () => {
        // The sleeps separate the writes so their arrival order is the order they were written in.
        const script = 'echo out1; sleep 0.3; echo err1 >&2; sleep 0.3; echo out2; sleep 0.3; echo err2 >&2';
        const result = await run(['sh', '-c', script]);
        assert.equal(result.exitCode, 0, summary(result));
        assert.equal(text(result.stdout), 'out1\nout2\n');
        assert.equal(text(result.stderr), 'err1\nerr2\n');
        assert.equal(text(result.combined), 'out1\nerr1\nout2\nerr2\n');
      });

      check('passes env vars to the command', async () => {
        const env = ['GREETING=hello world', 'EMPTY=', 'WITH_EQUALS=a=b=c'];
        // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion, not a template
        const result = await run(['sh', '-c', 'printf "%s|%s|%s|%s" "$GREETING" "${EMPTY-unset}" "$WITH_EQUALS" "${NOT_SET-unset}"'], {
          env,
        });
        assert.equal(result.exitCode, 0, summary(result));
        assert.equal(text(result.stdout), 'hello world||a=b=c|unset');
      });

      check('reports a non-zero exit code as a result, not an error', async () => {
        const result = await run(['sh', '-c', 'echo failing >&2; exit 3']);
        assert.equal(result.exitCode, 3, summary(result));
        assert.equal(result.signal, null);
        assert.equal(result.timedOut, false);
        assert.equal(result.startError, undefined);
        assert.equal(text(result.stderr), 'failing\n');
      });

      check('reports a command that does not exist with startError and exit 127', async () => {
        const result = await run(['/no/such/program', 'arg']);
        assert.equal(result.exitCode, 127, summary(result));
        assert.ok(result.startError, `startError is not set: ${summary(result)}`);
        assert.match(result.startError, /no\/such\/program/);
      });

      check('kills a command and its children at the timeout and reports timedOut', async () => {
        // Sleeps far longer than the test's own timeout: the case only ends if the kill works.
        const sandbox = await acquire();
        try {
          const result = await exec(sandbox, ['sh', '-c', 'sleep 601 & sleep 601; wait'], { timeoutMs: 1000 });
          assert.equal(result.timedOut, true, summary(result));
          assert.equal(result.exitCode, null, summary(result));
          // A reusable sandbox that accepts a reset after the kill (it may refuse, asking to be
          // destroyed) must hold no process of the killed invocation.
          if (
            sandbox.reusable &&
            (await executor.release(sandbox).then(
              () => true,
              () => false,
            ))
          ) {
            assert.equal(await survivors(sandbox, 'sleep 601'), '', 'a process of the timed-out invocation survived');
          }
        } finally {
          await release(sandbox);
        }
      });

      check('a released reusable sandbox runs again with /tmp emptied and no process left', async (t) => {
        const sandbox = await acquire();
        try {
          if (!sandbox.reusable) {
            t.skip('sandboxes of this executor are single-use');
            return;
          }
          const first = await exec(sandbox, ['sh', '-c', 'echo secret > /tmp/.hidden; mkdir /tmp/d; (sleep 602 &); echo ok']);
          assert.equal(text(first.stdout), 'ok\n', summary(first));
          await executor.release(sandbox);
          const second = await exec(sandbox, ['ls', '-A', '/tmp']);
          assert.equal(text(second.stdout), '', `/tmp was not emptied: ${summary(second)}`);
          assert.equal(await survivors(sandbox, 'sleep 602'), '', 'a background process survived the reset');
        } finally {
          await release(sandbox);
        }
      });

      check('stops a running command when the request is aborted', async () => {
        const abort = new AbortController();
        const sandbox = await acquire();
        try {
          const pending = exec(sandbox, ['sleep', '603'], { timeoutMs: 120_000, signal: abort.signal });
          // Long enough for the command to be running on a slow backend; the abort-before-start
          // case below covers the other order, so either way the invocation must end.
          setTimeout(() => abort.abort(new Error('caller went away')), 2500);
          // Either answer is fine (the caller is gone): a result saying the command was killed, or
          // a rejection. Hanging until the 120 s timeout is not.
          const outcome = await pending.then(
            (result) => ({ result }),
            (err: unknown) => ({ err }),
          );
          if ('result' in outcome) {
            assert.equal(outcome.result.timedOut, false, summary(outcome.result));
            assert.equal(outcome.result.exitCode, null, summary(outcome.result));
          }
        } finally {
          await release(sandbox);
        }
      });

      check('does not run a command whose request was aborted before invoke', async () => {
        const sandbox = await acquire();
        try {
          const outcome = await exec(sandbox, ['sleep', '604'], { timeoutMs: 5000, signal: AbortSignal.abort() }).then(
            (result) => ({ result }),
            (err: unknown) => ({ err }),
          );
          // Throwing is fine (the caller is gone); returning is fine if nothing ran to the timeout.
          if ('result' in outcome) {
            assert.equal(outcome.result.timedOut, false, `an aborted request ran until its timeout: ${summary(outcome.result)}`);
            assert.equal(outcome.result.exitCode, null, summary(outcome.result));
          }
        } finally {
          await release(sandbox);
        }
      });

      check('caps each output stream and says it truncated', async () => {
        const result = await run(['sh', '-c', 'head -c 100000 /dev/zero; head -c 100000 /dev/zero >&2; echo done >&2'], {
          outputBytes: OUTPUT_CAP,
        });
        assert.equal(result.exitCode, 0, `a capped command must still run to completion: ${summary(result)}`);
        assert.equal(result.truncated, true);
        assert.equal(result.stdout.length, OUTPUT_CAP);
        assert.equal(result.stderr.length, OUTPUT_CAP);
        // The cap is per stream (FAAS_MAX_OUTPUT_BYTES): the interleaved log holds at most both.
        assert.ok(result.combined.length <= 2 * OUTPUT_CAP, `combined is ${result.combined.length} bytes`);
      });

      check('runs the command as a non-root user', async () => {
        const result = await run(['id', '-u']);
        assert.equal(result.exitCode, 0, summary(result));
        const uid = Number(text(result.stdout).trim());
        assert.ok(Number.isInteger(uid) && uid > 0, `uid is ${text(result.stdout)}`);
      });

      check('runs the command with no_new_privs (setuid binaries grant nothing)', async () => {
        const result = await run(['sh', '-c', 'setpriv -d | grep "^no_new_privs:"']);
        assert.equal(text(result.stdout), 'no_new_privs: 1\n', summary(result));
      });

      check('limits.pids bounds the processes a command can have, and the command still returns', async () => {
        // Each background sleep is one more process, the shell the first; once a fork fails the
        // shell gives up, so the lines printed are the forks that succeeded.
        const pids = 16;
        const result = await run(['sh', '-c', 'for i in $(seq 64); do sleep 605 & echo started; done'], { timeoutMs: 30_000 }, { pids });
        const forked = text(result.stdout).split('\n').filter(Boolean).length;
        assert.equal(result.timedOut, false, summary(result));
        assert.ok(forked >= 1 && forked < pids, `forked ${forked} under pids ${pids}: ${summary(result)}`);
      });

      check('cannot write outside /tmp (read-only root)', async () => {
        const script = 'for f in /probe /etc/probe /bin/probe; do if echo x > $f; then echo "wrote $f"; fi; done 2>/dev/null; echo end';
        const result = await run(['sh', '-c', script]);
        assert.equal(text(result.stdout), 'end\n', summary(result));
      });

      check('can write and read back /tmp', async () => {
        const result = await run(['sh', '-c', 'echo scratch > /tmp/file && cat /tmp/file']);
        assert.equal(result.exitCode, 0, summary(result));
        assert.equal(text(result.stdout), 'scratch\n');
      });

      check('destroy after use leaves nothing behind, and a second destroy is harmless', async () => {
        const sandbox = await acquire();
        const result = await exec(sandbox, ['true']);
        assert.equal(result.exitCode, 0, summary(result));
        live.delete(sandbox);
        await executor.destroy(sandbox);
        await executor.destroy(sandbox);
      });
    });

    it('an image name moved to another image, then removed, is reported as image-changed each time', {
      skip: options.noImageStore ?? false,
    }, async () => {
      const name = `faas-contract/retag-${process.pid}-${Math.random().toString(36).slice(2, 8)}:latest`;
      await tagImage(image, name);
      const events: ExecutorEvent[] = [];
      const stop = executor.watch((event) => events.push(event));
      const changes = () => events.filter((e) => e.type === 'image-changed' && e.image === name).length;
      const waitForChanges = async (count: number, what: string) => {
        const deadline = Date.now() + IMAGE_CHANGE_NOTICE_MS;
        while (changes() < count) {
          if (Date.now() > deadline)
            assert.fail(`no image-changed event within ${IMAGE_CHANGE_NOTICE_MS} ms after ${what}; events: ${JSON.stringify(events)}`);
          await new Promise((r) => setTimeout(r, 20));
        }
      };
      let sandbox: Sandbox | undefined;
      try {
        sandbox = await executor.acquire({ functionId: `contract-${name}`, image: name, limits: LIMITS });
        live.add(sandbox);
        const result = await exec(sandbox, ['true']);
        assert.equal(result.exitCode, 0, summary(result));
        assert.equal(changes(), 0, 'an image-changed event before any change');
        await tagImage(PYTHON, name);
        await waitForChanges(1, `the name moved to ${PYTHON}`);
        assert.equal(await untagImage(name), 200);
        await waitForChanges(2, 'the name was removed');
      } finally {
        stop();
        if (sandbox) await release(sandbox);
        await untagImage(name);
      }
    });

    describe('sandboxes that die', { concurrency: 2 }, () => {
      const kill = options.killFromOutside;
      const skip = kill ? false : "the suite was given no way to kill this executor's sandboxes from outside";

      it('a sandbox killed from outside while idle is reported lost, and refuses to run a command as lost before it started', {
        skip,
      }, async () => {
        const sandbox = await acquire();
        const events: ExecutorEvent[] = [];
        const stop = executor.watch((event) => events.push(event));
        try {
          assert.equal(executor.alive(sandbox), true, 'a fresh sandbox is not alive');
          await kill?.(sandbox);
          const deadline = Date.now() + LOSS_NOTICE_MS;
          while (!events.some((e) => e.type === 'sandbox-lost' && e.sandbox.id === sandbox.id)) {
            if (Date.now() > deadline) assert.fail(`no sandbox-lost event within ${LOSS_NOTICE_MS} ms; events: ${JSON.stringify(events)}`);
            await new Promise((r) => setTimeout(r, 20));
          }
          assert.equal(executor.alive(sandbox), false, 'a sandbox reported lost is still alive');
          const outcome = await exec(sandbox, ['echo', 'ran']).then(
            (result) => ({ result }),
            (err: unknown) => ({ err }),
          );
          assert.ok('err' in outcome, `a dead sandbox ran a command: ${'result' in outcome ? summary(outcome.result) : ''}`);
          assert.ok(isFaasError(outcome.err, 'FAAS_ERR_SANDBOX_LOST'), `expected FAAS_ERR_SANDBOX_LOST, got ${String(outcome.err)}`);
          assert.equal(faultStarted(outcome.err), false, 'a command refused before its start must say started: false');
        } finally {
          stop();
          await release(sandbox);
        }
      });

      it('a sandbox killed while its command runs is a platform fault that says the command started, never an exit code', {
        skip,
      }, async () => {
        const sandbox = await acquire();
        try {
          const began = Date.now();
          const pending = exec(sandbox, ['sh', '-c', 'sleep 606; echo finished'], { timeoutMs: 120_000 }).then(
            (result) => ({ result }),
            (err: unknown) => ({ err }),
          );
          // The command is running by then on every backend (the sandbox is already up).
          await new Promise((r) => setTimeout(r, 1500));
          await kill?.(sandbox);
          const outcome = await pending;
          assert.ok(
            'err' in outcome,
            `the kill was reported as the command's own end: ${'result' in outcome ? summary(outcome.result) : ''}`,
          );
          assert.ok(isFaasError(outcome.err, 'FAAS_ERR_SANDBOX_LOST'), `expected FAAS_ERR_SANDBOX_LOST, got ${String(outcome.err)}`);
          assert.equal(faultStarted(outcome.err), true, 'a command that was running must say started: true');
          assert.ok(Date.now() - began < 60_000, 'the fault was reported only at the timeout');
          assert.equal(executor.alive(sandbox), false);
        } finally {
          await release(sandbox);
        }
      });
    });

    it('holds no backend resource once every sandbox is destroyed', async () => {
      const left = await waitForNoLeftovers(options);
      assert.deepEqual(left, [], `left behind: ${left.join(', ')}`);
    });

    it('holds no backend resource after close, even for sandboxes never released', async () => {
      const idle = await acquire();
      const used = await acquire();
      const result = await exec(used, ['true']);
      assert.equal(result.exitCode, 0, summary(result));
      live.delete(idle);
      live.delete(used);
      await executor.close();
      const left = await waitForNoLeftovers(options);
      assert.deepEqual(left, [], `left behind after close: ${left.join(', ')}`);
    });
  });
}
