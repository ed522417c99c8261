/**
 * Firecracker's log and the causes taken from it. The sample lines are what a real Firecracker
 * (v1.17.0-dev, --level Warning --show-level --show-log-origin) wrote when its guest died and when
 * a snapshot load failed.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { FaasError } from '@faas/common';
import { FirecrackerApiError } from './api-client.js';
import { FirecrackerProcess, logArgs, logCause, prepareLogFile, readLogCause, withLogCause } from './fc-log.js';

const GUEST_DIED = [
  '2026-11-29T17:23:51.716615514 [b:fc_vcpu 0:WARN:src/vmm/src/vstate/vcpu.rs:323] Received a VcpuEvent::Resume message with immediate_exit enabled. immediate_exit was disabled before proceeding',
  '2026-11-29T17:24:19.414092614 [b:fc_vcpu 0:ERROR:src/vmm/src/vstate/vcpu.rs:480] Received KVM_EXIT_INTERNAL_ERROR signal',
  '2026-11-29T17:24:19.517257223 [b:main:ERROR:src/firecracker/src/main.rs:110] RunWithApiError error: MicroVM stopped with an error: GenericError',
  '2026-11-29T17:24:19.517307127 [b:main:ERROR:src/firecracker/src/main.rs:113] Firecracker exiting with error. exit_code=1',
  '',
].join('\n');

const LOAD_FAILED = [
  '2026-11-29T17:23:29.104108738 [b:fc_api:ERROR:src/firecracker/src/api_server/parsed_request.rs:225] Received Error. Status code: 400 Bad Request. Message: Load snapshot error: Failed to restore from snapshot: Failed to build microVM from snapshot: Failed to restore devices: Error restoring MMIO devices: VsockUnixBackend: Error binding to the host-side Unix socket: Address already in use (os error 98)',
  '2026-11-29T17:23:29.106500095 [b:main:ERROR:src/firecracker/src/main.rs:110] RunWithApiError error: Failed to build MicroVM: Loading snapshot failed..',
  '2026-11-29T17:23:29.106528267 [b:main:ERROR:src/firecracker/src/main.rs:113] Firecracker exiting with error. exit_code=1',
].join('\n');

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fc-log-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('the cause is the last error lines, oldest first, without the exit boilerplate', () => {
  assert.equal(
    logCause(GUEST_DIED),
    'Received KVM_EXIT_INTERNAL_ERROR signal | RunWithApiError error: MicroVM stopped with an error: GenericError',
  );
});

test('warnings are not causes (Firecracker logs some on every start); nothing recognisable gives no cause', () => {
  const warnings = GUEST_DIED.split('\n').slice(0, 1).join('\n');
  assert.equal(logCause(warnings), undefined);
  assert.equal(logCause(''), undefined);
  assert.equal(logCause('[    0.000000] Linux version 6.1\nplain console text\n'), undefined);
  // Firecracker before --show-level, or a console line: no level, no cause.
  assert.equal(logCause('2026-11-29T17:23:29.1 [anonymous-instance:main] Running Firecracker v1.17.0'), undefined);
});

test('older formats without the origin, repeated lines and very long lines', () => {
  const text = [
    '2023-01-01T00:00:00.000000000 [anonymous-instance:fc_vcpu 1:ERROR] Failure in vcpu 1: io error',
    '2023-01-01T00:00:00.000000001 [anonymous-instance:fc_vcpu 1:ERROR] Failure in vcpu 1: io error',
    `2023-01-01T00:00:00.000000002 [anonymous-instance:main:ERROR] ${'x'.repeat(2000)}`,
  ].join('\n');
  const cause = logCause(text) ?? '';
  assert.match(cause, /^Failure in vcpu 1: io error \| x+\.\.\.$/);
  assert.ok(cause.length <= 603);
});

test('only the end of a long log is read, and a missing log gives no cause', async () => {
  const path = join(dir, 'long.log');
  // An error far back, then more than the tail's worth of lines without a level.
  const ancient = '2026-11-29T00:00:00.0 [a:main:ERROR:x.rs:1] ancient error\n';
  const filler = '2026-11-29T00:00:00.0 [a:main] an unlevelled line of some length\n'.repeat(1000);
  await writeFile(path, ancient + filler + GUEST_DIED);
  assert.equal(
    readLogCause(path),
    'Received KVM_EXIT_INTERNAL_ERROR signal | RunWithApiError error: MicroVM stopped with an error: GenericError',
  );
  assert.equal(readLogCause(join(dir, 'absent.log')), undefined);
});

test('a FaasError gets the cause appended once; what it already says is not repeated', async () => {
  const path = join(dir, 'load.log');
  await writeFile(path, LOAD_FAILED);
  const fault =
    'Load snapshot error: Failed to restore from snapshot: Failed to build microVM from snapshot: Failed to restore devices: Error restoring MMIO devices: VsockUnixBackend: Error binding to the host-side Unix socket: Address already in use (os error 98)';
  const apiError = new FirecrackerApiError('PUT', '/snapshot/load', 400, fault);
  const withCause = withLogCause(apiError, path) as FaasError;
  assert.equal(
    withCause.message,
    `${apiError.message} (Firecracker log: RunWithApiError error: Failed to build MicroVM: Loading snapshot failed..)`,
  );
  assert.equal(withCause.code, 'FAAS_ERR_SANDBOX_FAILURE');

  const plain = new FaasError('FAAS_ERR_SANDBOX_FAILURE', 'the guest agent did not accept vsock port 52 in time');
  await writeFile(path, GUEST_DIED);
  assert.match((withLogCause(plain, path) as Error).message, /in time \(Firecracker log: Received KVM_EXIT_INTERNAL_ERROR signal \| /);
  const abort = new DOMException('aborted', 'AbortError');
  assert.equal(withLogCause(abort, path), abort);
  assert.equal(withLogCause(plain, join(dir, 'absent.log')), plain);
});

test("a dead Firecracker's exit names the logged cause instead of a bare GenericError", async () => {
  const path = join(dir, 'exit.log');
  await prepareLogFile(path);
  assert.equal((await stat(path)).mode & 0o777, 0o600);
  // Stands in for Firecracker: writes its log the way it does, its stderr line, and exits 1.
  const script = `printf '%s' "$2" >> "$1"; echo 'Error: RunWithApi(MicroVMStoppedWithError(GenericError))' >&2; exit 1`;
  const vmm = new FirecrackerProcess('sh', ['-c', script, 'sh', path, GUEST_DIED], {}, path);
  await vmm.exited;
  assert.equal(
    vmm.describeExit(),
    'exited with code 1: Error: RunWithApi(MicroVMStoppedWithError(GenericError)) (Firecracker log: Received KVM_EXIT_INTERNAL_ERROR signal | RunWithApiError error: MicroVM stopped with an error: GenericError)',
  );
});

test('the log arguments name the file and show levels', () => {
  assert.deepEqual(logArgs('/x/firecracker.log'), [
    '--log-path',
    '/x/firecracker.log',
    '--level',
    'Warning',
    '--show-level',
    '--show-log-origin',
  ]);
});
