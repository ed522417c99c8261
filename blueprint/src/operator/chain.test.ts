import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isRevert, isTransient } from './chain.js';

const error = (name: string, cause?: unknown) => Object.assign(new Error(name), { name, cause });

describe('which RPC failures are retried', () => {
  it('retries an unreachable or slow node, also inside a contract read or an estimate', () => {
    assert.equal(isTransient(error('HttpRequestError')), true);
    assert.equal(isTransient(error('TimeoutError')), true);
    assert.equal(isTransient(error('ContractFunctionExecutionError', error('CallExecutionError', error('HttpRequestError')))), true);
    assert.equal(isTransient(error('EstimateGasExecutionError', error('HttpRequestError'))), true);
    assert.equal(isTransient(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' })), true);
  });

  it('does not retry a revert or a request the node refuses', () => {
    assert.equal(isTransient(error('EstimateGasExecutionError', error('ExecutionRevertedError'))), false);
    assert.equal(isTransient(error('ContractFunctionExecutionError', error('ContractFunctionRevertedError'))), false);
    assert.equal(isTransient(error('RpcRequestError')), false);
  });

  it('tells a revert (the contract refuses) from other failures', () => {
    assert.equal(isRevert(error('EstimateGasExecutionError', error('ExecutionRevertedError', error('RpcRequestError')))), true);
    assert.equal(isRevert(error('EstimateGasExecutionError', error('InsufficientFundsError'))), false);
    assert.equal(isRevert(error('HttpRequestError')), false);
  });
});
