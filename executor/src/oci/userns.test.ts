import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { bundleSpec } from './bundle-spec.js';
import { slotMapping, USERNS_BASE, USERNS_LAST_ID, USERNS_SIZE, USERNS_SLOTS, UsernsSlots } from './userns.js';

describe('OCI user namespace id ranges', () => {
  it('maps container 0..65535 to base + slot * 65536, and no slot reaches 2^32-1', () => {
    assert.equal(USERNS_BASE, 2 ** 30);
    assert.deepEqual(slotMapping(0), { containerID: 0, hostID: 2 ** 30, size: 65_536 });
    assert.deepEqual(slotMapping(3), { containerID: 0, hostID: 2 ** 30 + 3 * 65_536, size: 65_536 });
    const last = slotMapping(USERNS_SLOTS - 1);
    assert.ok(last.hostID + last.size - 1 <= USERNS_LAST_ID && USERNS_LAST_ID === 2 ** 32 - 2);
    // One more slot would not fit.
    assert.ok(last.hostID + 2 * USERNS_SIZE - 1 > USERNS_LAST_ID);
    assert.throws(() => slotMapping(USERNS_SLOTS), RangeError);
    assert.throws(() => slotMapping(-1), RangeError);
  });

  it('hands out distinct slots, skips those another process claimed, and releases on request', () => {
    const dir = mkdtempSync(join(tmpdir(), 'faas-userns-'));
    try {
      writeFileSync(join(dir, '1'), String(process.ppid)); // a live process's claim
      writeFileSync(join(dir, '2'), '2147483646'); // a dead process's claim
      const slots = new UsernsSlots(dir, 4);
      assert.equal(slots.init(), 1);
      assert.ok(!existsSync(join(dir, '2')));
      const a = slots.acquire();
      const b = slots.acquire();
      const c = slots.acquire();
      assert.deepEqual([a, b, c], [0, 2, 3]);
      assert.equal(readFileSync(join(dir, '0'), 'utf8'), String(process.pid));
      assert.throws(
        () => slots.acquire(),
        (err: { code?: string }) => err.code === 'FAAS_ERR_SATURATED',
      );
      slots.release(b);
      assert.ok(!existsSync(join(dir, '2')));
      assert.equal(slots.acquire(), 2);
      assert.equal(slots.size, 3);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('adds the user namespace and its mappings to config.json only when given a range', () => {
    const input = {
      rootfs: '/r',
      agentPath: '/a',
      limits: { memoryBytes: 1 << 26, cpus: 1, pids: 8, tmpBytes: 1 << 20, outputBytes: 1024 },
      cgroupsPath: '/faas-oci/x',
      seccomp: { defaultAction: 'SCMP_ACT_ERRNO', architectures: [], syscalls: [] },
      pidsLimit: 16,
      swapAccounting: true,
      annotations: {},
    };
    type Linux = { namespaces: { type: string }[]; uidMappings?: unknown; gidMappings?: unknown };
    const without = bundleSpec(input).linux as Linux;
    assert.ok(!without.namespaces.some((ns) => ns.type === 'user'));
    assert.equal(without.uidMappings, undefined);
    const mapping = slotMapping(5);
    const withNs = bundleSpec({ ...input, idMapping: mapping }).linux as Linux;
    assert.ok(withNs.namespaces.some((ns) => ns.type === 'user'));
    assert.deepEqual(withNs.uidMappings, [mapping]);
    assert.deepEqual(withNs.gidMappings, [mapping]);
  });
});
