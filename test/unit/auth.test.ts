/** The bearer check: what it accepts and refuses (its timing argument is in src/http/auth.ts). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bearerCheck } from '../../src/http/auth';

const KEY = 'k3y-0123456789abcdef-XYZ';

describe('bearerCheck', () => {
  const check = bearerCheck(KEY);

  it('accepts the key, with the scheme in any case and extra spaces', () => {
    assert.equal(check(`Bearer ${KEY}`), true);
    assert.equal(check(`bearer ${KEY}`), true);
    assert.equal(check(`BEARER   ${KEY}  `), true);
  });

  it('refuses a missing header, another scheme, and no token', () => {
    assert.equal(check(undefined), false);
    assert.equal(check(''), false);
    assert.equal(check(`Basic ${KEY}`), false);
    assert.equal(check('Bearer '), false);
    assert.equal(check(`Bearer ${KEY} extra`), false);
  });

  it('refuses every token of the same length that differs in one byte, first to last', () => {
    for (let i = 0; i < KEY.length; i++) {
      const wrong = `${KEY.slice(0, i)}${KEY[i] === 'a' ? 'b' : 'a'}${KEY.slice(i + 1)}`;
      assert.equal(check(`Bearer ${wrong}`), false, `byte ${i}`);
    }
  });

  it('refuses prefixes and extensions of the key (other lengths)', () => {
    assert.equal(check(`Bearer ${KEY.slice(0, -1)}`), false);
    assert.equal(check(`Bearer ${KEY}0`), false);
    assert.equal(check(`Bearer ${KEY.slice(0, 1)}`), false);
  });

  it('compares the bytes of the key as UTF-8, as configured', () => {
    const utf8 = bearerCheck('ключ-0123456789abcdef');
    assert.equal(utf8('Bearer ключ-0123456789abcdef'), true);
    // Same number of characters, different bytes.
    assert.equal(utf8('Bearer keyx-0123456789abcdef'), false);
  });
});
