import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { isFaasError } from '@faas/common';
import { FirecrackerApiError, FirecrackerClient } from './api-client.js';

/** Fields each endpoint requires and allows, after Firecracker's OpenAPI description. */
const SCHEMA: Record<string, { required: string[]; allowed: string[] }> = {
  '/machine-config': {
    required: ['vcpu_count', 'mem_size_mib'],
    allowed: ['vcpu_count', 'mem_size_mib', 'smt', 'track_dirty_pages', 'cpu_template', 'huge_pages'],
  },
  '/boot-source': { required: ['kernel_image_path'], allowed: ['kernel_image_path', 'boot_args', 'initrd_path'] },
  '/drives/rootfs': {
    required: ['drive_id', 'is_root_device'],
    allowed: ['drive_id', 'path_on_host', 'is_root_device', 'is_read_only', 'cache_type', 'io_engine', 'partuuid', 'rate_limiter'],
  },
  '/vsock': { required: ['guest_cid', 'uds_path'], allowed: ['guest_cid', 'uds_path', 'vsock_id'] },
  '/actions': { required: ['action_type'], allowed: ['action_type'] },
  '/vm': { required: ['state'], allowed: ['state'] },
  '/snapshot/create': { required: ['snapshot_path', 'mem_file_path'], allowed: ['snapshot_type', 'snapshot_path', 'mem_file_path'] },
  '/snapshot/load': {
    required: ['snapshot_path'],
    allowed: [
      'enable_diff_snapshots',
      'track_dirty_pages',
      'mem_file_path',
      'mem_backend',
      'snapshot_path',
      'resume_vm',
      'network_overrides',
      'vsock_override',
      'clock_realtime',
      'huge_pages',
    ],
  },
};

let dir: string;
let server: http.Server;
const seen: Array<{ method: string; path: string; body: Record<string, unknown> }> = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fc-api-'));
  // A stand-in for Firecracker that validates bodies against SCHEMA and answers like it does.
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '';
      if (req.method === 'GET' && path === '/') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ app_name: 'Firecracker', id: 'x', state: 'Not started', vmm_version: '1.0.0' }));
        return;
      }
      const body = JSON.parse(Buffer.concat(chunks).toString() || '{}') as Record<string, unknown>;
      seen.push({ method: req.method ?? '', path, body });
      const schema = SCHEMA[path];
      const bad = !schema
        ? `unknown path ${path}`
        : [
            ...schema.required.filter((k) => !(k in body)).map((k) => `missing ${k}`),
            ...Object.keys(body)
              .filter((k) => !schema.allowed.includes(k))
              .map((k) => `unknown field ${k}`),
          ][0];
      if (req.headers['content-type'] !== 'application/json') {
        res.writeHead(400).end(JSON.stringify({ fault_message: 'content-type must be JSON' }));
      } else if (bad) {
        res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ fault_message: bad }));
      } else {
        res.writeHead(204).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(join(dir, 'api.sock'), resolve));
});

after(async () => {
  await new Promise((resolve) => server.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

test('the boot sequence sends schema-conformant PUTs', async () => {
  const api = new FirecrackerClient(join(dir, 'api.sock'));
  await api.putMachineConfig({ vcpu_count: 2, mem_size_mib: 256, smt: false });
  await api.putBootSource({ kernel_image_path: '/vmlinux', boot_args: 'console=ttyS0' });
  await api.putDrive({ drive_id: 'rootfs', path_on_host: '/rootfs.ext4', is_root_device: true, is_read_only: true });
  await api.putVsock({ guest_cid: 3, uds_path: '/v.sock' });
  await api.action('InstanceStart');
  assert.deepEqual(
    seen.map((s) => `${s.method} ${s.path}`),
    ['PUT /machine-config', 'PUT /boot-source', 'PUT /drives/rootfs', 'PUT /vsock', 'PUT /actions'],
  );
  assert.equal((await api.describeInstance()).state, 'Not started');
});

test('the snapshot calls send schema-conformant bodies with the right methods', async () => {
  const api = new FirecrackerClient(join(dir, 'api.sock'));
  seen.length = 0;
  await api.patchVm('Paused');
  await api.createSnapshot({ snapshot_type: 'Full', snapshot_path: '/snapshot.state', mem_file_path: '/snapshot.mem' });
  await api.loadSnapshot({
    snapshot_path: '/snapshot.state',
    mem_backend: { backend_type: 'File', backend_path: '/snapshot.mem' },
    resume_vm: true,
  });
  assert.deepEqual(
    seen.map((s) => `${s.method} ${s.path}`),
    ['PATCH /vm', 'PUT /snapshot/create', 'PUT /snapshot/load'],
  );
  assert.deepEqual(seen[2]?.body.mem_backend, { backend_type: 'File', backend_path: '/snapshot.mem' });
});

test('an error answer becomes a FirecrackerApiError with the fault message', async () => {
  const api = new FirecrackerClient(join(dir, 'api.sock'));
  const err = await api.request('PUT', '/vsock', { guest_cid: 3 }).catch((e: unknown) => e);
  assert.ok(err instanceof FirecrackerApiError);
  assert.equal(err.statusCode, 400);
  assert.equal(err.faultMessage, 'missing uds_path');
  assert.ok(isFaasError(err, 'FAAS_ERR_SANDBOX_FAILURE'));
});

test('an unreachable socket is a sandbox failure, not a crash', async () => {
  const api = new FirecrackerClient(join(dir, 'missing.sock'), 500);
  await assert.rejects(api.action('InstanceStart'), (err: unknown) => isFaasError(err, 'FAAS_ERR_SANDBOX_FAILURE'));
});

test('drive ids are checked before they reach a URL path', async () => {
  const api = new FirecrackerClient(join(dir, 'api.sock'));
  await assert.rejects(api.putDrive({ drive_id: '../x', path_on_host: '/x', is_root_device: false, is_read_only: true }));
});
