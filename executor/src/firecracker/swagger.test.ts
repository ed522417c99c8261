/**
 * The requests the executor sends, checked against Firecracker's own API description: set
 * FAAS_FC_SWAGGER to src/firecracker/swagger/firecracker.yaml of a Firecracker source tree (or a
 * JSON copy). Without it the suite skips with one line. The requests are produced by the
 * executor's own functions (configureAndStart, pauseAndSnapshot, snapshotLoadParams) through the
 * real API client, recorded by a stand-in server and compared with the spec.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { vmSize } from '../vm/size.js';
import { FirecrackerClient } from './api-client.js';
import { logArgs } from './fc-log.js';
import { configureAndStart, pauseAndSnapshot, snapshotLoadParams } from './firecracker-executor.js';
import { jailLayout } from './jailer.js';
import { checkRequest, checkValue, loadSwagger, type RecordedRequest, type Swagger, startRecorder } from './swagger-check.js';

const MIB = 1024 * 1024;
const loaded = loadSwagger(process.env.FAAS_FC_SWAGGER);

if ('skip' in loaded) {
  console.log(`skipping: Firecracker API spec checks: ${loaded.skip}`);
} else {
  const spec: Swagger = loaded.spec;
  let dir: string;
  let recorder: Awaited<ReturnType<typeof startRecorder>>;
  let api: FirecrackerClient;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fc-spec-'));
    recorder = await startRecorder(join(dir, 'api.sock'));
    api = new FirecrackerClient(join(dir, 'api.sock'));
  });

  after(async () => {
    await recorder?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const expectConformant = (requests: RecordedRequest[]) => {
    const problems = requests.flatMap((r) => checkRequest(spec, r));
    assert.deepEqual(problems, [], `against Firecracker API ${spec.info?.version ?? '(unknown version)'}`);
  };

  test('every request up to InstanceStart matches the spec (plain and jailed paths, several VM shapes)', async () => {
    recorder.requests.length = 0;
    const jail = jailLayout({ jailerPath: '/usr/bin/jailer', firecrackerPath: '/opt/firecracker-v1' }, 'abc123', '/run/vm/abc123');
    const shapes = [
      { memoryBytes: 128 * MIB, cpus: 1, pids: 64, tmpBytes: 16 * MIB, outputBytes: MIB },
      { memoryBytes: 2048 * MIB, cpus: 3, pids: 64, tmpBytes: 256 * MIB, outputBytes: MIB },
    ];
    for (const limits of shapes) {
      await configureAndStart(api, vmSize(limits), { kernel: '/work/vmlinux', rootfs: '/work/rootfs.ext4', vsock: 'v.sock' });
      await configureAndStart(api, vmSize(limits), {
        kernel: jail.kernel.inJail,
        rootfs: jail.rootfs.inJail,
        vsock: jail.vsockSocket.inJail,
      });
    }
    await api.describeInstance();
    assert.deepEqual(
      recorder.requests.slice(0, 5).map((r) => `${r.method} ${r.path}`),
      ['PUT /machine-config', 'PUT /boot-source', 'PUT /drives/rootfs', 'PUT /vsock', 'PUT /actions'],
    );
    expectConformant(recorder.requests);
  });

  test('the snapshot requests (pause, create, load) match the spec', async () => {
    recorder.requests.length = 0;
    await pauseAndSnapshot(api, { state: '/snapshot.state', memory: '/snapshot.mem' });
    await api.loadSnapshot(snapshotLoadParams({ state: '/snapshot.state', memory: '/snapshot.mem' }));
    assert.deepEqual(
      recorder.requests.map((r) => `${r.method} ${r.path}`),
      ['PATCH /vm', 'PUT /snapshot/create', 'PUT /snapshot/load'],
    );
    expectConformant(recorder.requests);
  });

  test("the log level passed on Firecracker's command line is one its Logger accepts", () => {
    const args = logArgs('/firecracker.log');
    const level = args[args.indexOf('--level') + 1];
    const logger = spec.definitions.Logger;
    assert.ok(logger, 'the spec defines Logger');
    assert.deepEqual(
      checkValue(spec, logger, { log_path: '/firecracker.log', level, show_level: true, show_log_origin: true }, 'logger'),
      [],
    );
  });

  test('the checker rejects what Firecracker would answer 400 to', () => {
    const bad: RecordedRequest[] = [
      { method: 'PUT', path: '/machine-config', contentType: 'application/json', body: { vcpu_count: 0, mem_size_mib: 128 } },
      { method: 'PUT', path: '/machine-config', contentType: 'application/json', body: { vcpu_count: 1 } },
      {
        method: 'PUT',
        path: '/drives/rootfs',
        contentType: 'application/json',
        body: { drive_id: 'rootfs', is_root_device: true, ro: true },
      },
      { method: 'PUT', path: '/actions', contentType: 'application/json', body: { action_type: 'Start' } },
      { method: 'PUT', path: '/vm', contentType: 'application/json', body: { state: 'Paused' } },
      {
        method: 'PUT',
        path: '/snapshot/load',
        contentType: 'application/json',
        body: { snapshot_path: '/s', mem_backend: { backend_path: '/m' } },
      },
    ];
    for (const request of bad)
      assert.notDeepEqual(checkRequest(spec, request), [], `${request.method} ${request.path} ${JSON.stringify(request.body)}`);
  });
}
