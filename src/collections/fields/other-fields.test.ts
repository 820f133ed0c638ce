import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { getFieldType, resolveAutodate } from './index.js';
import { makeTestField, NEW, rejectCode } from './test-support.js';

const date = getFieldType('date');
const autodate = getFieldType('autodate');
const json = getFieldType('json');
const geo = getFieldType('geoPoint');

describe('date', () => {
  const f = makeTestField('date');

  it('normalises accepted formats to UTC YYYY-MM-DD HH:MM:SS.sssZ', () => {
    const cases: Array<[unknown, string]> = [
      ['2024-01-02 03:04:05.678Z', '2024-01-02 03:04:05.678Z'],
      ['2024-01-02T03:04:05.678Z', '2024-01-02 03:04:05.678Z'],
      ['2024-01-02T03:04:05Z', '2024-01-02 03:04:05.000Z'],
      ['2024-01-02T03:04:05.123456789Z', '2024-01-02 03:04:05.123Z'],
      ['2024-01-02T05:04:05+02:00', '2024-01-02 03:04:05.000Z'],
      ['2024-01-01T23:30:00-0130', '2024-01-02 01:00:00.000Z'],
      ['2024-01-02', '2024-01-02 00:00:00.000Z'],
      ['2024-01-02 03:04', '2024-01-02 03:04:00.000Z'],
      ['2024-02-29', '2024-02-29 00:00:00.000Z'],
      ['', ''],
      [null, ''],
      [new Date('2024-01-02T03:04:05.678Z'), '2024-01-02 03:04:05.678Z'],
    ];
    for (const [raw, expected] of cases) assert.equal(date.prepareValue(raw, f), expected, String(raw));
  });

  it('rejects invalid dates and type confusion', () => {
    for (const raw of [
      '2023-02-29',
      '2024-13-01',
      '2024-01-32',
      '2024-01-02 24:00:00',
      'yesterday',
      '01/02/2024',
      1704164645,
      true,
      {},
      ['2024-01-02'],
      '2024-01-02T03:04:05+25:00',
      `2024-01-02${' '.repeat(100)}`,
    ]) {
      assert.equal(rejectCode(date.prepareValue(raw, f)), 'validation_invalid_date', String(raw));
    }
  });

  it('validates required and the min/max bounds', () => {
    const bounded = makeTestField('date', { min: '2024-01-01', max: '2024-12-31 23:59:59.999Z', required: true });
    assert.equal(bounded.min, '2024-01-01 00:00:00.000Z', 'options are normalised too');
    assert.equal(date.validateValue('', bounded, NEW)?.code, 'validation_required');
    assert.equal(date.validateValue('2023-12-31 23:59:59.999Z', bounded, NEW)?.code, 'validation_min_greater_equal_than_required');
    assert.equal(date.validateValue('2025-01-01 00:00:00.000Z', bounded, NEW)?.code, 'validation_max_less_equal_than_required');
    assert.equal(date.validateValue('2024-06-01 00:00:00.000Z', bounded, NEW), null);
    assert.equal(date.validateValue(5, f, NEW)?.code, 'validation_unsupported_value_type');
  });
});

describe('autodate', () => {
  const created = makeTestField('autodate', { name: 'created', onCreate: true });
  const updated = makeTestField('autodate', { name: 'updated', onCreate: true, onUpdate: true });
  const now = new Date('2024-05-06T07:08:09.010Z');

  it('has "" as zero value and never fails value validation', () => {
    assert.equal(autodate.zeroValue(created), '');
    assert.equal(autodate.validateValue('whatever', created, NEW), null);
    assert.equal(autodate.prepareValue('2024-01-02T00:00:00Z', created), '2024-01-02 00:00:00.000Z');
    assert.equal(autodate.prepareValue({ bad: 1 }, created), '', 'never an error: clients cannot set it anyway');
  });

  it('resolveAutodate sets now on create/update as configured', () => {
    assert.equal(resolveAutodate(created, { isNew: true, previous: undefined, now }), '2024-05-06 07:08:09.010Z');
    assert.equal(resolveAutodate(created, { isNew: false, previous: '2020-01-01 00:00:00.000Z', now }), '2020-01-01 00:00:00.000Z');
    assert.equal(resolveAutodate(updated, { isNew: false, previous: '2020-01-01 00:00:00.000Z', now }), '2024-05-06 07:08:09.010Z');
  });
});

describe('json', () => {
  const f = makeTestField('json');

  it('accepts any JSON value; zero value is null', () => {
    assert.equal(json.zeroValue(f), null);
    assert.deepEqual(json.prepareValue({ a: [1, { b: null }] }, f), { a: [1, { b: null }] });
    assert.equal(json.prepareValue(undefined, f), null);
    assert.equal(json.prepareValue(5, f), 5);
  });

  it('reads form strings like PocketBase', () => {
    assert.equal(json.prepareValue('true', f), true);
    assert.equal(json.prepareValue('null', f), null);
    assert.equal(json.prepareValue('12.5', f), 12.5);
    assert.deepEqual(json.prepareValue('[1,2]', f), [1, 2]);
    assert.deepEqual(json.prepareValue('{"a":1}', f), { a: 1 });
    assert.equal(json.prepareValue('"quoted"', f), 'quoted');
    assert.equal(json.prepareValue('hello', f), 'hello');
    assert.equal(json.prepareValue('{broken', f), '{broken');
    assert.equal(json.prepareValue('', f), '');
  });

  it('rejects values that are not JSON', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    for (const raw of [Number.NaN, Infinity, [1, Number.NaN], cyclic, new Date(), () => 1, 10n, { a: undefined }, new Map()]) {
      assert.equal(rejectCode(json.prepareValue(raw, f)), 'validation_invalid_json', String(raw));
    }
  });

  it('limits the size (1 MiB by default) and checks required', () => {
    const small = makeTestField('json', { maxSize: 10 });
    assert.deepEqual(json.validateValue({ key: 'long value' }, small, NEW), {
      code: 'validation_json_size_limit',
      message: 'The maximum allowed JSON size is 10 bytes.',
      params: { maxSize: 10 },
    });
    assert.equal(json.validateValue('x'.repeat(1 << 20), f, NEW)?.code, 'validation_json_size_limit');
    const req = makeTestField('json', { required: true });
    for (const empty of [null, '', [], {}]) assert.equal(json.validateValue(empty, req, NEW)?.code, 'validation_required');
    assert.equal(json.validateValue(0, req, NEW), null);
  });

  it('stores JSON text, NULL for null', () => {
    assert.equal(json.toDb({ a: 1 }, f), '{"a":1}');
    assert.equal(json.toDb(null, f), null);
    assert.deepEqual(json.fromDb('{"a":1}', f), { a: 1 });
    assert.equal(json.fromDb(null, f), null);
    assert.equal(json.fromDb(5, f), 5, 'NUMERIC affinity may hand back numbers');
    assert.equal(json.fromDb('not json', f), null);
  });

  it('keeps __proto__ keys inert', () => {
    const value = json.prepareValue(JSON.parse('{"__proto__": {"polluted": true}}'), f);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(json.toDb(value, f), '{"__proto__":{"polluted":true}}');
  });
});

describe('geoPoint', () => {
  const f = makeTestField('geoPoint');

  it('coerces objects and JSON text', () => {
    assert.deepEqual(geo.zeroValue(f), { lon: 0, lat: 0 });
    assert.deepEqual(geo.prepareValue({ lon: 10.5, lat: -20 }, f), { lon: 10.5, lat: -20 });
    assert.deepEqual(geo.prepareValue('{"lon":1,"lat":2}', f), { lon: 1, lat: 2 });
    assert.deepEqual(geo.prepareValue(null, f), { lon: 0, lat: 0 });
  });

  it('rejects type confusion', () => {
    for (const raw of [{ lon: '1', lat: 2 }, { lat: 3 }, { $gt: '' }, [1, 2], 'nope', 5, true, { lon: Number.NaN, lat: 0 }]) {
      assert.equal(rejectCode(geo.prepareValue(raw, f)), 'validation_unsupported_value_type', JSON.stringify(raw));
    }
  });

  it('validates ranges and required', () => {
    assert.equal(geo.validateValue({ lon: 0, lat: 91 }, f, NEW)?.code, 'validation_invalid_latitude');
    assert.equal(geo.validateValue({ lon: -181, lat: 0 }, f, NEW)?.code, 'validation_invalid_longitude');
    assert.equal(geo.validateValue({ lon: 0, lat: 0 }, makeTestField('geoPoint', { required: true }), NEW)?.code, 'validation_required');
    assert.equal(geo.validateValue({ lon: 180, lat: -90 }, f, NEW), null);
  });

  it('stores JSON text', () => {
    assert.equal(geo.toDb({ lon: 1, lat: 2 }, f), '{"lon":1,"lat":2}');
    assert.deepEqual(geo.fromDb('{"lon":1,"lat":2}', f), { lon: 1, lat: 2 });
    assert.deepEqual(geo.fromDb(null, f), { lon: 0, lat: 0 });
    assert.equal(geo.columnKind(f), 'json');
  });
});
