import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { formatDateTime, normalizeDateTime, parseDateTime } from './datetime.js';

describe('datetime', () => {
  it('formats as UTC YYYY-MM-DD HH:MM:SS.sssZ', () => {
    assert.equal(formatDateTime(new Date('2024-01-02T03:04:05.006Z')), '2024-01-02 03:04:05.006Z');
  });

  it('parses years below 100 without the 1900 offset', () => {
    assert.equal(normalizeDateTime('0005-06-07'), '0005-06-07 00:00:00.000Z');
  });

  it('round-trips every canonical value', () => {
    fc.assert(
      fc.property(fc.date({ min: new Date('0001-01-02T00:00:00Z'), max: new Date('9999-12-30T00:00:00Z'), noInvalidDate: true }), (d) => {
        const text = formatDateTime(d);
        assert.equal(parseDateTime(text)?.getTime(), d.getTime());
        assert.equal(normalizeDateTime(d.toISOString()), text);
      }),
    );
  });

  it('never throws on arbitrary strings', () => {
    fc.assert(fc.property(fc.string({ maxLength: 80 }), (s) => void normalizeDateTime(s)));
  });

  it('rejects out-of-range results and garbage', () => {
    assert.equal(normalizeDateTime('9999-12-31T23:00:00-05:00'), null);
    assert.equal(normalizeDateTime('nope'), null);
    assert.equal(normalizeDateTime(123), null);
    assert.equal(normalizeDateTime(new Date(Number.NaN)), null);
  });
});
