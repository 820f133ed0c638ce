import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decideRange } from './range.js';

describe('decideRange', () => {
  it('serves single ranges, suffixes and open ends as 206', () => {
    assert.deepEqual(decideRange('bytes=0-9', 100), { kind: 'partial', range: { start: 0, end: 9 } });
    assert.deepEqual(decideRange('bytes=90-', 100), { kind: 'partial', range: { start: 90, end: 99 } });
    assert.deepEqual(decideRange('bytes=-10', 100), { kind: 'partial', range: { start: 90, end: 99 } });
    assert.deepEqual(decideRange('bytes=-1000', 100), { kind: 'partial', range: { start: 0, end: 99 } });
    assert.deepEqual(decideRange('bytes=50-5000', 100), { kind: 'partial', range: { start: 50, end: 99 } });
    assert.deepEqual(decideRange('BYTES = 1-1', 100), { kind: 'partial', range: { start: 1, end: 1 } });
  });

  it('answers the whole file for no/other-unit/multi ranges and If-Range', () => {
    assert.deepEqual(decideRange(undefined, 100), { kind: 'full' });
    assert.deepEqual(decideRange('items=0-1', 100), { kind: 'full' });
    assert.deepEqual(decideRange('bytes=0-1,5-9', 100), { kind: 'full' });
    assert.deepEqual(decideRange(`bytes=${Array(1000).fill('0-0').join(',')}`, 100), { kind: 'full' });
    assert.deepEqual(decideRange('bytes=0-1', 100, '"etag"'), { kind: 'full' });
  });

  it('refuses malformed and unsatisfiable ranges with 416', () => {
    for (const h of ['bytes=5-1', 'bytes=-', 'bytes=', 'bytes=x-y', 'bytes=100-', 'bytes=-0', 'bytes=1-2-3', 'bytes 0-1', 'bytes=99999999999999999-']) {
      assert.deepEqual(decideRange(h, 100), { kind: 'unsatisfiable' }, h);
    }
    assert.deepEqual(decideRange('bytes=0-0', 0), { kind: 'unsatisfiable' });
  });

  it('never throws and only yields ranges inside the file (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), fc.nat(10_000), (tail, size) => {
        const d = decideRange(`bytes=${tail}`, size);
        if (d.kind !== 'partial') return true;
        return d.range.start >= 0 && d.range.start <= d.range.end && d.range.end < size;
      }),
    );
  });
});
