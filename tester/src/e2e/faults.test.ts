/**
 * Faults under the platform, over HTTP: the Docker engine stopped (SIGTERM, as an operator's
 * restart does) and started again mid-invocation and while idle, spares killed from outside
 * (`docker kill`), and VMMs (QEMU) killed while idle and mid-invocation. Each asserts the answer
 * (a platform fault with `started` for the invocation in flight, never an exit code; no error at
 * all for anyone else), the recovery (every later invocation succeeds, the pool is rebuilt and
 * /ready says so until it is) and that nothing dead is left behind.
 *
 * The Docker cases run on an engine of their own (support/engine.ts), so that stopping it never
 * disturbs the host's engine, which the other suites use at the same time.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { vmUnavailableReason } from '../contract/vm-support.js';
import { describeContainers, killContainers, managedContainers } from '../support/docker.js';
import { PrivateEngine, privateEngineUnavailableReason } from '../support/engine.js';
import type { ErrorBody, HttpClient } from '../support/http.js';
import { BUSYBOX } from '../support/images.js';
import { OWN_CONTAINERS, startPlatform, type TestPlatform } from '../support/platform.js';

const SWEEP_MS = 2000;
const ECHO = { image: BUSYBOX, command: ['echo', 'ok'] };
const IN_FLIGHT = { image: BUSYBOX, command: ['sh', '-c', 'sleep 8; echo finished'], timeout_ms: 30_000 };

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what: string, check: () => Promise<boolean> | boolean, withinMs: number): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`${what} within ${withinMs} ms`);
    await delay(100);
  }
}

function poolOf(p: TestPlatform): { idle: number; rebuilding: boolean; lost: number } {
  const [stats] = Object.values(p.platform.orchestrator.poolStats);
  return stats ?? { idle: 0, rebuilding: false, lost: 0 };
}

/** Waits until the pool holds `spares` and /ready says it is no longer rebuilding. */
async function poolRebuilt(p: TestPlatform, spares: number, withinMs = 60_000): Promise<void> {
  await waitFor(
    `the pool was not rebuilt to ${spares} spares (/ready rebuilding false)`,
    async () => {
      const ready = await p.client.request('/ready');
      return ready.status === 200 && ready.json<{ rebuilding: boolean }>().rebuilding === false && poolOf(p).idle >= spares;
    },
    withinMs,
  );
}

/** The answer of an invocation whose sandbox died under it: a platform fault that says it started. */
function assertLostMidRun(res: { status: number; text: string; json<T>(): T }): void {
  assert.equal(res.status, 502, `the invocation in flight got ${res.status}, not a platform fault: ${res.text.slice(0, 400)}`);
  const body = res.json<ErrorBody & { started?: boolean }>();
  assert.equal(body.code, 'FAAS_ERR_SANDBOX_LOST', res.text);
  assert.equal(body.started, true, res.text);
  assert.ok(body.invocation_id, res.text);
}

/** Every later invocation succeeds: no user-visible error. */
async function allSucceed(client: HttpClient, functionId: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const result = await client.run(functionId, { ...ECHO, command: ['echo', `ok ${i}`] });
    assert.equal(result.exit_code, 0, `invocation ${i}: ${result.error}`);
    assert.equal(result.stdout.toString(), `ok ${i}\n`);
  }
}

const engineUnavailable = privateEngineUnavailableReason();

describe('faults in the Docker engine', { skip: engineUnavailable, concurrency: 1 }, () => {
  let engine: PrivateEngine;
  before(async () => {
    engine = await PrivateEngine.start([BUSYBOX]);
  });
  after(async () => {
    await engine?.dispose();
  });

  /** A platform on the private engine, stopped (and checked to leave nothing) after the describe. */
  function platformOn(env: Record<string, string>): TestPlatform {
    const handle = {} as TestPlatform;
    before(async () => {
      Object.assign(
        handle,
        await startPlatform({ DOCKER_HOST: engine.host, FAAS_POOL_MIN_IDLE: '2', FAAS_SANDBOX_SWEEP_MS: String(SWEEP_MS), ...env }),
      );
    });
    after(async () => {
      if (!handle.platform) return;
      await handle.platform.stop();
      // The engine may have been left down by a failed case: it must answer for the check.
      await engine.up();
      const left = await managedContainers(OWN_CONTAINERS, engine.host);
      assert.deepEqual(left, [], `containers left behind after stop:\n${describeContainers(left)}`);
    });
    return handle;
  }

  /** No container of this test process is anything but running (a spare or a running invocation). */
  async function nothingDeadLeft(withinMs = SWEEP_MS + 3000): Promise<void> {
    let dead: Awaited<ReturnType<typeof managedContainers>> = [];
    await waitFor(
      'dead containers stayed on the engine longer than the sweep interval',
      async () => {
        dead = (await managedContainers(OWN_CONTAINERS, engine.host)).filter((c) => c.state !== 'running');
        return dead.length === 0;
      },
      withinMs,
    ).catch((err: Error) => assert.fail(`${err.message}:\n${describeContainers(dead)}`));
  }

  const cases = [
    { kind: 'docker', mode: 'single-use' },
    { kind: 'docker', mode: 'reuse' },
    { kind: 'gvisor', mode: 'single-use' },
  ] as const;

  for (const { kind, mode } of cases) {
    describe(`${kind}, ${mode}`, () => {
      const p = platformOn({ FAAS_EXECUTOR_TYPE: kind, FAAS_POOL_MODE: mode });
      const fn = `faults-${kind}-${mode}`;

      it('spares killed from outside never make an invocation fail, and are replaced', async () => {
        await p.client.run(fn, ECHO);
        await poolRebuilt(p, 2);
        const killed = await killContainers(OWN_CONTAINERS, 'KILL', engine.host);
        assert.ok(killed.length >= 2, `killed ${killed.length} spares`);
        // At once: the dead spares are not handed out, whether or not their death was noticed yet.
        await allSucceed(p.client, fn, 3);
        await poolRebuilt(p, 2);
        await nothingDeadLeft();
      });

      it('an engine restart: the invocation in flight is a platform fault, every later one succeeds, the pool is rebuilt', async () => {
        await poolRebuilt(p, 2);
        const inFlight = p.client.invoke(fn, IN_FLIGHT);
        await delay(1500);
        let res: Awaited<typeof inFlight>;
        try {
          await engine.down();
          res = await inFlight;
          const ready = await p.client.request('/ready');
          assert.equal(ready.status, 503, `/ready while the engine is down: ${ready.status} ${ready.text}`);
        } finally {
          await engine.up();
        }
        const answering = Date.now();
        assertLostMidRun(res);
        // From the moment the engine answers again, no invocation fails.
        await allSucceed(p.client, fn, 4);
        const firstOk = Date.now() - answering;
        await poolRebuilt(p, 2);
        await nothingDeadLeft();
        process.stderr.write(`# ${kind} ${mode}: engine answering -> 4 invocations ok in ${firstOk} ms\n`);
      });

      it('an engine restart while idle: no invocation fails, the pool is rebuilt', async () => {
        await poolRebuilt(p, 2);
        try {
          await engine.down();
        } finally {
          await engine.up();
        }
        await allSucceed(p.client, fn, 3);
        await poolRebuilt(p, 2);
        await nothingDeadLeft();
      });
    });
  }
});

const vmUnavailable = vmUnavailableReason('qemu-system-x86_64');

/** QEMU processes this test process started (the platform runs in-process), by pid. */
function ownVmms(): number[] {
  const mine: number[] = [];
  for (const pid of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (comm.startsWith('qemu-system') && ppid === process.pid) mine.push(Number(pid));
    } catch {
      // Exited while we looked.
    }
  }
  return mine;
}

/** State folders of VMs this test process's platform created. */
function ownVmStateDirs(): string[] {
  const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
  const root = join(tmpdir(), `faas-qemu-${uid}`);
  let names: string[] = [];
  try {
    names = readdirSync(root);
  } catch {
    return [];
  }
  return names.filter((name) => {
    try {
      return JSON.parse(readFileSync(join(root, name, 'owner.json'), 'utf8')).hostPid === process.pid;
    } catch {
      return false;
    }
  });
}

function killAll(pids: number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Gone already.
    }
  }
}

describe('a VMM killed from outside (qemu)', { skip: vmUnavailable, concurrency: 1 }, () => {
  const handle = {} as TestPlatform;
  before(async () => {
    Object.assign(
      handle,
      await startPlatform({
        FAAS_EXECUTOR_TYPE: 'qemu',
        FAAS_POOL_MODE: 'single-use',
        FAAS_POOL_MIN_IDLE: '1',
        FAAS_SANDBOX_SWEEP_MS: String(SWEEP_MS),
      }),
    );
  });
  after(async () => {
    if (!handle.platform) return;
    await handle.platform.stop();
    assert.deepEqual(ownVmms(), [], 'VMM processes left running after the platform stopped');
    assert.deepEqual(ownVmStateDirs(), [], 'VM state folders left after the platform stopped');
  });
  const p = handle;

  /** Exactly the pool's spares (and `busy` more) run; no dead VM's folder stays. */
  async function onlyLiveVms(busy = 0): Promise<void> {
    await waitFor(
      'VMs of dead sandboxes stayed (processes or state folders)',
      () => {
        const idle = poolOf(p).idle;
        return ownVmms().length === idle + busy && ownVmStateDirs().length === idle + busy;
      },
      SWEEP_MS + 5000,
    );
  }

  it('while idle: the next invocation succeeds, and the spare is replaced', async () => {
    await p.client.run('faults-vm', ECHO);
    await poolRebuilt(p, 1);
    const spares = ownVmms();
    assert.ok(spares.length >= 1, 'no spare VM runs');
    killAll(spares);
    await allSucceed(p.client, 'faults-vm', 2);
    await poolRebuilt(p, 1);
    await onlyLiveVms();
  });

  it('mid-invocation: the invocation is a platform fault that says it started; later ones succeed', async () => {
    await poolRebuilt(p, 1);
    const inFlight = p.client.invoke('faults-vm', IN_FLIGHT);
    await delay(2000);
    // The spare dies too: the invocation after this one must not get it.
    killAll(ownVmms());
    assertLostMidRun(await inFlight);
    await allSucceed(p.client, 'faults-vm', 2);
    await poolRebuilt(p, 1);
    await onlyLiveVms();
  });
});
