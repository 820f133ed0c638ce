/**
 * The field type → JSON Schema mapping against the field types themselves (src/collections/fields), for
 * arbitrary field definitions and values:
 *
 * - every canonical value (already of the field's JSON type) a field accepts on create, its create and
 *   update schemas admit (a generated client never refuses what the server takes);
 * - every value the server hands back (zero values included) matches the response schema;
 * - for the types a schema states exactly (number bounds, bool, select enums and counts, geo points), what
 *   the create schema admits the server accepts too.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRequire } from 'node:module';
import fc from 'fast-check';
import type { Field, FieldTypeName } from '../collections/model.js';
import { getFieldType, InvalidValue } from '../collections/fields/index.js';
import { makeTestField, NEW } from '../collections/fields/test-support.js';
import { fieldSchema, isRequiredOnCreate } from './fields.js';

// ajv (a dependency of fastify and of the OpenAPI validator) for JSON Schema 2020-12, formats as annotations.
const Ajv2020 = createRequire(import.meta.url)('ajv/dist/2020.js').default as new (
  o: object,
) => { compile(s: unknown): ((v: unknown) => boolean) & { errors?: unknown } };
const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: false });
const compiled = new WeakMap<object, (v: unknown) => boolean>();
function admits(schema: unknown, value: unknown): boolean {
  if (typeof schema === 'boolean') return schema;
  let fn = compiled.get(schema as object);
  if (!fn) {
    fn = ajv.compile(schema);
    compiled.set(schema as object, fn);
  }
  return fn(value);
}

const required = fc.boolean();
const word = fc.string({ minLength: 1, maxLength: 6, unit: fc.constantFrom('a', 'b', 'c', 'x', '1', 'é', ' ') });

const textArb = fc.record({ min: fc.nat(10), max: fc.oneof(fc.constant(0), fc.integer({ min: 10, max: 40 })), required }).map((o) => makeTestField('text', o));
const numberArb = fc
  .record({ a: fc.option(fc.integer({ min: -50, max: 50 })), b: fc.option(fc.integer({ min: -50, max: 50 })), onlyInt: fc.boolean(), required })
  .map(({ a, b, onlyInt, required }) => {
    const [min, max] = a !== null && b !== null && a > b ? [b, a] : [a, b];
    return makeTestField('number', { min, max, onlyInt, required });
  });
const simpleArb = (type: FieldTypeName) => required.map((r): Field => makeTestField(type, { required: r }));
const selectArb = fc
  .record({ values: fc.uniqueArray(word, { minLength: 1, maxLength: 5 }), maxSelect: fc.nat(4), required })
  .map((o) => makeTestField('select', o));
const relationArb = fc
  .record({ maxSelect: fc.nat(4), minSelect: fc.nat(4), required })
  .map(({ maxSelect, minSelect, required }) =>
    makeTestField('relation', { collectionId: 'x', maxSelect, minSelect: maxSelect === 0 ? 0 : Math.min(minSelect, maxSelect), required }),
  );

/** A field definition of every type with arbitrary options (normalized as the schema editor would). */
const fieldArb: fc.Arbitrary<Field> = fc.oneof(
  textArb,
  numberArb,
  ...(['bool', 'email', 'url', 'editor', 'date', 'json', 'geoPoint'] as FieldTypeName[]).map(simpleArb),
  fc.record({ onCreate: fc.boolean(), onUpdate: fc.boolean() }).map((o) => makeTestField('autodate', o)),
  selectArb,
  relationArb,
  fc.record({ maxSelect: fc.nat(4), required }).map((o) => makeTestField('file', o)),
  fc.record({ min: fc.nat(12), max: fc.oneof(fc.constant(0), fc.integer({ min: 12, max: 71 })), required }).map((o) => makeTestField('password', o)),
);
/** The types whose schema is exact. */
const exactArb: fc.Arbitrary<Field> = fc.oneof(numberArb, simpleArb('bool'), selectArb, simpleArb('geoPoint'));

/** Values of every JSON type, biased towards what fields take (and just outside it). */
function valueArb(field: Field): fc.Arbitrary<unknown> {
  const values = field.type === 'select' ? field.values : [];
  const str = fc.oneof(
    fc.string({ maxLength: 50 }),
    fc.constantFrom('', 'a@example.com', 'https://example.com/x', '2024-05-01 10:00:00.000Z', 'abcdefghijklmno', ...values),
  );
  const num = fc.oneof(fc.integer({ min: -100, max: 100 }), fc.double({ min: -100, max: 100, noNaN: true }), fc.constant(0));
  return fc.oneof(
    str,
    num,
    fc.boolean(),
    fc.constant(null),
    fc.array(fc.oneof(str, fc.constantFrom(...(values.length ? values : ['x']))), { maxLength: 6 }),
    fc.record({ lon: fc.double({ min: -200, max: 200, noNaN: true }), lat: fc.double({ min: -100, max: 100, noNaN: true }) }),
    fc.jsonValue({ maxDepth: 2 }),
  );
}

/** The field's verdict on a create value: the prepared value, or undefined when refused. */
function accepted(field: Field, raw: unknown): { value: unknown } | undefined {
  const type = getFieldType(field.type);
  const prepared = type.prepareValue(raw, field);
  if (prepared instanceof InvalidValue) return undefined;
  if (type.validateValue(prepared, field, NEW) !== null) return undefined;
  return { value: prepared };
}

const RUNS = { numRuns: 1500 };

describe('field type → JSON Schema', () => {
  it('admits every canonical value a field accepts on create (create and update schemas)', () => {
    fc.assert(
      fc.property(
        fieldArb.chain((f) => fc.tuple(fc.constant(f), valueArb(f))),
        ([field, raw]) => {
          const ok = accepted(field, raw);
          if (!ok || !isDeepStrictEqual(ok.value, raw)) return; // refused, or coerced from another type
          for (const form of ['create', 'update'] as const) {
            const schema = fieldSchema(field, form);
            if (schema === undefined) continue;
            assert.ok(admits(schema, raw), `${form} schema of ${JSON.stringify(field)} refuses ${JSON.stringify(raw)}: ${JSON.stringify(schema)}`);
          }
        },
      ),
      RUNS,
    );
  });

  it('matches every value the server returns, zero values included', () => {
    fc.assert(
      fc.property(
        fieldArb.chain((f) => fc.tuple(fc.constant(f), valueArb(f))),
        ([field, raw]) => {
          const type = getFieldType(field.type);
          const schema = fieldSchema(field, 'response');
          if (schema === undefined) {
            assert.equal(field.type, 'password', 'only passwords are never returned');
            return;
          }
          const zero = type.fromDb(type.toDb(type.zeroValue(field), field), field);
          assert.ok(admits(schema, zero), `zero ${JSON.stringify(zero)} of ${JSON.stringify(field)}`);
          const ok = accepted(field, raw);
          if (!ok) return;
          const out = type.fromDb(type.toDb(ok.value, field), field);
          assert.ok(admits(schema, out), `response schema of ${JSON.stringify(field)} refuses ${JSON.stringify(out)}: ${JSON.stringify(schema)}`);
        },
      ),
      RUNS,
    );
  });

  it('what the create schema admits, the server accepts (number, bool, select, geoPoint)', () => {
    fc.assert(
      fc.property(
        exactArb.chain((f) => fc.tuple(fc.constant(f), valueArb(f))),
        ([field, raw]) => {
          if (!admits(fieldSchema(field, 'create'), raw)) return;
          assert.ok(accepted(field, raw), `${JSON.stringify(field)} refuses ${JSON.stringify(raw)} that its schema admits`);
        },
      ),
      RUNS,
    );
  });

  it('states select enums, list sizes, integer numbers and required inputs', () => {
    const single = makeTestField('select', { values: ['draft', 'live'], maxSelect: 1, required: true });
    assert.deepEqual(fieldSchema(single, 'create'), { type: 'string', enum: ['draft', 'live'] });
    assert.deepEqual(fieldSchema(single, 'response'), { type: 'string', enum: ['draft', 'live', ''] });
    const multi = makeTestField('select', { values: ['a', 'b', 'c'], maxSelect: 2 });
    assert.deepEqual(fieldSchema(multi, 'create'), { type: 'array', items: { type: 'string', enum: ['a', 'b', 'c'] }, maxItems: 2 });
    assert.deepEqual((fieldSchema(makeTestField('number', { onlyInt: true }), 'create') as { type: string }).type, 'integer');
    assert.equal(isRequiredOnCreate(makeTestField('text', { required: true })), true);
    assert.equal(isRequiredOnCreate(makeTestField('text', { required: true, autogeneratePattern: '[a-z]{5}' })), false);
    assert.equal(isRequiredOnCreate(makeTestField('autodate', { onCreate: true })), false);
    assert.equal(fieldSchema(makeTestField('autodate', { onCreate: true }), 'create'), undefined);
    assert.equal(fieldSchema(makeTestField('password', {}), 'response'), undefined);
  });
});

function isDeepStrictEqual(a: unknown, b: unknown): boolean {
  try {
    assert.deepStrictEqual(a, b);
    return true;
  } catch {
    return false;
  }
}
