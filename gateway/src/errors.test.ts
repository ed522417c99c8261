import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FaasError } from '@faas/common';
import { errorBody, toFaasError } from './errors.js';

describe('toFaasError', () => {
  it('never reads a status code from an error that is not the HTTP framework own (an engine 400 is a platform fault)', () => {
    const engine = Object.assign(new Error('no such image: x: repository name must not be more than 255 characters'), {
      statusCode: 400,
    });
    assert.equal(toFaasError(engine).code, 'FAAS_ERR_INTERNAL');
    assert.equal(toFaasError(Object.assign(new Error('x'), { statusCode: 413 })).code, 'FAAS_ERR_INTERNAL');
  });

  it('maps the framework errors by their code, and keeps registry errors as they are', () => {
    const fst = (code: string, statusCode: number) => Object.assign(new Error('m'), { code, statusCode });
    assert.equal(toFaasError(fst('FST_ERR_CTP_BODY_TOO_LARGE', 413)).code, 'FAAS_ERR_BODY_TOO_LARGE');
    assert.equal(toFaasError(fst('FST_ERR_CTP_INVALID_JSON_BODY', 400)).code, 'FAAS_ERR_INVALID_JSON');
    assert.equal(toFaasError(fst('FST_ERR_SOMETHING_NEW', 400)).code, 'FAAS_ERR_INVALID_REQUEST');
    assert.equal(toFaasError(new SyntaxError('Unexpected token')).code, 'FAAS_ERR_INVALID_JSON');
    const own = new FaasError('FAAS_ERR_INVALID_IMAGE', 'bad');
    assert.equal(toFaasError(own), own);
  });
});

describe('errorBody', () => {
  it('a 502 always says started: as the fault says, else true (it may have)', () => {
    const before = new FaasError('FAAS_ERR_SANDBOX_FAILURE', 'agent refused', { details: { started: false } });
    assert.deepEqual(errorBody(before, 'inv-1'), {
      error: 'agent refused',
      code: 'FAAS_ERR_SANDBOX_FAILURE',
      started: false,
      invocation_id: 'inv-1',
    });
    const silent = new FaasError('FAAS_ERR_SANDBOX_LOST', 'gone');
    assert.deepEqual(errorBody(silent), { error: 'gone', code: 'FAAS_ERR_SANDBOX_LOST', started: true });
    assert.equal(silent.details, undefined, 'the fault itself is not changed');
    // Other statuses carry no started.
    assert.deepEqual(errorBody(new FaasError('FAAS_ERR_EXECUTOR_UNAVAILABLE', 'down')), {
      error: 'down',
      code: 'FAAS_ERR_EXECUTOR_UNAVAILABLE',
    });
  });
});
