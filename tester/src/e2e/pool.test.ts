/**
 * Reuse mode (FAAS_POOL_MODE=reuse) keeps a function's sandbox between its invocations; what
 * docs/isolation.md promises cannot leak from one invocation to the next is checked here.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BUSYBOX } from '../support/images.js';
import { usePlatform } from '../support/platform.js';

describe('reuse mode', () => {
  const p = usePlatform({ FAAS_POOL_MODE: 'reuse', FAAS_POOL_MIN_IDLE: '0' });

  it('a later invocation of the same function sees no file and no process of an earlier one', async () => {
    const first = await p.client.run('reused', {
      image: BUSYBOX,
      command: [
        'sh',
        '-c',
        'echo secret > /tmp/.secret; mkdir -p /tmp/dir/sub; (setsid sleep 3134 &); echo planted; cut -d" " -f22 /proc/1/stat',
      ],
      env_vars: ['TOKEN=first-only'],
    });
    const [planted, sandboxStart] = first.stdout.toString().trim().split('\n');
    assert.equal(planted, 'planted', first.stderr.toString());
    let reused = 0;
    for (let i = 0; i < 3; i++) {
      const later = await p.client.run('reused', {
        image: BUSYBOX,
        // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion, not a template
        command: ['sh', '-c', 'ls -A /tmp; ps -o args | grep "^sleep 3134"; echo "token=${TOKEN-unset}"; cut -d" " -f22 /proc/1/stat'],
      });
      const [seen, start] = later.stdout.toString().trim().split('\n');
      assert.equal(seen, 'token=unset', `invocation ${i + 2} saw leftovers: ${later.stdout.toString()}`);
      // The sandbox's init started at the same instant: the same sandbox served this invocation.
      if (start === sandboxStart) reused++;
    }
    assert.ok(reused > 0, 'no invocation reused the sandbox, so nothing was checked');
  });
});

/**
 * Identity of the sandbox an invocation ran in: the container's private overlay upper directory,
 * which no two containers share.
 */
const IDENTIFY = "head -1 /proc/self/mountinfo | sed -n 's/.*upperdir=\\([^,]*\\).*/\\1/p'";

async function waitForSpare(p: { platform: { orchestrator: { poolStats: Record<string, { idle: number }> } } }, min: number) {
  for (let i = 0; i < 200; i++) {
    if ((p.platform.orchestrator.poolStats['docker/single-use']?.idle ?? 0) >= min) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`the pool never held ${min} spare sandbox(es)`);
}

describe('single-use mode', () => {
  const p = usePlatform({ FAAS_POOL_MODE: 'single-use', FAAS_POOL_MIN_IDLE: '2' });

  it('no process or file of one invocation survives into the next, and no sandbox runs twice', async () => {
    const seen = new Set<string>();
    const first = await p.client.run('single', {
      image: BUSYBOX,
      command: ['sh', '-c', `echo secret > /tmp/.secret; (setsid sleep 3135 &); ${IDENTIFY}`],
    });
    const firstId = first.stdout.toString().trim();
    assert.match(firstId, /overlay2/, first.stderr.toString());
    seen.add(firstId);
    for (let i = 0; i < 4; i++) {
      await waitForSpare(p, 1);
      const later = await p.client.run('single', {
        image: BUSYBOX,
        command: ['sh', '-c', `ls -A /tmp; ps -o args | grep "^sleep 3135"; ${IDENTIFY}`],
      });
      const lines = later.stdout.toString().trim().split('\n');
      assert.equal(lines.length, 1, `invocation ${i + 2} saw leftovers: ${later.stdout.toString()}`);
      assert.ok(!seen.has(lines[0] as string), `invocation ${i + 2} ran in a sandbox that already ran an invocation`);
      seen.add(lines[0] as string);
    }
  });
});

describe('two functions never share a sandbox', () => {
  for (const mode of ['reuse', 'single-use']) {
    describe(mode, () => {
      const p = usePlatform({ FAAS_POOL_MODE: mode, FAAS_POOL_MIN_IDLE: '1' });

      it('the sandboxes of function a and function b are disjoint', async () => {
        const ids = { a: new Set<string>(), b: new Set<string>() };
        for (let i = 0; i < 4; i++) {
          for (const fn of ['a', 'b'] as const) {
            const result = await p.client.run(`share-${fn}`, { image: BUSYBOX, command: ['sh', '-c', IDENTIFY] });
            const id = result.stdout.toString().trim();
            assert.match(id, /overlay2/, result.stderr.toString());
            ids[fn].add(id);
          }
        }
        for (const id of ids.a) assert.ok(!ids.b.has(id), `functions a and b both ran in sandbox ${id}`);
        if (mode === 'reuse') assert.ok(ids.a.size < 4 || ids.b.size < 4, 'reuse mode never reused a sandbox, so nothing was checked');
      });
    });
  }
});

describe('reuse mode at the idle cap', () => {
  const p = usePlatform({ FAAS_POOL_MODE: 'reuse', FAAS_POOL_MIN_IDLE: '0', FAAS_POOL_MAX_IDLE: '2' });

  it('a function called after the cap is reached keeps its warm sandbox; the least recently used one is evicted', async () => {
    const identity = async (fn: string) => {
      const result = await p.client.run(fn, { image: BUSYBOX, command: ['sh', '-c', IDENTIFY] });
      const id = result.stdout.toString().trim();
      assert.match(id, /overlay2/, result.stderr.toString());
      return id;
    };
    const settle = () => new Promise((r) => setTimeout(r, 300));
    await identity('cap-a');
    await settle();
    await identity('cap-b');
    await settle();
    // Two idle sandboxes now fill the cap; a third function must not be starved of its own.
    const first = await identity('cap-c');
    await settle();
    const again = [await identity('cap-c')];
    await settle();
    again.push(await identity('cap-c'));
    assert.deepEqual(again, [first, first], 'cap-c got a fresh sandbox each time: the pool kept idle sandboxes nobody calls instead');
    const stats = p.platform.orchestrator.poolStats['docker/reuse'];
    assert.ok((stats?.evictions ?? 0) >= 1, `no eviction recorded: ${JSON.stringify(stats)}`);
    assert.ok((stats?.idle ?? 0) <= 2, `more idle sandboxes than the cap: ${JSON.stringify(stats)}`);
  });
});
