import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { base32Decode, base32Encode, hotp, matchTotp, newTotpSecret, totpCode } from './totp-code.js';

// RFC 6238 Appendix B (SHA1, 8 digits), secret = ASCII "12345678901234567890".
const SECRET = Buffer.from('12345678901234567890');
const VECTORS: Array<[number, string]> = [
  [59, '94287082'],
  [1111111109, '07081804'],
  [1111111111, '14050471'],
  [1234567890, '89005924'],
  [2000000000, '69279037'],
  [20000000000, '65353130'],
];

describe('TOTP (RFC 6238)', () => {
  it('matches the RFC test vectors', () => {
    for (const [t, code] of VECTORS) assert.equal(hotp(SECRET, Math.floor(t / 30), 8), code, `T=${t}`);
  });

  it('base32 round-trips and rejects non-base32', () => {
    for (let n = 0; n < 40; n++) {
      const bytes = Buffer.from(Array.from({ length: n }, (_, i) => (i * 37 + n) & 255));
      assert.deepEqual(base32Decode(base32Encode(bytes)), bytes);
    }
    assert.equal(base32Encode(SECRET), 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ');
    assert.equal(base32Decode('not base32!'), null);
  });

  it('accepts the current and adjacent steps only, and only 6-digit codes', () => {
    const secret = newTotpSecret();
    const now = 1_700_000_000_000;
    for (const offset of [-30_000, 0, 30_000]) assert.notEqual(matchTotp(secret, totpCode(secret, now + offset), now), null);
    for (const offset of [-90_000, 90_000]) {
      const code = totpCode(secret, now + offset);
      // A far-away step only matches by coincidence with an adjacent one.
      if (![-30_000, 0, 30_000].some((o) => totpCode(secret, now + o) === code)) assert.equal(matchTotp(secret, code, now), null);
    }
    for (const bad of ['', '12345', '1234567', 'abcdef', ' 123456']) assert.equal(matchTotp(secret, bad, now), null);
  });
});
