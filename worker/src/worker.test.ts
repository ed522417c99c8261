/**
 * The worker against the real invocation core (with the in-memory fake executor) and a real
 * SQLite queue: runs, retries of platform faults, the function's own failures, dead letters,
 * cancel, recovery of what a stopped process left running, and fairness with synchronous calls.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { FaasError, type Invocation, loadConfig, silentLogger } from '@faas/common';
import { type ExecRequest, FakeExecutor, type FakeExecutorOptions, facts } from '@faas/executor';
import { type HistoryEntry, type HistorySink, Orchestrator } from '@faas/orchestrator';
import { type AsyncJob, openSqliteStore, type Store } from '@faas/store';
import { AsyncWorker, type AsyncWorkerOptions, type WorkerFrontDoor } from './worker.js';

interface Harness {
  store: Store;
  executor: FakeExecutor;
  orchestrator: Orchestrator;
  worker: AsyncWorker;
  finals: AsyncJob[];
  enqueue(
    command: string[],
    extra?: { maxAttempts?: number; retryOnFailure?: boolean; keyId?: string; keyMaxConcurrency?: number | null },
  ): Promise<string>;
  waitFor(id: string, states: string[], withinMs?: number): Promise<AsyncJob>;
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

/** The request is the command itself; the invocation runs it with the test's defaults. */
const frontDoor: WorkerFrontDoor = {
  async resolve(job, request) {
    const { command: asked, keyMaxConcurrency = 1 } = JSON.parse(request) as { command: string[]; keyMaxConcurrency?: number | null };
    if (asked[0] === 'unresolvable') throw new FaasError('FAAS_ERR_FUNCTION_NOT_FOUND', 'the function was deleted');
    // `capped ...`: a function with max_concurrency 1.
    const capped = asked[0] === 'capped';
    const command = capped ? asked.slice(1) : asked;
    const invocation: Invocation = {
      id: job.id,
      functionId: job.functionId,
      ...(capped ? { maxConcurrency: 1 } : {}),
      // An API key's invocation: that key may have one under way at once, unless the request says otherwise (null: no cap).
      ...(job.keyId === null ? {} : { keyId: job.keyId, ...(keyMaxConcurrency === null ? {} : { keyMaxConcurrency }) }),
      image: 'faas/busybox:latest',
      command,
      env: [],
      stdin: Buffer.alloc(0),
      limits: { memoryBytes: 64 << 20, cpus: 1, pids: 16, tmpBytes: 1 << 20, outputBytes: 1 << 20 },
      timeoutMs: 5000,
      executor: 'docker',
    };
    return { invocation, functionVersion: undefined };
  },
  result(outcome) {
    return { exit_code: outcome.exitCode, stdout: outcome.stdout.toString() };
  },
};

async function harness(
  executorOptions: FakeExecutorOptions = {},
  { history, ...options }: Partial<AsyncWorkerOptions> & { slots?: number; history?: HistorySink } = {},
  prepare?: (store: Store) => Promise<void>,
): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'faas-worker-test-'));
  const store = openSqliteStore({ dataDir: dir, secretsKey: randomBytes(32) });
  await prepare?.(store);
  const slots = options.slots ?? 4;
  const config = loadConfig({ FAAS_MAX_CONCURRENCY: String(slots), FAAS_MAX_QUEUE: '8', FAAS_POOL_MODE: 'off', FAAS_DATA_DIR: dir }, 2);
  const executor = new FakeExecutor(executorOptions);
  const orchestrator = new Orchestrator({
    config,
    executors: new Map([['docker', executor]]),
    metrics: { processMetrics: false },
    ...(history ? { history } : {}),
  });
  await orchestrator.start();
  const finals: AsyncJob[] = [];
  const worker = new AsyncWorker({
    queue: store.queue,
    orchestrator,
    frontDoor,
    concurrency: 2,
    slots,
    leaseMs: 2000,
    backoff: { baseMs: 10, maxMs: 40, random: () => 0 },
    log: silentLogger,
    registry: orchestrator.metrics.registry,
    onFinal: (job) => finals.push(job),
    pollMs: 50,
    ...options,
  });
  cleanups.push(async () => {
    worker.pause();
    await orchestrator.drain(1000);
    await worker.stop();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const h: Harness = {
    store,
    executor,
    orchestrator,
    worker,
    finals,
    async enqueue(command, extra = {}) {
      const id = randomUUID();
      await store.queue.enqueue({
        id,
        functionId: 'fn',
        functionVersion: null,
        executor: 'docker',
        keyId: extra.keyId ?? null,
        maxAttempts: extra.maxAttempts ?? 3,
        retryOnFailure: extra.retryOnFailure ?? false,
        stdinBytes: 0,
        callbackUrl: null,
        request: JSON.stringify(
          extra.keyMaxConcurrency === undefined ? { command } : { command, keyMaxConcurrency: extra.keyMaxConcurrency },
        ),
        requestHash: id,
      });
      worker.wake();
      return id;
    },
    async waitFor(id, states, withinMs = 5000) {
      const deadline = Date.now() + withinMs;
      for (;;) {
        const job = await store.queue.get(id);
        if (job && states.includes(job.state)) return job;
        if (Date.now() > deadline) assert.fail(`${id} never reached ${states.join('/')}: ${JSON.stringify(job)}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
  };
  return h;
}

/** Exit codes and faults by command: `exit N`, `sleep MS`, `fault-once` (a lost sandbox, then fine), `fault` (always lost). */
function scripted(): FakeExecutorOptions {
  const seen = new Set<string>();
  return {
    run: async (request: ExecRequest) => {
      const [verb, arg] = request.command;
      if (verb === 'exit') return facts({ exitCode: Number(arg) });
      if (verb === 'sleep') {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Number(arg));
          request.signal?.addEventListener('abort', () => {
            clearTimeout(timer);
            resolve();
          });
        });
        return request.signal?.aborted ? facts({ exitCode: null, signal: 'SIGKILL', cancelled: true }) : facts();
      }
      if (verb === 'fault-once' && !seen.has(arg ?? '')) {
        seen.add(arg ?? '');
        throw new FaasError('FAAS_ERR_SANDBOX_LOST', 'the sandbox died under the command', { details: { started: true } });
      }
      if (verb === 'fault') throw new FaasError('FAAS_ERR_SANDBOX_FAILURE', 'the engine failed');
      const out = Buffer.from(request.command.join(' '));
      return facts({ stdout: out, combined: out });
    },
  };
}

describe('the asynchronous worker', () => {
  it('runs queued invocations to their result, each attempt recorded', async () => {
    const h = await harness(scripted());
    await h.worker.start();
    const ids = await Promise.all([1, 2, 3, 4, 5].map((n) => h.enqueue(['echo', String(n)])));
    for (const [i, id] of ids.entries()) {
      const job = await h.waitFor(id, ['succeeded']);
      assert.equal(job.attempts, 1);
      assert.deepEqual(JSON.parse((await h.store.queue.result(id)) ?? 'null'), { exit_code: 0, stdout: `echo ${i + 1}` });
      assert.deepEqual(
        (await h.store.queue.attempts(id)).map((a) => [a.attempt, a.status, a.exitCode]),
        [[1, 'completed', 0]],
      );
    }
    assert.equal(h.finals.length, 5);
    const text = await h.orchestrator.metrics.text();
    assert.match(text, /faas_async_attempts_total\{result="succeeded"\} 5/);
    assert.match(text, /faas_async_queue_depth 0/);
  });

  it('retries a platform fault after a backoff, and succeeds', async () => {
    const h = await harness(scripted());
    await h.worker.start();
    const id = await h.enqueue(['fault-once', 'a']);
    const job = await h.waitFor(id, ['succeeded']);
    assert.equal(job.attempts, 2);
    assert.deepEqual(
      (await h.store.queue.attempts(id)).map((a) => [a.attempt, a.status, a.errorCode]),
      [
        [1, 'error', 'FAAS_ERR_SANDBOX_LOST'],
        [2, 'completed', null],
      ],
    );
  });

  it('dead-letters a fault that outlives its attempts; a fault no retry mends fails at once', async () => {
    const h = await harness(scripted());
    await h.worker.start();
    const dead = await h.enqueue(['fault'], { maxAttempts: 3 });
    const job = await h.waitFor(dead, ['dead']);
    assert.equal(job.attempts, 3);
    assert.equal(job.errorCode, 'FAAS_ERR_SANDBOX_FAILURE');
    assert.equal((await h.store.queue.listDead({ limit: 10 })).items[0]?.id, dead);
    const gone = await h.enqueue(['unresolvable']);
    const failed = await h.waitFor(gone, ['failed']);
    assert.equal(failed.attempts, 1);
    assert.equal(failed.errorCode, 'FAAS_ERR_FUNCTION_NOT_FOUND');
    assert.match(await h.orchestrator.metrics.text(), /faas_async_dead_letters 1/);
  });

  it("never retries the function's own failure unless its definition asks; then dead when it keeps failing", async () => {
    const h = await harness(scripted());
    await h.worker.start();
    const plain = await h.enqueue(['exit', '3']);
    const failed = await h.waitFor(plain, ['failed']);
    assert.equal(failed.attempts, 1);
    assert.equal(JSON.parse((await h.store.queue.result(plain)) ?? '{}').exit_code, 3);
    const retried = await h.enqueue(['exit', '4'], { retryOnFailure: true, maxAttempts: 2 });
    const dead = await h.waitFor(retried, ['dead']);
    assert.equal(dead.attempts, 2);
    assert.deepEqual(
      (await h.store.queue.attempts(retried)).map((a) => a.exitCode),
      [4, 4],
    );
  });

  it('kills a running invocation that is cancelled, and reports a queued one that was', async () => {
    const h = await harness(scripted());
    await h.worker.start();
    const id = await h.enqueue(['sleep', '10000']);
    await h.waitFor(id, ['running']);
    await new Promise((r) => setTimeout(r, 50));
    await h.store.queue.cancel(id);
    h.worker.cancel(id);
    const job = await h.waitFor(id, ['cancelled'], 3000);
    assert.equal(job.attempts, 1);
    assert.equal((await h.store.queue.attempts(id))[0]?.status, 'cancelled');
    assert.ok(h.finals.some((j) => j.id === id && j.state === 'cancelled'));
  });

  it('takes back what a stopped process left running, at start: retried, or dead past its attempts', async () => {
    let left = '';
    let spent = '';
    const h = await harness(scripted(), {}, async (store) => {
      for (const [id, maxAttempts] of [
        ['left', 3],
        ['spent', 1],
      ] as const) {
        const real = randomUUID();
        if (id === 'left') left = real;
        else spent = real;
        await store.queue.enqueue({
          id: real,
          functionId: 'fn',
          functionVersion: null,
          executor: 'docker',
          keyId: null,
          maxAttempts,
          retryOnFailure: false,
          stdinBytes: 0,
          callbackUrl: null,
          request: JSON.stringify({ command: ['echo', id] }),
          requestHash: real,
        });
        // A process that died holding it, with a lease far from running out.
        assert.ok(await store.queue.claim({ owner: 'dead-process', leaseMs: 3_600_000 }));
      }
    });
    await h.worker.start();
    const job = await h.waitFor(left, ['succeeded']);
    assert.equal(job.attempts, 2);
    assert.deepEqual(
      (await h.store.queue.attempts(left)).map((a) => [a.status, a.errorCode]),
      [
        ['error', 'FAAS_ERR_WORKER_LOST'],
        ['completed', null],
      ],
    );
    const dead = await h.waitFor(spent, ['dead']);
    assert.equal(dead.attempts, 1);
    // Dead because the platform stopped under its last attempt, and it says so.
    assert.equal(dead.errorCode, 'FAAS_ERR_WORKER_LOST');
    assert.match(dead.error ?? '', /the platform stopped while this attempt ran/);
    assert.ok(
      h.finals.some((j) => j.id === spent && j.state === 'dead'),
      'the one it ended is reported',
    );
  });

  it('an attempt killed by a graceful stop is lost to a stopped platform (FAAS_ERR_WORKER_LOST), never cancelled: retried, or dead past its attempts', async () => {
    const h = await harness(scripted());
    await h.worker.start();
    const last = await h.enqueue(['sleep', '10000'], { maxAttempts: 1 });
    const more = await h.enqueue(['sleep', '10000'], { maxAttempts: 3 });
    await h.waitFor(last, ['running']);
    await h.waitFor(more, ['running']);
    await new Promise((r) => setTimeout(r, 50));
    // What `faas serve` does on SIGTERM (bin/src/platform.ts): the worker takes nothing new, the
    // core drains with a grace (FAAS_SHUTDOWN_GRACE_MS) that runs out and kills both.
    h.worker.pause();
    await h.orchestrator.drain(100);
    await h.worker.stop();
    const lost = {
      status: 'error',
      exitCode: null,
      errorCode: 'FAAS_ERR_WORKER_LOST',
      error: 'the platform stopped while this attempt ran (its shutdown grace ran out and killed it)',
    };
    const dead = await h.waitFor(last, ['dead'], 100);
    assert.equal(dead.attempts, 1);
    assert.equal(dead.errorCode, 'FAAS_ERR_WORKER_LOST');
    assert.equal(dead.error, lost.error);
    assert.deepEqual(
      (await h.store.queue.attempts(last)).map((a) => ({ status: a.status, exitCode: a.exitCode, errorCode: a.errorCode, error: a.error })),
      [lost],
    );
    assert.ok(h.finals.some((j) => j.id === last && j.state === 'dead' && j.errorCode === 'FAAS_ERR_WORKER_LOST'));
    // Attempts left: queued again for the next start, the attempt recorded the same way.
    const queued = await h.waitFor(more, ['queued'], 100);
    assert.equal(queued.attempts, 1);
    assert.equal(queued.errorCode, 'FAAS_ERR_WORKER_LOST');
    assert.deepEqual(
      (await h.store.queue.attempts(more)).map((a) => ({ status: a.status, exitCode: a.exitCode, errorCode: a.errorCode, error: a.error })),
      [lost],
    );
    assert.equal(
      h.finals.some((j) => j.state === 'cancelled'),
      false,
      'nobody cancelled anything',
    );
  });

  it('leaves synchronous callers first: takes nothing while one waits for a slot, and at most its own share', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const h = await harness(
      {
        run: async (request) => {
          if (request.command[0] === 'block') await gate;
          return facts();
        },
      },
      { slots: 2, concurrency: 1 },
    );
    await h.worker.start();
    const invocation = (id: string, command: string[]): Invocation => ({
      id,
      functionId: 'sync',
      image: 'faas/busybox:latest',
      command,
      env: [],
      stdin: Buffer.alloc(0),
      limits: { memoryBytes: 64 << 20, cpus: 1, pids: 16, tmpBytes: 1 << 20, outputBytes: 1 << 20 },
      timeoutMs: 5000,
      executor: 'docker',
    });
    // Both slots taken by synchronous calls, a third one waiting.
    const syncs = [h.orchestrator.invoke(invocation('s1', ['block'])), h.orchestrator.invoke(invocation('s2', ['block']))];
    await new Promise((r) => setTimeout(r, 20));
    const waiting = h.orchestrator.invoke(invocation('s3', ['echo']));
    const asyncIds = [await h.enqueue(['echo', 'a']), await h.enqueue(['echo', 'b'])];
    await new Promise((r) => setTimeout(r, 150));
    assert.equal((await h.store.queue.stats()).running, 0, 'no asynchronous invocation took a slot while a synchronous one waited');
    release();
    await Promise.all([...syncs, waiting]);
    for (const id of asyncIds) await h.waitFor(id, ['succeeded']);
  });

  it('a refusal at the function cap that goes back to the queue is no history row and no error metric', async () => {
    const recorded: HistoryEntry[] = [];
    const history: HistorySink = { record: (entry) => void recorded.push(entry) };
    const h = await harness(scripted(), { history, busyDelayMs: 5 });
    await h.worker.start();
    // Two asynchronous slots, a function that allows one at a time: the second is refused until the first ends.
    const first = await h.enqueue(['capped', 'sleep', '300']);
    await h.waitFor(first, ['running']);
    const second = await h.enqueue(['capped', 'echo', 'second']);
    await new Promise((r) => setTimeout(r, 100));
    const waiting = await h.store.queue.get(second);
    assert.ok(waiting?.state === 'queued' || waiting?.state === 'running', `the second waits its turn: ${waiting?.state}`);
    for (const id of [first, second]) assert.equal((await h.waitFor(id, ['succeeded'])).attempts, 1);
    assert.deepEqual(
      recorded.map((e) => [e.id, e.status, e.errorCode]),
      [
        [first, 'completed', null],
        [second, 'completed', null],
      ],
      'one row per run, none for the refusals',
    );
    const text = await h.orchestrator.metrics.text();
    assert.doesNotMatch(text, /faas_invocations_total\{[^}]*outcome="error"/, 'no refusal counted as an error');
    const requeued =
      /faas_invocations_total\{function="fn",executor="docker",outcome="requeued",code="FAAS_ERR_CONCURRENCY_LIMIT"\} (\d+)/.exec(text);
    assert.ok(
      requeued && Number(requeued[1]) >= 1,
      `counted as requeued:\n${text
        .split('\n')
        .filter((l) => l.startsWith('faas_invocations_total'))
        .join('\n')}`,
    );
    const released = /faas_async_attempts_total\{result="released"\} (\d+)/.exec(text);
    assert.equal(released?.[1], requeued?.[1], 'as many hand-backs as requeued refusals');
  });

  it("a refusal at the API key's cap goes back to the queue, backing off, never dead; another key's invocation runs meanwhile", async () => {
    const recorded: HistoryEntry[] = [];
    const history: HistorySink = { record: (entry) => void recorded.push(entry) };
    const h = await harness(scripted(), { history, busyDelayMs: 5, concurrency: 2 });
    await h.worker.start();
    const first = await h.enqueue(['sleep', '400'], { keyId: 'tenant0000aa' });
    await h.waitFor(first, ['running']);
    // One attempt only: a refusal for the key's cap must cost none, or it would be dead at once.
    const second = await h.enqueue(['echo', 'second'], { keyId: 'tenant0000aa', maxAttempts: 1 });
    const other = await h.enqueue(['echo', 'other'], { keyId: 'tenant0000bb', maxAttempts: 1 });
    assert.equal((await h.waitFor(other, ['succeeded', 'failed', 'dead'])).state, 'succeeded');
    assert.equal((await h.store.queue.get(first))?.state, 'running', "the other key's invocation did not wait for the first key's");
    for (const id of [first, second]) {
      const job = await h.waitFor(id, ['succeeded', 'failed', 'dead']);
      assert.equal(job.state, 'succeeded', id);
      assert.equal(job.attempts, 1, 'the refusals cost no attempt');
    }
    assert.deepEqual(
      recorded.map((e) => e.errorCode),
      [null, null, null],
      'no history row for the refusals',
    );
    const text = await h.orchestrator.metrics.text();
    const requeued =
      /faas_invocations_total\{function="fn",executor="docker",outcome="requeued",code="FAAS_ERR_KEY_CONCURRENCY_LIMIT"\} (\d+)/.exec(text);
    assert.ok(requeued && Number(requeued[1]) >= 1, `counted as requeued:\n${text}`);
    // 5 ms doubled at each refusal in a row (2.5 ms to 80 ms with this jitter) over 400 ms: about
    // ten hand-backs at most, where a fixed 2.5 ms would have made dozens.
    assert.ok(Number(requeued[1]) <= 15, `the key's hand-backs back off: ${requeued[1]} in 400 ms`);
  });

  it("fair across API keys: another key's invocation runs at the next free slot, while one key's backlog is still mostly queued", async () => {
    const h = await harness(scripted(), { concurrency: 2 });
    // Key A, with no cap of its own, queues 40 that take 60 ms each; then key B queues one.
    const backlog: string[] = [];
    for (let i = 0; i < 40; i++) backlog.push(await h.enqueue(['sleep', '60'], { keyId: 'tenant0000aa', keyMaxConcurrency: null }));
    await h.worker.start();
    await h.waitFor(backlog[0] ?? '', ['running']);
    const other = await h.enqueue(['echo', 'b'], { keyId: 'tenant0000bb' });
    assert.equal((await h.waitFor(other, ['succeeded', 'failed', 'dead'])).state, 'succeeded');
    const states = await Promise.all(backlog.map(async (id) => (await h.store.queue.get(id))?.state));
    const count = (state: string) => states.filter((s) => s === state).length;
    // In the order of acceptance it would have waited for all 40 (about 1.2 s at two at a time).
    assert.ok(count('queued') >= 30, `A's backlog is still mostly queued when B's invocation has run: ${JSON.stringify(states)}`);
    // A alone again: it takes both slots, and its backlog runs first in, first out.
    const deadline = Date.now() + 3000;
    while ((await h.store.queue.stats()).running < 2) {
      if (Date.now() > deadline) assert.fail('with nobody else waiting, A never had both slots');
      await new Promise((r) => setTimeout(r, 5));
    }
    for (const id of backlog) await h.waitFor(id, ['succeeded']);
    const started = await Promise.all(
      backlog.map(async (id) => (await h.store.queue.attempts(id))[0]?.startedAt ?? Number.POSITIVE_INFINITY),
    );
    for (let i = 1; i < started.length; i++) {
      assert.ok((started[i - 1] ?? 0) <= (started[i] ?? 0), `A's invocations start in the order they were accepted (${i})`);
    }
  });

  it('hands an invocation back uncounted while the function is at its own cap', async () => {
    let calls = 0;
    const h = await harness({
      run: () => {
        calls++;
        return facts();
      },
    });
    const busy = new FaasError('FAAS_ERR_CONCURRENCY_LIMIT', 'at its cap');
    let refusals = 2;
    const real = h.orchestrator.invoke.bind(h.orchestrator);
    (h.orchestrator as { invoke: typeof real }).invoke = (invocation, options) =>
      refusals-- > 0 ? Promise.reject(busy) : real(invocation, options);
    await h.worker.start();
    const id = await h.enqueue(['echo'], { maxAttempts: 1 });
    const job = await h.waitFor(id, ['succeeded']);
    assert.equal(job.attempts, 1, 'the refusals cost no attempt');
    assert.equal(calls, 1);
    assert.deepEqual(
      (await h.store.queue.attempts(id)).map((a) => a.attempt),
      [1],
    );
  });
});
