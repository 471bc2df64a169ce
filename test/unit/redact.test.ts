import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { REDACTED, redactDeep, redactString, registerSecret } from '../../src/observability/redact';

describe('secret redaction', () => {
  registerSecret('s3cr3t-key-value');

  it('removes registered secrets anywhere in a string', () => {
    assert.equal(redactString('/reco/knn/s3cr3t-key-value'), `/reco/knn/${REDACTED}`);
    assert.equal(redactString('a s3cr3t-key-value b s3cr3t-key-value'), `a ${REDACTED} b ${REDACTED}`);
  });

  it('masks any Bearer credential, registered or not', () => {
    assert.equal(redactString('Authorization: Bearer abcdefgh12345'), `Authorization: Bearer ${REDACTED}`);
  });

  it('leaves prose alone', () => {
    assert.equal(redactString('Missing or invalid bearer token'), 'Missing or invalid bearer token');
  });

  it('walks nested records', () => {
    const record = { url: { path: '/x/s3cr3t-key-value' }, list: ['s3cr3t-key-value'], n: 3 };
    redactDeep(record);
    assert.deepEqual(record, { url: { path: `/x/${REDACTED}` }, list: [REDACTED], n: 3 });
  });
});
