import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type AbiParameter, decodeAbiParameters, encodeAbiParameters, type Hex, hexToBytes } from 'viem';
import { EXECUTE_INPUTS, INPUT_ROOM_BYTES, INVOKE_INPUTS, RESULT, RESULT_MAX_STREAM_BYTES, RESULT_MAX_TEXT_BYTES } from '../jobs.js';
import { decodeJobInputs, encodeExecuteInputs, encodeInvokeInputs, JobInputError } from './inputs.js';
import { decodeResult, encodeResult, type JobResult, RESULT_MAX_BYTES } from './results.js';
import { readParams } from './strict.js';

const MAX = 6 * 1024 * 1024 + INPUT_ROOM_BYTES;
const bytes = (hex: Hex) => hexToBytes(hex);
type Abi = readonly AbiParameter[];

function rejects(job: number, data: Uint8Array, pattern: RegExp, code = 'FAAS_ERR_INVALID_JOB_INPUT') {
  assert.throws(
    () => decodeJobInputs(job, data, MAX),
    (err: unknown) => err instanceof JobInputError && err.code === code && pattern.test(err.message),
  );
}

describe('job inputs', () => {
  it('round-trips job 0 through viem encoding and the strict reader', () => {
    const hex = encodeExecuteInputs({
      image: 'faas/busybox:latest',
      command: ['sh', '-c', 'echo héllo'],
      env: ['A=1', 'B='],
      stdin: Buffer.from('in'),
      timeoutMs: 5000,
      executor: 'docker',
      memoryMb: 64,
      cpuMillis: 500,
      pids: 32,
    });
    const decoded = decodeJobInputs(0, bytes(hex), MAX);
    assert.equal(decoded.job, 0);
    assert.deepEqual(decoded.inputs, {
      image: 'faas/busybox:latest',
      command: ['sh', '-c', 'echo héllo'],
      env: ['A=1', 'B='],
      stdin: new Uint8Array(Buffer.from('in')),
      timeoutMs: 5000,
      executor: 'docker',
      memoryMb: 64,
      cpuMillis: 500,
      pids: 32,
    });
  });

  it('round-trips job 1, with empty lists and bytes', () => {
    const decoded = decodeJobInputs(1, bytes(encodeInvokeInputs({ functionId: 'hello' })), MAX);
    assert.deepEqual(decoded, { job: 1, inputs: { functionId: 'hello', stdin: new Uint8Array(), env: [], timeoutMs: 0 } });
  });

  it('agrees with viem on random values', () => {
    for (let n = 0; n < 50; n++) {
      const rand = (k: number) => Math.floor(Math.random() * k);
      const str = () => String.fromCodePoint(...Array.from({ length: rand(70) }, () => 0x20 + rand(0x2000)));
      const values = [1, str(), Array.from({ length: rand(5) }, str), Buffer.from(str()), rand(2 ** 32)] as const;
      const hex = encodeAbiParameters(INVOKE_INPUTS as unknown as Abi, [
        values[0],
        values[1],
        `0x${values[3].toString('hex')}`,
        values[2],
        values[4],
      ]);
      const ours = readParams(bytes(hex), INVOKE_INPUTS);
      const theirs = decodeAbiParameters(INVOKE_INPUTS as unknown as Abi, hex);
      assert.equal(ours.functionId, theirs[1]);
      assert.deepEqual(ours.env, theirs[3]);
      assert.equal(Buffer.from(ours.stdin as Uint8Array).toString('hex'), (theirs[2] as string).slice(2));
      assert.equal(ours.timeoutMs, theirs[4]);
    }
  });

  it('rejects an unknown job index with its own code', () => {
    rejects(7, bytes(encodeInvokeInputs({ functionId: 'x' })), /job 7 is not a job/, 'FAAS_ERR_UNKNOWN_JOB');
  });

  it('rejects oversized inputs unread', () => {
    assert.throws(
      () => decodeJobInputs(1, new Uint8Array(2048), 1024),
      (err: unknown) => err instanceof JobInputError && /2048 bytes; at most 1024/.test(err.message),
    );
  });

  it('rejects empty, short, ragged and trailing data', () => {
    rejects(0, new Uint8Array(), /too short to hold a version/);
    rejects(1, new Uint8Array(31), /too short/);
    const good = bytes(encodeInvokeInputs({ functionId: 'x' }));
    rejects(1, good.subarray(0, good.length - 32), /ends|shorter|announced/);
    rejects(1, new Uint8Array([...good, 0]), /whole number of 32-byte words/);
    rejects(1, new Uint8Array([...good, ...new Uint8Array(32)]), /32 bytes follow the last parameter/);
  });

  it('rejects another layout version', () => {
    const other = bytes(encodeAbiParameters(INVOKE_INPUTS as unknown as Abi, [2, 'x', '0x', [], 0]));
    rejects(1, other, /layout version 2; this operator reads version 1/);
  });

  it('rejects the inputs of the other job (their layout does not fit)', () => {
    rejects(0, bytes(encodeInvokeInputs({ functionId: 'x', env: ['A=1'] })), /./);
    rejects(1, bytes(encodeExecuteInputs({ image: 'i', command: ['c'] })), /./);
  });

  it('rejects non-canonical offsets: overlapping values that would decode to far more than was sent', () => {
    // A string[] of 100 elements all pointing at one string: a generic decoder reads it 100 times.
    const data = Buffer.from(encodeInvokeInputs({ functionId: 'x', env: Array.from({ length: 100 }, () => 'A=1') }).slice(2), 'hex');
    const envAt = Number(BigInt(`0x${data.subarray(3 * 32, 4 * 32).toString('hex')}`));
    const firstElement = data.subarray(envAt + 32, envAt + 64);
    data.set(firstElement, envAt + 64); // element 1 now points at element 0
    rejects(1, new Uint8Array(data), /env\[1\]: its offset is 3200, but the canonical encoding puts it at 3264/);
  });

  it('rejects dirty padding, out-of-range integers, bad booleans and invalid UTF-8', () => {
    const base = Buffer.from(encodeInvokeInputs({ functionId: 'abc', timeoutMs: 1 }).slice(2), 'hex');
    const padding = Buffer.from(base);
    padding[5 * 32 + 32 + 3] = 1; // the byte after "abc" in functionId's padding
    rejects(1, new Uint8Array(padding), /functionId: its padding is not zero/);
    const wide = Buffer.from(base);
    wide[4 * 32 + 27] = 1; // timeoutMs above 2^32
    rejects(1, new Uint8Array(wide), /timeoutMs: .* does not fit in uint32/);
    const version = Buffer.from(base);
    version[0] = 1; // a version word above 255
    rejects(1, new Uint8Array(version), /version: .* does not fit in uint8/);
    const utf = Buffer.from(base);
    utf[5 * 32 + 32] = 0xff;
    rejects(1, new Uint8Array(utf), /functionId: not valid UTF-8/);
    const decoded = readParams(bytes(encodeAbiParameters(RESULT as unknown as Abi, resultValues({ truncated: true }))), RESULT);
    assert.equal(decoded.truncated, true);
    const badBool = Buffer.from(encodeAbiParameters(RESULT as unknown as Abi, resultValues({ truncated: true })).slice(2), 'hex');
    badBool[7 * 32 + 31] = 2;
    assert.throws(() => readParams(new Uint8Array(badBool), RESULT), /truncated: .* is not a bool/);
  });

  it('rejects announced lengths larger than the data without allocating them', () => {
    const data = Buffer.from(encodeInvokeInputs({ functionId: 'abc' }).slice(2), 'hex');
    data.writeUIntBE(0xffffffffffff, 5 * 32 + 26, 6); // functionId's length: 2^48 - 1
    rejects(1, new Uint8Array(data), /functionId \(length\): .* is more than/);
    const count = Buffer.from(encodeInvokeInputs({ functionId: 'abc' }).slice(2), 'hex');
    const envAt = Number(BigInt(`0x${count.subarray(3 * 32, 4 * 32).toString('hex')}`));
    count.writeUIntBE(100, envAt + 26, 6);
    rejects(1, new Uint8Array(count), /env: 100 elements are announced, but the data ends first/);
  });

  it('reads job 0 with every field at its default', () => {
    const decoded = decodeJobInputs(0, bytes(encodeExecuteInputs({ image: 'faas/busybox', command: ['true'] })), MAX);
    assert.deepEqual(decoded.inputs, {
      image: 'faas/busybox',
      command: ['true'],
      env: [],
      stdin: new Uint8Array(),
      timeoutMs: 0,
      executor: '',
      memoryMb: 0,
      cpuMillis: 0,
      pids: 0,
    });
    assert.equal(EXECUTE_INPUTS.length, 10);
  });
});

function resultValues(over: { truncated?: boolean } = {}) {
  return [1, 'id', 0, 0, '', '0x', '0x', over.truncated ?? false, '', '', 5] as const;
}

describe('job results', () => {
  const result: JobResult = {
    invocationId: '3f1c',
    status: 'completed',
    exitCode: 3,
    signal: null,
    stdout: Buffer.from('out'),
    stderr: Buffer.from('err'),
    truncated: false,
    errorCode: null,
    error: 'exited with code 3',
    durationMs: 12.6,
  };

  it('round-trips, with null fields as empty or -1', () => {
    assert.deepEqual(decodeResult(bytes(encodeResult(result))), {
      ...result,
      stdout: new Uint8Array(Buffer.from('out')),
      stderr: new Uint8Array(Buffer.from('err')),
      durationMs: 13,
    });
    const killed = decodeResult(bytes(encodeResult({ ...result, exitCode: null, signal: 'SIGKILL', status: 'out_of_memory' })));
    assert.equal(killed.exitCode, null);
    assert.equal(killed.signal, 'SIGKILL');
    assert.equal(killed.status, 'out_of_memory');
  });

  it('cuts streams and texts to the bounds of a result, and says so', () => {
    const big = { ...result, stdout: Buffer.alloc(RESULT_MAX_STREAM_BYTES + 10, 0x61), error: 'é'.repeat(RESULT_MAX_TEXT_BYTES) };
    const encoded = bytes(encodeResult(big));
    assert.ok(encoded.length <= RESULT_MAX_BYTES, `${encoded.length} > ${RESULT_MAX_BYTES}`);
    const decoded = decodeResult(encoded);
    assert.equal(decoded.stdout.length, RESULT_MAX_STREAM_BYTES);
    assert.equal(decoded.truncated, true);
    assert.ok(Buffer.byteLength(decoded.error ?? '') <= RESULT_MAX_TEXT_BYTES);
    assert.ok(decoded.error?.endsWith('é'));
    const worst = bytes(
      encodeResult({
        ...big,
        stderr: big.stdout,
        invocationId: 'x'.repeat(5000),
        signal: 'x'.repeat(5000),
        errorCode: 'x'.repeat(5000),
      }),
    );
    assert.ok(worst.length <= RESULT_MAX_BYTES, `${worst.length} > ${RESULT_MAX_BYTES}`);
  });

  it('refuses an unknown status', () => {
    const hex = encodeAbiParameters(RESULT as unknown as Abi, [1, 'id', 9, 0, '', '0x', '0x', false, '', '', 5]);
    assert.throws(() => decodeResult(bytes(hex)), /status 9/);
  });
});
