import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { FIELD_TYPES, type Field } from '../model.js';
import { InvalidValue } from './field-type.js';
import { getFieldType } from './index.js';
import { makeTestField, NEW } from './test-support.js';

// One representative definition per type (multi variants for the list types).
const FIELDS: Field[] = [
  ...FIELD_TYPES.map((type) => makeTestField(type, { values: ['a', 'b', '1'], collectionId: 'x' })),
  makeTestField('select', { values: ['a', 'b', '1'], maxSelect: 3 }),
  makeTestField('relation', { collectionId: 'x', maxSelect: 5 }),
  makeTestField('file', { maxSelect: 5 }),
  makeTestField('text', { pattern: '^(a|b)+$', min: 1, max: 20 }),
];

// Client input as it arrives from JSON bodies and type-inferred form data, plus hostile shapes.
const clientValue = fc.oneof(
  fc.jsonValue(),
  fc.anything({
    withBigInt: true,
    withDate: true,
    withMap: true,
    withSet: true,
    withTypedArray: true,
    withSparseArray: true,
    withNullPrototype: true,
    withBoxedValues: true,
  }),
  fc.constantFrom('', 'true', 'null', '[1,2]', '{"a":1}', '2024-01-02', '12', '1e400', '__proto__', '["a","b"]', '{"lon":1,"lat":2}'),
  fc.constantFrom(Number.NaN, Infinity, -Infinity, -0, 10n, Symbol('s'), () => 1, new Date(Number.NaN), new Date()),
);

describe('type confusion', () => {
  it('an operator object is rejected by every type except json (a JSON value) and autodate (ignored)', () => {
    for (const field of FIELDS) {
      const result = getFieldType(field.type).prepareValue({ $gt: '' }, field);
      if (field.type === 'json') assert.deepEqual(result, { $gt: '' });
      else if (field.type === 'autodate') assert.equal(result, '');
      else assert.ok(result instanceof InvalidValue, field.type);
    }
  });
});

describe('field type properties', () => {
  it('prepareValue never throws: a value or an InvalidValue', () => {
    fc.assert(
      fc.property(clientValue, (raw) => {
        for (const field of FIELDS) {
          const type = getFieldType(field.type);
          const result = type.prepareValue(raw, field);
          if (result instanceof InvalidValue) assert.match(result.error.code, /^validation_/);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('applyModifier never throws', () => {
    fc.assert(
      fc.property(clientValue, clientValue, fc.constantFrom('append', 'prepend', 'subtract' as const), (current, operand, modifier) => {
        for (const field of FIELDS) getFieldType(field.type).applyModifier?.(current, modifier, operand, field);
      }),
      { numRuns: 300 },
    );
  });

  it('prepared values validate without throwing and survive toDb → fromDb', () => {
    fc.assert(
      fc.property(clientValue, (raw) => {
        for (const field of FIELDS) {
          const type = getFieldType(field.type);
          const value = type.prepareValue(raw, field);
          if (value instanceof InvalidValue) continue;
          type.validateValue(value, field, NEW);
          if (field.type === 'autodate' || field.type === 'password') continue;
          const back = type.fromDb(type.toDb(value, field), field);
          // JSON has no -0: compare json values by their text.
          if (field.type === 'json') assert.equal(JSON.stringify(back), JSON.stringify(value));
          else assert.deepEqual(back, value, `${field.type} ${JSON.stringify(value)}`);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('validateValue, toDb and fromDb never throw on arbitrary values either', () => {
    fc.assert(
      fc.property(clientValue, (raw) => {
        for (const field of FIELDS) {
          const type = getFieldType(field.type);
          type.validateValue(raw, field, NEW);
          type.toDb(raw, field);
          type.fromDb(raw, field);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('zero values are valid for non-required fields and round-trip', () => {
    for (const field of FIELDS) {
      const type = getFieldType(field.type);
      const zero = type.zeroValue(field);
      assert.equal(type.validateValue(zero, field, NEW), null, field.type);
      assert.deepEqual(type.fromDb(type.toDb(zero, field), field), zero, field.type);
      assert.deepEqual(type.prepareValue(undefined, field), field.type === 'autodate' ? '' : zero, field.type);
    }
  });
});
