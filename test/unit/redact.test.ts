import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clipText, percentDecode, REDACTED, redactDeep, redactString, redactUrlDerived, registerSecret } from '../../src/observability/redact';

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

  it('URL-derived strings: a key hidden by percent-encoding (once or twice) is redacted', () => {
    const encodeOne = (key: string, at: number): string =>
      `${key.slice(0, at)}%${key.charCodeAt(at).toString(16)}${key.slice(at + 1)}`;
    for (let at = 0; at < 's3cr3t-key-value'.length; at++) {
      const once = `/reco/${encodeOne('s3cr3t-key-value', at)}/1`;
      const out = redactUrlDerived(once);
      assert.ok(!out.includes('s3cr3t-key-value'), out);
      assert.ok(!percentDecode(out).includes('s3cr3t-key-value'), `decoded: ${out}`);
      assert.ok(out.includes(REDACTED), out);
    }
    const twice = '/reco/s3cr3t%252Dkey-value/1';
    assert.equal(percentDecode(percentDecode(twice)), '/reco/s3cr3t-key-value/1');
    assert.equal(redactUrlDerived(twice), `/reco/${REDACTED}/1`);
    const all = Array.from('s3cr3t-key-value', (c) => `%${c.charCodeAt(0).toString(16)}`).join('');
    assert.equal(redactUrlDerived(`/x/${all}`), `/x/${REDACTED}`);
  });

  it('URL-derived strings without a secret keep their raw form; malformed escapes do not throw', () => {
    assert.equal(redactUrlDerived('/reco/knn%2Fx/1'), '/reco/knn%2Fx/1');
    assert.equal(redactUrlDerived('/reco/%E0%A4%A/%ZZ/%'), '/reco/%E0%A4%A/%ZZ/%');
  });

  it('escapes bidirectional control characters as visible text', () => {
    assert.equal(redactString('user\u202Eevil'), 'user\\u202eevil');
    assert.equal(redactString('a\u2066b\u200Fc\u061C'), 'a\\u2066b\\u200fc\\u061c');
    assert.equal(redactString('plain text'), 'plain text');
  });

  it('clips after redaction, so a key cut in two is never half visible', () => {
    const text = `${'a'.repeat(10)}s3cr3t-key-value`;
    assert.equal(clipText(redactString(text), 12), `${'a'.repeat(10)}[R…`);
    assert.equal(clipText('short', 12), 'short');
  });
});
