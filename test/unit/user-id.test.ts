import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HttpError } from '../../src/http/errors';
import { MAX_USER_ID, parseUserId } from '../../src/http/user-id';

function rejection(raw: string): HttpError {
  try {
    parseUserId(raw);
  } catch (error) {
    assert.ok(error instanceof HttpError);
    return error;
  }
  assert.fail(`${raw} was accepted`);
}

describe('parseUserId', () => {
  it('accepts plain decimals, leading zeros included', () => {
    assert.equal(parseUserId('0'), 0);
    assert.equal(parseUserId('42'), 42);
    assert.equal(parseUserId('007'), 7);
    assert.equal(parseUserId(String(MAX_USER_ID)), MAX_USER_ID);
    assert.equal(parseUserId(`000000000000${MAX_USER_ID}`), MAX_USER_ID);
  });

  it('answers 404 user_not_found above 10^9, however long', () => {
    for (const raw of ['1000000001', '9999999999', '10000000000000000000000', '1'.repeat(10_000)]) {
      const error = rejection(raw);
      assert.equal(error.status, 404);
      assert.equal(error.key, 'user_not_found');
    }
  });

  it('answers 422 for anything that is not a plain non-negative decimal', () => {
    for (const raw of ['', '-1', '-0', '+1', '1e3', '0x10', '1.0', ' 1', '1 ', '١', '１', 'abc', 'NaN', 'Infinity']) {
      const error = rejection(raw);
      assert.equal(error.status, 422, JSON.stringify(raw));
      assert.deepEqual(error.loc, ['path', 'user_id']);
    }
  });
});
