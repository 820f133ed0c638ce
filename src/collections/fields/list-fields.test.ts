import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { getFieldType, invalidNewFiles } from './index.js';
import { makeTestField, NEW, rejectCode } from './test-support.js';

const select = getFieldType('select');
const relation = getFieldType('relation');
const file = getFieldType('file');

describe('select', () => {
  const single = makeTestField('select', { values: ['a', 'b', 'c', '1'] });
  const multi = makeTestField('select', { values: ['a', 'b', 'c', '1'], maxSelect: 2 });

  it('single: a string, the last element of a list, "" when empty', () => {
    assert.equal(select.prepareValue('a', single), 'a');
    assert.equal(select.prepareValue(['a', 'b'], single), 'b');
    assert.equal(select.prepareValue([], single), '');
    assert.equal(select.prepareValue(null, single), '');
    assert.equal(select.prepareValue(1, single), '1', 'form data infers numbers');
    assert.equal(select.zeroValue(single), '');
    assert.equal(select.columnKind(single), 'text');
  });

  it('multi: wraps a single string, dedupes, parses JSON array strings', () => {
    assert.deepEqual(select.prepareValue('a', multi), ['a']);
    assert.deepEqual(select.prepareValue(['a', 'a', '', 'b'], multi), ['a', 'b']);
    assert.deepEqual(select.prepareValue('["a","b"]', multi), ['a', 'b']);
    assert.deepEqual(select.prepareValue('', multi), []);
    assert.deepEqual(select.zeroValue(multi), []);
    assert.equal(select.columnKind(multi), 'jsonArray');
  });

  it('rejects unknown values, too many values and type confusion', () => {
    assert.deepEqual((select.prepareValue('zzz', single) as { error: unknown }).error, {
      code: 'validation_invalid_value',
      message: 'Invalid value zzz.',
      params: { value: 'zzz' },
    });
    assert.equal(rejectCode(select.prepareValue(['a', 'b', 'c'], multi)), 'validation_too_many_values');
    assert.equal(rejectCode(select.prepareValue({ $in: ['a'] }, multi)), 'validation_unsupported_value_type');
    assert.equal(rejectCode(select.prepareValue([['a']], multi)), 'validation_unsupported_value_type');
    assert.equal(rejectCode(select.prepareValue([{ a: 1 }], multi)), 'validation_unsupported_value_type');
  });

  it('validates like PocketBase', () => {
    const req = makeTestField('select', { values: ['a'], required: true });
    assert.equal(select.validateValue('', req, NEW)?.code, 'validation_required');
    assert.equal(select.validateValue([], req, NEW)?.code, 'validation_required');
    assert.deepEqual(select.validateValue(['a', 'b', 'c'], multi, NEW)?.params, { maxSelect: 2 });
    assert.equal(select.validateValue('x', single, NEW)?.code, 'validation_invalid_value');
    assert.equal(select.validateValue(['a', 5], multi, NEW)?.code, 'validation_unsupported_value_type');
  });

  it('modifiers: append, prepend, subtract with PocketBase dedupe', () => {
    assert.deepEqual(select.applyModifier?.(['a'], 'append', 'b', multi), ['a', 'b']);
    assert.deepEqual(select.applyModifier?.(['a'], 'prepend', ['b'], multi), ['b', 'a']);
    assert.deepEqual(select.applyModifier?.(['a', 'b'], 'subtract', 'a', multi), ['b']);
    assert.deepEqual(select.applyModifier?.(['a', 'b'], 'append', ['b'], multi), ['a', 'b']);
    assert.deepEqual(select.applyModifier?.(['a', 'b'], 'subtract', ['zzz'], multi), ['a', 'b'], 'removing an absent value is a no-op');
    assert.equal(rejectCode(select.applyModifier?.(['a', 'b'], 'append', 'c', multi)), 'validation_too_many_values');
    assert.equal(rejectCode(select.applyModifier?.(['a'], 'append', 'zzz', multi)), 'validation_invalid_value');
    assert.equal(select.applyModifier?.('a', 'append', 'b', single), 'b', 'single keeps the last');
    assert.equal(select.applyModifier?.('a', 'subtract', 'a', single), '');
  });

  it('stores JSON arrays for multi and plain text for single', () => {
    assert.equal(select.toDb(['a', 'b'], multi), '["a","b"]');
    assert.deepEqual(select.fromDb('["a","b"]', multi), ['a', 'b']);
    assert.deepEqual(select.fromDb('a', multi), ['a'], 'a value stored before a single→multi change');
    assert.equal(select.fromDb('["a","b"]', single), 'b', 'a list stored before a multi→single change');
    assert.equal(select.toDb('a', single), 'a');
    assert.deepEqual(select.fromDb(null, multi), []);
  });
});

describe('relation', () => {
  const single = makeTestField('relation', { collectionId: 'users' });
  const multi = makeTestField('relation', { collectionId: 'users', maxSelect: 3, minSelect: 2 });

  it('coerces ids and lists', () => {
    assert.equal(relation.prepareValue('abc', single), 'abc');
    assert.equal(relation.prepareValue(['abc', 'def'], single), 'def');
    assert.deepEqual(relation.prepareValue('abc', multi), ['abc']);
    assert.deepEqual(relation.prepareValue(['a', 'a', 'b'], multi), ['a', 'b']);
    assert.deepEqual(relation.prepareValue(123456789012345, multi), ['123456789012345'], 'all-digit ids arrive as numbers from forms');
  });

  it('rejects non-string ids and too many ids', () => {
    for (const raw of [{ id: 'x' }, [{ id: 'x' }], true, [true], [['a']], 1.5, -1]) {
      assert.equal(rejectCode(relation.prepareValue(raw, multi)), 'validation_unsupported_value_type', JSON.stringify(raw));
    }
    assert.equal(rejectCode(relation.prepareValue(['a', 'b', 'c', 'd'], multi)), 'validation_too_many_values');
  });

  it('validates min/max/required', () => {
    assert.deepEqual(relation.validateValue(['a'], multi, NEW), {
      code: 'validation_not_enough_values',
      message: 'Select at least 2.',
      params: { minSelect: 2 },
    });
    assert.equal(relation.validateValue(['a', 'b'], multi, NEW), null);
    assert.equal(relation.validateValue(['a', 'b', 'c', 'd'], multi, NEW)?.code, 'validation_too_many_values');
    assert.equal(relation.validateValue('', makeTestField('relation', { collectionId: 'x', required: true }), NEW)?.code, 'validation_required');
    assert.equal(relation.validateValue([], multi, NEW), null);
  });

  it('modifiers', () => {
    assert.deepEqual(relation.applyModifier?.(['a'], 'append', ['b', 'a'], multi), ['a', 'b']);
    assert.deepEqual(relation.applyModifier?.(['a', 'b'], 'subtract', 'a', multi), ['b']);
    assert.deepEqual(relation.applyModifier?.([], 'prepend', 'z', multi), ['z']);
    assert.equal(rejectCode(relation.applyModifier?.(['a'], 'append', { x: 1 }, multi)), 'validation_unsupported_value_type');
  });
});

describe('file', () => {
  const single = makeTestField('file');
  const multi = makeTestField('file', { maxSelect: 2 });

  it('keeps names; single keeps the last', () => {
    assert.equal(file.prepareValue(['a_1.png', 'b_2.png'], single), 'b_2.png');
    assert.deepEqual(file.prepareValue('a_1.png', multi), ['a_1.png']);
    assert.deepEqual(file.prepareValue('', multi), [], 'setting "" removes all files');
    assert.equal(rejectCode(file.prepareValue(['a', 'b', 'c'], multi)), 'validation_too_many_files');
    assert.equal(rejectCode(file.prepareValue([1], multi)), 'validation_unsupported_value_type');
    assert.equal(rejectCode(file.prepareValue({ name: 'x' }, multi)), 'validation_unsupported_value_type');
  });

  it('validates names and counts', () => {
    assert.equal(file.validateValue(['ok_1.png'], multi, NEW), null);
    assert.equal(file.validateValue(['../etc/passwd'], multi, NEW)?.code, 'validation_invalid_file');
    assert.equal(file.validateValue(['.hidden'], multi, NEW)?.code, 'validation_invalid_file');
    assert.equal(file.validateValue(['a', 'b', 'c'], multi, NEW)?.code, 'validation_too_many_files');
    assert.equal(file.validateValue('', makeTestField('file', { required: true }), NEW)?.code, 'validation_required');
  });

  it('subtract removes listed names', () => {
    assert.deepEqual(file.applyModifier?.(['a_1.png', 'b_2.png'], 'subtract', 'a_1.png', multi), ['b_2.png']);
    assert.deepEqual(file.applyModifier?.(['a_1.png'], 'append', 'b_2.png', multi), ['a_1.png', 'b_2.png']);
  });

  it('invalidNewFiles rejects names that are neither stored nor uploaded', () => {
    assert.equal(invalidNewFiles(['a.png', 'new.png'], ['a.png'], ['new.png']), null);
    assert.deepEqual(invalidNewFiles(['a.png', 'other.png'], ['a.png'])?.params, { invalidFiles: ['other.png'] });
  });
});
