/**
 * The executor's API calls against a real Firecracker binary, up to InstanceStart and through the
 * snapshot flow (pause, create, load into a fresh Firecracker). None of this needs the guest to
 * boot, so it also runs on hosts whose /dev/kvm starts a VM but cannot run a Linux guest (nested
 * PVM): Firecracker's answers are what is checked. Needs FAAS_FC_BINARY_PATH, a usable /dev/kvm
 * device and the guest kernel (FAAS_FC_KERNEL_PATH or .cache/kernel/vmlinux); the jailer part also
 * FAAS_FC_JAILER_PATH and root. Otherwise it skips with one line. With FAAS_FC_SWAGGER set, every
 * request sent is also checked against that spec. Each call and its answer is printed as a
 * diagnostic, for the record.
 */
import assert from 'node:assert/strict';
import { constants, existsSync } from 'node:fs';
import { access, mkdir, mkdtemp, open, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, type TestContext, test } from 'node:test';
import { isFaasError } from '@faas/common';
import { connectUnixSocket } from '../vm/connect.js';
import { FirecrackerApiError, FirecrackerClient } from './api-client.js';
import { FirecrackerProcess, LOG_FILE, logArgs, prepareLogFile, withLogCause } from './fc-log.js';
import { moveOut, snapshotPathsFor } from './fc-snapshot.js';
import { configureAndStart, pauseAndSnapshot, snapshotLoadParams } from './firecracker-executor.js';
import { elfInterpreter, type JailLayout, populateJail, resolveJailLayout } from './jailer.js';
import { checkRequest, loadSwagger, type RecordedRequest } from './swagger-check.js';

const repo = resolve(import.meta.dirname, '../../..');
const binary = process.env.FAAS_FC_BINARY_PATH;
const kernel = process.env.FAAS_FC_KERNEL_PATH ?? join(repo, '.cache/kernel/vmlinux');
const jailerPath = process.env.FAAS_FC_JAILER_PATH;
const SIZE = { memoryMib: 64, cpus: 1, tmpMib: 8 };

async function unavailable(): Promise<string | undefined> {
  if (!binary || !existsSync(binary)) return 'FAAS_FC_BINARY_PATH is not set to a firecracker binary';
  try {
    await access('/dev/kvm', constants.R_OK | constants.W_OK);
  } catch {
    return 'no usable /dev/kvm';
  }
  if (!existsSync(kernel)) return `no guest kernel at ${kernel}`;
  return undefined;
}

/** A client that keeps every request with Firecracker's answer. */
class RecordingClient extends FirecrackerClient {
  readonly calls: Array<RecordedRequest & { answer: string }> = [];

  override async request(method: 'GET' | 'PUT' | 'PATCH', path: string, body?: object): Promise<unknown> {
    const call = { method, path, contentType: body ? 'application/json' : undefined, body: body as unknown, answer: '' };
    this.calls.push(call);
    try {
      const result = await super.request(method, path, body);
      call.answer = result === undefined ? '204 No Content' : `200 ${JSON.stringify(result)}`;
      return result;
    } catch (err) {
      call.answer = err instanceof FirecrackerApiError ? `${err.statusCode} ${err.faultMessage}` : `failed: ${(err as Error).message}`;
      throw err;
    }
  }
}

const reason = await unavailable();
if (reason) {
  console.log(`skipping: real Firecracker API checks: ${reason}`);
} else {
  const spec = loadSwagger(process.env.FAAS_FC_SWAGGER);
  let dir: string;
  let rootfs: string;
  const started: FirecrackerProcess[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fc-real-'));
    // Firecracker opens the drive at InstanceStart but never reads it unless the guest does.
    rootfs = process.env.FAAS_FC_ROOTFS_PATH ?? join(dir, 'rootfs.ext4');
    if (!process.env.FAAS_FC_ROOTFS_PATH) await writeFile(rootfs, Buffer.alloc(1024 * 1024));
  });

  after(async () => {
    await Promise.all(started.map((vmm) => vmm.stop(0)));
    await rm(dir, { recursive: true, force: true });
  });

  /** A plain Firecracker as the executor starts it: own working dir, API socket, log file. */
  async function startPlain(name: string): Promise<{ vmm: FirecrackerProcess; api: RecordingClient; cwd: string; log: string }> {
    const cwd = join(dir, name);
    await mkdir(cwd);
    const log = join(cwd, LOG_FILE);
    await prepareLogFile(log);
    const console = await open(join(cwd, 'console.log'), 'a');
    const args = ['--api-sock', join(cwd, 'api.sock'), '--id', name, ...logArgs(log)];
    const vmm = new FirecrackerProcess(binary as string, args, { cwd, stdoutFd: console.fd }, log);
    await console.close();
    started.push(vmm);
    (await connectUnixSocket(join(cwd, 'api.sock'), { vmm, deadline: Date.now() + 10_000, what: 'the API socket' })).destroy();
    return { vmm, api: new RecordingClient(join(cwd, 'api.sock')), cwd, log };
  }

  function report(t: TestContext, api: RecordingClient): void {
    for (const call of api.calls)
      t.diagnostic(`${call.method} ${call.path} ${call.body === undefined ? '' : JSON.stringify(call.body)} -> ${call.answer}`);
    if ('spec' in spec)
      assert.deepEqual(
        api.calls.flatMap((call) => checkRequest(spec.spec, call)),
        [],
      );
    else t.diagnostic(`not checked against the API spec: ${spec.skip}`);
  }

  test('a real Firecracker accepts the boot sequence, and a snapshot of it loads into a fresh one', async (t) => {
    const first = await startPlain('boot');
    const info = await first.api.describeInstance();
    t.diagnostic(`firecracker ${info.vmm_version}`);
    // Exactly what launch() sends for a cold boot; the vsock path is relative to the working dir.
    await configureAndStart(first.api, SIZE, { kernel, rootfs, vsock: 'v.sock' });
    assert.equal((await first.api.describeInstance()).state, 'Running');
    assert.ok((await stat(join(first.cwd, 'v.sock'))).isSocket(), 'the vsock socket is created relative to the working dir');

    const files = { state: join(dir, 'vm.state'), memory: join(dir, 'vm.memory') };
    await pauseAndSnapshot(first.api, files);
    assert.equal((await first.api.describeInstance()).state, 'Paused');
    assert.equal((await stat(files.memory)).size, SIZE.memoryMib * 1024 * 1024);
    assert.ok((await stat(files.state)).size > 0);
    report(t, first.api);
    await first.vmm.stop(0);

    const second = await startPlain('restore');
    await second.api.loadSnapshot(snapshotLoadParams(files));
    assert.equal((await second.api.describeInstance()).state, 'Running');
    assert.ok((await stat(join(second.cwd, 'v.sock'))).isSocket(), "the saved relative uds_path is re-created in the new VM's working dir");
    report(t, second.api);
    await second.vmm.stop(0);
  });

  test("a failed load ends Firecracker, and its exit carries the cause from Firecracker's log", async (t) => {
    const vm = await startPlain('bad-load');
    const state = join(dir, 'garbage.state');
    await writeFile(state, 'not a snapshot');
    await writeFile(join(dir, 'garbage.memory'), '');
    const err = await vm.api.loadSnapshot(snapshotLoadParams({ state, memory: join(dir, 'garbage.memory') })).catch((e: unknown) => e);
    assert.ok(err instanceof FirecrackerApiError, String(err));
    assert.equal(err.statusCode, 400);
    const exit = await Promise.race([vm.vmm.exited, new Promise((r) => setTimeout(() => r(undefined), 5000))]);
    report(t, vm.api);
    if (exit) {
      const described = vm.vmm.describeExit() ?? '';
      t.diagnostic(`exit: ${described}`);
      assert.match(described, /\(Firecracker log: .+\)/);
    } else {
      t.diagnostic('this Firecracker stays up after a failed load');
    }
    const withCause = withLogCause(err, vm.log);
    assert.ok(isFaasError(withCause, 'FAAS_ERR_SANDBOX_FAILURE'));
    t.diagnostic(`error: ${(withCause as Error).message}`);
  });

  // The executor refuses a dynamically linked binary under the jailer (its empty chroot has no
  // loader): the test skips for the same reason rather than fail on the jailer's exec.
  const loader = binary && jailerPath ? await elfInterpreter(binary).catch(() => undefined) : undefined;
  const jailerSkip = !jailerPath
    ? 'FAAS_FC_JAILER_PATH is not set'
    : process.getuid?.() !== 0
      ? 'the jailer needs root'
      : !existsSync(jailerPath)
        ? `no jailer at ${jailerPath}`
        : loader
          ? `${binary} is dynamically linked (loader ${loader}): the jailer needs a static build`
          : undefined;
  test('under the jailer, through symlinked binary and kernel: boot sequence, snapshot, restore', { skip: jailerSkip }, async (t) => {
    const links = join(dir, 'links');
    await mkdir(links);
    // Installed the way release tarballs are: a short name pointing at a versioned file.
    await symlink(resolve(binary as string), join(links, 'fc'));
    await symlink(resolve(kernel), join(links, 'vmlinux'));

    async function startJailed(name: string): Promise<{ layout: JailLayout; vmm: FirecrackerProcess; api: RecordingClient }> {
      const stateDir = join(dir, name);
      await mkdir(stateDir);
      const layout = await resolveJailLayout({ jailerPath: jailerPath as string, firecrackerPath: join(links, 'fc') }, name, stateDir);
      await populateJail(layout, join(links, 'vmlinux'), rootfs, 65534, 65534);
      const console = await open(join(stateDir, 'console.log'), 'a');
      const vmm = new FirecrackerProcess(jailerPath as string, layout.args, { cwd: stateDir, stdoutFd: console.fd }, layout.log.host);
      await console.close();
      started.push(vmm);
      (await connectUnixSocket(layout.apiSocket.host, { vmm, deadline: Date.now() + 10_000, what: 'the jailed API socket' })).destroy();
      return { layout, vmm, api: new RecordingClient(layout.apiSocket.host) };
    }

    const first = await startJailed('jailed-boot');
    t.diagnostic(`jail root: ${first.layout.root}`);
    await configureAndStart(first.api, SIZE, {
      kernel: first.layout.kernel.inJail,
      rootfs: first.layout.rootfs.inJail,
      vsock: first.layout.vsockSocket.inJail,
    });
    assert.equal((await first.api.describeInstance()).state, 'Running');
    assert.ok((await stat(first.layout.vsockSocket.host)).isSocket());
    await pauseAndSnapshot(first.api, { state: '/snapshot.state', memory: '/snapshot.mem' });
    const cached = { state: join(dir, 'jailed.state'), memory: join(dir, 'jailed.memory') };
    await moveOut(join(first.layout.root, 'snapshot.state'), cached.state);
    await moveOut(join(first.layout.root, 'snapshot.mem'), cached.memory);
    report(t, first.api);
    await first.vmm.stop(0);

    const second = await startJailed('jailed-restore');
    await second.api.loadSnapshot(snapshotLoadParams(await snapshotPathsFor(second.layout, cached)));
    assert.equal((await second.api.describeInstance()).state, 'Running');
    assert.ok((await stat(second.layout.vsockSocket.host)).isSocket());
    report(t, second.api);
    await second.vmm.stop(0);
  });
}
