import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { formatFloatF, inferValue, inferValues } from './value-inference.js';

describe('inferValue', () => {
  const table: Array<[string, unknown]> = [
    ['', ''],
    ['true', true],
    ['false', false],
    ['True', 'True'],
    ['TRUE', 'TRUE'],
    ['null', 'null'],
    ['12', 12],
    ['0', 0],
    ['1.5', 1.5],
    ['-3', -3],
    ['-0.25', -0.25],
    ['123456789', 123456789],
    ['9007199254740993', '9007199254740993'], // not exactly representable → its float prints differently
    ['100000000000000000000000', 1e23], // Go's %f never switches to exponent notation
    ['0.0000001', 1e-7],
    ['0001', '0001'],
    ['00', '00'],
    ['1e3', '1e3'],
    ['1E3', '1E3'],
    ['0.0', '0.0'],
    ['1.50', '1.50'],
    ['1.', '1.'],
    ['.5', '.5'],
    ['-.5', '-.5'],
    ['+1', '+1'],
    [' 1', ' 1'],
    ['1 ', '1 '],
    ['0x10', '0x10'],
    ['1_000', '1_000'],
    ['Infinity', 'Infinity'],
    ['NaN', 'NaN'],
    ['-', '-'],
    ['--1', '--1'],
    ['1-2', '1-2'],
    ['1.2.3', '1.2.3'],
    ['1' + '0'.repeat(400), '1' + '0'.repeat(400)], // overflows to Inf → Go's ErrRange → string
    ['abc', 'abc'],
    ['١٢', '١٢'], // non-ASCII digits are not digits for Go's regexp \d
  ];
  for (const [input, expected] of table) {
    it(`${JSON.stringify(input.length > 30 ? `${input.slice(0, 30)}…` : input)} → ${JSON.stringify(expected)}`, () => {
      assert.deepEqual(inferValue(input), expected);
    });
  }

  it('"-0" is negative zero, as Go formats it', () => {
    assert.ok(Object.is(inferValue('-0'), -0));
  });

  it('inferValues: one value stays scalar, repeated values become an array', () => {
    assert.equal(inferValues(['5']), 5);
    assert.deepEqual(inferValues(['5', 'x', 'true', '']), [5, 'x', true, '']);
  });
});

describe('formatFloatF (Go strconv.FormatFloat(v, "f", -1, 64))', () => {
  const table: Array<[number, string]> = [
    [0, '0'],
    [-0, '-0'],
    [1, '1'],
    [-1.5, '-1.5'],
    [1e21, '1000000000000000000000'],
    [1.2e-7, '0.00000012'],
    [123456789012345680000, '123456789012345680000'],
    [5e-324, `0.${'0'.repeat(323)}5`],
    [0.1, '0.1'],
  ];
  for (const [v, s] of table) it(`${v} → ${s.length > 30 ? `${s.slice(0, 30)}…` : s}`, () => assert.equal(formatFloatF(v), s));
});

describe('inferValue properties', () => {
  it('round-trips every finite double given in its minimal positional form', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (d) => {
        const s = formatFloatF(d);
        assert.ok(Object.is(inferValue(s), d), `${s} should infer to ${d}`);
      }),
      { numRuns: 2000 },
    );
  });

  it('inferValue(String(d)) === d whenever String(d) is positional (no exponent)', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (d) => {
        const s = String(d);
        if (/e/i.test(s)) return; // JS switched to exponent notation: not PocketBase's minimal form
        // === on purpose: String(-0) is "0", which infers to +0.
        assert.ok(inferValue(s) === d, `${s} should infer to ${d}`);
      }),
      { numRuns: 2000 },
    );
  });

  it('never throws and only returns strings, booleans or finite numbers', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.stringMatching(/^[-.0-9]{1,12}$/)), (s) => {
        const v = inferValue(s);
        assert.ok(typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v)));
        // A number is only produced when the number prints back exactly as the input.
        if (typeof v === 'number') assert.equal(formatFloatF(v), s);
        if (typeof v === 'string') assert.equal(v, s);
      }),
      { numRuns: 3000 },
    );
  });

  it('integers within the safe range always become numbers', () => {
    fc.assert(
      fc.property(fc.maxSafeInteger(), (n) => {
        assert.equal(inferValue(String(n)), n);
      }),
    );
  });
});
